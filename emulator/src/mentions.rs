//! Who a message pings, computed like Discord: mentions parsed from `content` (never from
//! embeds), filtered by `allowed_mentions`.
//!
//! Without `allowed_mentions` everything in the content pings. With it, a kind pings only if it
//! is in `parse` (`everyone`, `users`, `roles`) or its id is listed in `users` / `roles`. The
//! author of a replied-to message is pinged when `replied_user` is true (default: true without
//! `allowed_mentions`, false with it).

use serde_json::Value;

use crate::snowflake;

/// Mentions written in a message's content.
#[derive(Debug, Default, PartialEq)]
pub struct Written {
    /// `<@id>` / `<@!id>`, in order of appearance, without duplicates.
    pub users: Vec<u64>,
    /// `<@&id>`, in order of appearance, without duplicates.
    pub roles: Vec<u64>,
    /// `@everyone` or `@here` appears.
    pub everyone: bool,
}

/// Parses the mentions in `content`.
pub fn written(content: &str) -> Written {
    let mut out = Written {
        everyone: content.contains("@everyone") || content.contains("@here"),
        ..Written::default()
    };
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let (is_role, body) = if let Some(b) = rest.strip_prefix('&') {
            (true, b)
        } else if let Some(b) = rest.strip_prefix('!') {
            (false, b)
        } else {
            (false, rest)
        };
        let Some(end) = body.find('>') else { break };
        if let Some(id) = snowflake::parse(&body[..end]) {
            let list = if is_role {
                &mut out.roles
            } else {
                &mut out.users
            };
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
    out
}

/// The effective `allowed_mentions` of a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Allowed {
    /// `"everyone"` in `parse`.
    pub everyone: bool,
    /// `"users"` in `parse`.
    pub all_users: bool,
    /// `"roles"` in `parse`.
    pub all_roles: bool,
    /// Ids in `users`.
    pub users: Vec<u64>,
    /// Ids in `roles`.
    pub roles: Vec<u64>,
    /// Whether the author of the replied-to message is pinged.
    pub replied_user: bool,
}

impl Allowed {
    /// Everything pings: what happens without `allowed_mentions` (and for people typing).
    pub fn all() -> Allowed {
        Allowed {
            everyone: true,
            all_users: true,
            all_roles: true,
            users: Vec::new(),
            roles: Vec::new(),
            replied_user: true,
        }
    }

    /// From a request's `allowed_mentions` value (absent or null: everything pings).
    pub fn from_json(v: Option<&Value>) -> Allowed {
        let Some(am) = v.filter(|v| v.is_object()) else {
            return Allowed::all();
        };
        let parse: Vec<&str> = am
            .get("parse")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let ids = |key: &str| -> Vec<u64> {
            am.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(snowflake::parse)
                        .collect()
                })
                .unwrap_or_default()
        };
        Allowed {
            everyone: parse.contains(&"everyone"),
            all_users: parse.contains(&"users"),
            all_roles: parse.contains(&"roles"),
            users: ids("users"),
            roles: ids("roles"),
            replied_user: am
                .get("replied_user")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// Who is actually pinged.
#[derive(Debug, Default, PartialEq)]
pub struct Pinged {
    /// `mention_everyone`.
    pub everyone: bool,
    /// Users pinged (`mentions`).
    pub users: Vec<u64>,
    /// Roles pinged (`mention_roles`).
    pub roles: Vec<u64>,
}

/// Applies `allowed` to the mentions in `content`. `user_exists` / `role_exists` drop ids that
/// name nobody (Discord lists only real users and roles); `replied_author` is the author of the
/// message replied to, if any.
pub fn resolve(
    content: &str,
    allowed: &Allowed,
    replied_author: Option<u64>,
    user_exists: impl Fn(u64) -> bool,
    role_exists: impl Fn(u64) -> bool,
) -> Pinged {
    let w = written(content);
    let mut users: Vec<u64> = w
        .users
        .into_iter()
        .filter(|id| user_exists(*id) && (allowed.all_users || allowed.users.contains(id)))
        .collect();
    if let Some(author) = replied_author {
        if allowed.replied_user && user_exists(author) && !users.contains(&author) {
            users.push(author);
        }
    }
    let roles = w
        .roles
        .into_iter()
        .filter(|id| role_exists(*id) && (allowed.all_roles || allowed.roles.contains(id)))
        .collect();
    Pinged {
        everyone: w.everyone && allowed.everyone,
        users,
        roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_all_forms() {
        let w = written("hi <@1> <@!2> <@&3> <@1> <@x> <@&> @here <@4");
        assert_eq!(w.users, vec![1, 2]);
        assert_eq!(w.roles, vec![3]);
        assert!(w.everyone);
        assert!(!written("everyone").everyone);
    }

    #[test]
    fn allowed_mentions_filter() {
        let yes = |_| true;
        let all = resolve("@everyone <@1> <@&9>", &Allowed::all(), Some(5), yes, yes);
        assert_eq!(
            all,
            Pinged {
                everyone: true,
                users: vec![1, 5],
                roles: vec![9]
            }
        );
        let none = Allowed::from_json(Some(&json!({"parse": []})));
        assert_eq!(
            resolve("@everyone <@1> <@&9>", &none, Some(5), yes, yes),
            Pinged::default()
        );
        let some = Allowed::from_json(Some(&json!({"roles": ["9"], "users": ["2"]})));
        let p = resolve("<@1> <@2> <@&8> <@&9>", &some, None, yes, yes);
        assert_eq!(p.users, vec![2]);
        assert_eq!(p.roles, vec![9]);
        let unknown = resolve("<@1>", &Allowed::all(), None, |_| false, yes);
        assert!(unknown.users.is_empty());
    }
}

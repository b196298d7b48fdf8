//! Secrets: a file store under the alerter home (`alerter secret create`), `{{name.key}}`
//! references resolved at run time, and the [`Redactor`] that keeps secret values out of every
//! line the host prints or logs.
//!
//! Layout: `$ALERTER_HOME/secrets/<name>.json`, a JSON object of key -> value, mode 0600, in a
//! directory of mode 0700. Values are never printed back. Nothing is read from or written into
//! a home or `secrets/` directory another user owns or can write, and a secret file that is a
//! symlink, belongs to another user or is writable by others is refused (see `fsguard`).

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::SecretError;
use crate::fsguard;

/// Secrets kept in files only their owner can read.
#[derive(Debug, Clone)]
pub struct SecretStore {
    home: PathBuf,
    dir: PathBuf,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl SecretStore {
    /// The store under an alerter home (`<home>/secrets`).
    pub fn new(home: &Path) -> SecretStore {
        SecretStore {
            home: home.to_path_buf(),
            dir: home.join("secrets"),
        }
    }

    /// The home and the store's directory may be trusted (or do not exist yet).
    fn trusted_dirs(&self) -> Result<(), SecretError> {
        fsguard::check_dirs(&self.home, &self.dir).map_err(SecretError::Unsafe)
    }

    fn path(&self, name: &str) -> Result<PathBuf, SecretError> {
        if !valid_name(name) {
            return Err(SecretError::BadName(name.to_string()));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
        move |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Create or replace a secret with the given key/value pairs (file mode 0600).
    pub fn create(&self, name: &str, values: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let path = self.path(name)?;
        self.trusted_dirs()?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(Self::io(&self.dir))?;
        self.trusted_dirs()?;
        let json = serde_json::to_vec_pretty(values).unwrap_or_default();
        fsguard::write_private(&self.dir, &path, &json).map_err(Self::io(&path))
    }

    /// The key/value pairs of a secret, `None` if it does not exist.
    pub fn get(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, SecretError> {
        let path = self.path(name)?;
        self.trusted_dirs()?;
        fsguard::check_file(&path).map_err(SecretError::Unsafe)?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| SecretError::Io {
                    path: path.display().to_string(),
                    source: std::io::Error::other(e),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::io(&path)(e)),
        }
    }

    /// Secret names, sorted.
    pub fn list(&self) -> Result<Vec<String>, SecretError> {
        self.trusted_dirs()?;
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io(&self.dir)(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(String::from)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Delete a secret; `false` if it did not exist.
    pub fn delete(&self, name: &str) -> Result<bool, SecretError> {
        let path = self.path(name)?;
        self.trusted_dirs()?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::io(&path)(e)),
        }
    }

    /// Resolve a value that may be a `{{name.key}}` reference. Plain values pass through.
    pub fn resolve(&self, value: &str) -> Result<String, SecretError> {
        match parse_reference(value) {
            None => Ok(value.to_string()),
            Some((name, key)) => {
                let secret = self
                    .get(name)?
                    .ok_or_else(|| SecretError::NoSecret(name.into(), key.into()))?;
                secret
                    .get(key)
                    .cloned()
                    .ok_or_else(|| SecretError::NoKey(name.into(), key.into()))
            }
        }
    }
}

/// `{{name.key}}` (spaces inside the braces allowed) -> `(name, key)`.
pub fn parse_reference(value: &str) -> Option<(&str, &str)> {
    let inner = value.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let (name, key) = inner.split_once('.')?;
    (!name.is_empty() && !key.is_empty()).then_some((name.trim(), key.trim()))
}

/// Replaces secret values with `[redacted]`. Its `Debug` shows only how many it holds.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for these values; values shorter than 4 characters are left alone, since
    /// replacing them would mangle ordinary words.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a String>) -> Redactor {
        // A token stored as `Bot xyz` is also redacted where only `xyz` appears.
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .flat_map(|s| {
                let s = s.trim();
                let bare = s
                    .strip_prefix("Bot ")
                    .or_else(|| s.strip_prefix("Bearer "))
                    .map(str::trim);
                // A webhook URL's token alone too: the flavor rewrites the URL's path
                // (`/api/webhooks` to `/api/v10/webhooks`), so the whole URL may never appear.
                let webhook = crate::policy::webhook_token(s);
                [
                    Some(s.to_string()),
                    bare.map(str::to_string),
                    webhook.map(str::to_string),
                ]
            })
            .flatten()
            .filter(|s| s.len() >= 4)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// `text` with every secret value replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_home(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("alerter-secrets-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn create_resolve_list_delete_with_private_files() {
        let home = temp_home("crud");
        let store = SecretStore::new(&home);
        let mut v = BTreeMap::new();
        v.insert("discord_token".to_string(), "s3cr3t.token".to_string());
        store.create("discord_secret", &v).unwrap();
        let meta = std::fs::metadata(home.join("secrets/discord_secret.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dmeta = std::fs::metadata(home.join("secrets")).unwrap();
        assert_eq!(dmeta.permissions().mode() & 0o777, 0o700);
        assert_eq!(
            store.resolve("{{discord_secret.discord_token}}").unwrap(),
            "s3cr3t.token"
        );
        assert_eq!(
            store.resolve("{{ discord_secret.discord_token }}").unwrap(),
            "s3cr3t.token"
        );
        assert_eq!(store.resolve("literal").unwrap(), "literal");
        assert_eq!(store.list().unwrap(), ["discord_secret"]);
        assert!(store.delete("discord_secret").unwrap());
        assert!(!store.delete("discord_secret").unwrap());
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn a_webhook_urls_token_is_hidden_even_without_the_rest_of_the_url() {
        let url = "https://discord.com/api/webhooks/123456789012345678/hook-SECRET_tok".to_string();
        let r = Redactor::new([&url]);
        // The flavor's own form of the URL, and the token alone.
        let shown = r.redact(
            "POST https://discord.com/api/v10/webhooks/123456789012345678/hook-SECRET_tok?wait=true; hook-SECRET_tok",
        );
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("/webhooks/123456789012345678/[redacted]"),
            "{shown}"
        );
    }

    #[test]
    fn unresolved_references_name_the_reference() {
        let home = temp_home("unresolved");
        let store = SecretStore::new(&home);
        let e = store
            .resolve("{{nope.discord_token}}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("{{nope.discord_token}}"), "{e}");
        let mut v = BTreeMap::new();
        v.insert("other".to_string(), "x".to_string());
        store.create("s", &v).unwrap();
        let e = store
            .resolve("{{s.discord_token}}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no key `discord_token`"), "{e}");
        assert!(matches!(
            store.create("../evil", &v),
            Err(SecretError::BadName(_))
        ));
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let secrets = ["abc.def.ghi".to_string()];
        assert_eq!(
            format!("{:?}", Redactor::new(&secrets)),
            "Redactor(1 secrets)"
        );
    }

    #[test]
    fn redactor_hides_every_secret() {
        let secrets = ["abc.def.ghi".to_string(), "abc".to_string()];
        let r = Redactor::new(&secrets);
        assert_eq!(r.redact("Bot abc.def.ghi failed"), "Bot [redacted] failed");
        // Too short to redact safely (would mangle ordinary words): left alone.
        assert_eq!(r.redact("abc"), "abc");
    }

    #[test]
    fn a_token_stored_with_its_bot_prefix_is_redacted_bare_too() {
        let secrets = ["Bot MTAx.tok.en".to_string()];
        let r = Redactor::new(&secrets);
        assert_eq!(
            r.redact("Authorization: Bot MTAx.tok.en"),
            "Authorization: [redacted]"
        );
        assert_eq!(
            r.redact("token MTAx.tok.en in a URL"),
            "token [redacted] in a URL"
        );
    }

    #[test]
    fn secret_names_are_plain_words_of_at_most_128_bytes() {
        for ok in ["a", "discord_secret", "team-1", &"n".repeat(128)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "../evil", "a/b", "a.b", "a b", "é", &"n".repeat(129)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn missing_secrets_are_none_and_an_empty_store_lists_nothing() {
        let home = temp_home("missing");
        let store = SecretStore::new(&home);
        assert!(store.list().unwrap().is_empty());
        assert!(store.get("nope").unwrap().is_none());
        assert!(!store.delete("nope").unwrap());
        let mut v = BTreeMap::new();
        v.insert("k".to_string(), "value-1".to_string());
        store.create("s", &v).unwrap();
        assert_eq!(store.get("s").unwrap(), Some(v));
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn only_whole_references_with_both_parts_parse() {
        assert_eq!(parse_reference("{{a.b}}"), Some(("a", "b")));
        assert_eq!(parse_reference(" {{ a . b }} "), Some(("a", "b")));
        assert_eq!(parse_reference("{{a.b.c}}"), Some(("a", "b.c")));
        for not in [
            "{{a.}}", "{{.b}}", "{{ab}}", "x{{a.b}}", "{{a.b}}x", "a.b", "{a.b}",
        ] {
            assert_eq!(parse_reference(not), None, "{not}");
        }
    }

    #[test]
    fn a_secret_inside_a_longer_one_is_replaced_whole() {
        let secrets = ["abcd".to_string(), "xxabcdyy".to_string()];
        let r = Redactor::new(&secrets);
        assert_eq!(r.redact("t=xxabcdyy u=abcd"), "t=[redacted] u=[redacted]");
        assert_eq!(
            Redactor::new(&[" pad1 ".to_string()]).redact("a pad1 b"),
            "a [redacted] b"
        );
        assert_eq!(Redactor::default().redact("nothing"), "nothing");
    }

    #[test]
    fn a_store_that_cannot_be_read_is_an_error_not_a_missing_secret() {
        // A directory where a secret's file should be, and a file where the store's directory
        // should be: reads fail with something other than "not found", and must say so.
        let home = temp_home("unreadable");
        std::fs::create_dir_all(home.join("secrets/s.json")).unwrap();
        let store = SecretStore::new(&home);
        assert!(matches!(store.get("s"), Err(SecretError::Io { .. })));
        assert!(matches!(store.delete("s"), Err(SecretError::Io { .. })));
        let home2 = temp_home("not-a-dir");
        std::fs::create_dir_all(&home2).unwrap();
        std::fs::write(home2.join("secrets"), "x").unwrap();
        assert!(matches!(
            SecretStore::new(&home2).list(),
            Err(SecretError::Io { .. })
        ));
        let _ = std::fs::remove_dir_all(&home);
        let _ = std::fs::remove_dir_all(&home2);
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn one(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("discord_token".to_string(), value.to_string())])
    }

    #[test]
    fn a_home_or_secrets_dir_writable_by_others_is_refused_naming_the_path_and_fix() {
        let home = temp_home("ww");
        let store = SecretStore::new(&home);
        store.create("s", &one("value-1")).unwrap();
        for dir in [home.clone(), home.join("secrets")] {
            chmod(&dir, 0o777);
            let shown = dir.display().to_string();
            let errors = [
                store.get("s").err(),
                store.resolve("{{s.discord_token}}").err(),
                store.list().err(),
                store.create("s", &one("evil")).err(),
                store.delete("s").err(),
            ];
            for e in errors {
                let e = e.expect("refused");
                assert!(matches!(e, SecretError::Unsafe(_)), "{e:?}");
                let e = e.to_string();
                assert!(e.contains(&shown), "{e}");
                assert!(e.contains("is writable by others (mode 0777)"), "{e}");
                assert!(e.contains(&format!("chmod go-w {shown}")), "{e}");
            }
            chmod(&dir, 0o700);
        }
        assert_eq!(store.resolve("{{s.discord_token}}").unwrap(), "value-1");
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn a_secret_file_writable_by_others_symlinked_or_of_someone_else_is_refused() {
        let home = temp_home("file");
        let store = SecretStore::new(&home);
        store.create("s", &one("value-1")).unwrap();
        let file = home.join("secrets/s.json");
        chmod(&file, 0o622);
        let e = store.get("s").unwrap_err().to_string();
        assert!(e.contains("is writable by others (mode 0622)"), "{e}");
        chmod(&file, 0o600);

        std::os::unix::fs::symlink(&file, home.join("secrets/t.json")).unwrap();
        let e = store.get("t").unwrap_err().to_string();
        assert!(e.contains("t.json") && e.contains("symbolic link"), "{e}");

        // Root (as in CI) can give the file away; anyone else cannot, and skips this part.
        if std::os::unix::fs::chown(&file, Some(65534), None).is_ok() {
            let e = store.get("s").unwrap_err().to_string();
            assert!(e.contains("s.json"), "{e}");
            assert!(e.contains("belongs to uid 65534, not you"), "{e}");
            assert!(e.contains("chown"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn creating_never_writes_through_a_planted_symlink() {
        let home = temp_home("planted");
        let store = SecretStore::new(&home);
        store.create("s", &one("value-1")).unwrap();
        let victim = home.join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        // The old fixed temporary name, and the target itself.
        std::os::unix::fs::symlink(&victim, home.join("secrets/s.json.tmp")).unwrap();
        std::fs::remove_file(home.join("secrets/s.json")).unwrap();
        std::os::unix::fs::symlink(&victim, home.join("secrets/s.json")).unwrap();
        store.create("s", &one("value-2")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(store.resolve("{{s.discord_token}}").unwrap(), "value-2");
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn concurrent_creates_always_leave_valid_json() {
        let home = temp_home("concurrent");
        let store = std::sync::Arc::new(SecretStore::new(&home));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let value = format!("{t}-{i}-{}", "v".repeat(t * 700));
                        store.create("same", &one(&value)).unwrap();
                        assert!(store.get("same").unwrap().is_some());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let bytes = std::fs::read(home.join("secrets/same.json")).unwrap();
        let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).unwrap();
        assert!(map.contains_key("discord_token"));
        assert_eq!(store.list().unwrap(), ["same"]);
        assert_eq!(std::fs::read_dir(home.join("secrets")).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&home);
    }
}

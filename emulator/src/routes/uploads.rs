//! The files of a message create: a `multipart/form-data` form's file parts checked against
//! Discord's limits and the payload's `attachments`, stored as the message's attachments, and
//! `attachment://NAME` references in embeds pointed at them.

use bytes::Bytes;
use serde_json::{json, Value};

use super::{invalid_form, ApiRequest, Out};
use crate::attachments::{self, AttachmentRec, StoredFile};
use crate::multipart::{self, Form, Part};
use crate::reply::Reply;
use crate::snowflake;
use crate::state::State;
use crate::validate::FieldError;
use crate::Inner;

/// Most files on one message.
pub const FILES_MAX: usize = 10;

/// A file to attach, matched with its `attachments[]` entry.
pub(super) struct Upload {
    /// The name it is stored under: the entry's `filename`, else the part's.
    filename: String,
    /// The part's `Content-Type`.
    content_type: Option<String>,
    /// The entry's `description` (alt text).
    description: Option<String>,
    /// The bytes.
    bytes: Bytes,
}

/// The request's form (`None` for a JSON request), or 400 50035 and a violation for a body that
/// is not valid multipart.
pub(super) fn form<'r>(req: &'r ApiRequest, label: &str) -> Result<Option<&'r Form>, Out> {
    match &req.form {
        None => Ok(None),
        Some(Ok(f)) => Ok(Some(f)),
        Some(Err(why)) => Err(invalid_form(
            &[FieldError {
                path: Vec::new(),
                code: "BASE_TYPE_INVALID".into(),
                message: format!("Invalid multipart/form-data body: {why}"),
            }],
            label,
        )),
    }
}

/// The limits that come before the payload: each file at most [`Options::max_file_bytes`] (else
/// 413 40005) and at most [`FILES_MAX`] files (else 400 50035 on `files`). Also notes parts the
/// emulator ignores and file parts not named `files[n]`.
///
/// [`Options::max_file_bytes`]: crate::Options::max_file_bytes
pub(super) fn check_files(
    inner: &Inner,
    form: Option<&Form>,
    label: &str,
    violations: &mut Vec<String>,
) -> Result<(), Out> {
    let Some(form) = form else { return Ok(()) };
    for name in &form.ignored {
        violations.push(format!(
            "{label}: form field {name:?} ignored: the emulator reads the JSON body only from payload_json"
        ));
    }
    let too_big: Vec<String> = form
        .files
        .iter()
        .filter(|p| p.body.len() > inner.max_file_bytes)
        .map(|p| {
            format!(
                "{label}: {} ({:?}) is {} bytes, over the upload limit of {} bytes (Options::max_file_bytes)",
                p.name,
                p.filename.as_deref().unwrap_or(""),
                p.body.len(),
                inner.max_file_bytes
            )
        })
        .collect();
    if !too_big.is_empty() {
        return Err(Out {
            reply: Reply::error(413, 40005, "Request entity too large"),
            violations: too_big,
        });
    }
    if form.files.len() > FILES_MAX {
        return Err(invalid_form(
            &[FieldError {
                path: vec!["files".into()],
                code: "BASE_TYPE_MAX_LENGTH".into(),
                message: format!("Must be {FILES_MAX} or fewer in length."),
            }],
            label,
        ));
    }
    for p in form
        .files
        .iter()
        .filter(|p| multipart::file_index(&p.name).is_none())
    {
        violations.push(format!(
            "{label}: file part named {:?}; Discord documents files[n] (attachments refer to n)",
            p.name
        ));
    }
    Ok(())
}

/// An `attachments[].id` as a string (a number when validation is off).
fn entry_id(entry: &Value) -> Option<String> {
    match entry.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Matches the payload's `attachments` with the file parts: every entry's `id` must be the `n`
/// of a `files[n]` part (else 400 50035 on `attachments.i.id`); files without an entry are
/// attached too. Names Discord would rewrite, and entry names that differ from the part's, are
/// violations.
pub(super) fn uploads(
    form: Option<&Form>,
    body: &Value,
    label: &str,
    violations: &mut Vec<String>,
) -> Result<Vec<Upload>, Out> {
    let files: &[Part] = form.map_or(&[], |f| f.files.as_slice());
    let entries = body
        .get("attachments")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut matched: Vec<Option<&Value>> = vec![None; files.len()];
    let mut errors = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let id = entry_id(entry).unwrap_or_default();
        let found = files
            .iter()
            .position(|p| multipart::file_index(&p.name).is_some_and(|n| n.to_string() == id));
        match found {
            Some(at) => {
                matched[at].get_or_insert(entry);
            }
            None => errors.push(FieldError {
                path: vec!["attachments".into(), i.to_string(), "id".into()],
                code: "BASE_TYPE_INVALID".into(),
                message: format!("Unknown attachment id {id:?}: no files[{id}] part"),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(invalid_form(&errors, label));
    }
    let mut out = Vec::with_capacity(files.len());
    for (p, entry) in files.iter().zip(matched) {
        let sent = p.filename.clone().unwrap_or_default();
        let named = entry
            .and_then(|e| e.get("filename"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(n) = named.as_ref().filter(|n| **n != sent) {
            violations.push(format!(
                "{label}: attachments entry for {} names the file {n:?} but the part's filename is {sent:?}; use one name",
                p.name
            ));
        }
        let filename = named.unwrap_or(sent.clone());
        let mut names = vec![filename.clone()];
        if sent != filename {
            names.push(sent);
        }
        for n in names {
            if let Some(why) = attachments::filename_problem(&n) {
                violations.push(format!(
                    "{label}: filename {n:?} of {} {why}; Discord would rename it, breaking attachment:// references",
                    p.name
                ));
            }
        }
        out.push(Upload {
            filename,
            content_type: p.content_type.clone(),
            description: entry
                .and_then(|e| e.get("description"))
                .and_then(Value::as_str)
                .map(str::to_string),
            bytes: p.body.clone(),
        });
    }
    Ok(out)
}

/// Keeps the uploads' bytes and makes them attachments of a message in `channel_id`.
pub(super) fn store(
    s: &mut State,
    inner: &Inner,
    channel_id: u64,
    uploads: Vec<Upload>,
) -> Vec<AttachmentRec> {
    let origin = inner.origin();
    uploads
        .into_iter()
        .map(|u| {
            let id = snowflake::next_id();
            let a = AttachmentRec {
                id,
                url: attachments::file_url(&origin, channel_id, id, &u.filename),
                filename: u.filename,
                size: u.bytes.len(),
                content_type: u.content_type,
                description: u.description,
                in_embed: false,
            };
            s.files.insert(
                id,
                StoredFile {
                    channel_id,
                    filename: a.filename.clone(),
                    content_type: a
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    bytes: u.bytes,
                },
            );
            a
        })
        .collect()
}

/// Points each embed `image.url` / `thumbnail.url` of the form `attachment://NAME` at the
/// attachment with that filename (which Discord then leaves out of `attachments`). A name no
/// file has, or a file Discord cannot show in an embed, is a violation.
pub(super) fn link_embeds(
    embeds: &mut [Value],
    files: &mut [AttachmentRec],
    label: &str,
    violations: &mut Vec<String>,
) {
    for (i, embed) in embeds.iter_mut().enumerate() {
        for key in ["image", "thumbnail"] {
            let Some(media) = embed.get_mut(key).and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(name) = media
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| u.strip_prefix("attachment://"))
                .map(str::to_string)
            else {
                continue;
            };
            let Some(a) = files.iter_mut().find(|a| a.filename == name) else {
                violations.push(format!(
                    "{label}: embeds.{i}.{key}.url: embed references attachment://{name} but no file has that name"
                ));
                continue;
            };
            if !attachments::embeddable(&name) {
                violations.push(format!(
                    "{label}: embeds.{i}.{key}.url: attachment://{name}: Discord shows only .jpg, .jpeg, .png, .webp and .gif in embeds"
                ));
            }
            a.in_embed = true;
            media.insert("url".into(), json!(a.url));
            media.insert("proxy_url".into(), json!(a.url));
            if let Some(ct) = &a.content_type {
                media.insert("content_type".into(), json!(ct));
            }
        }
    }
}

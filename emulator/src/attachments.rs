//! Uploaded files: the attachments of stored messages, the bytes kept for them (bounded), the
//! URLs they are served at, and Discord's rules on their names.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::{json, Value};

/// Most bytes of uploaded files kept; beyond this the oldest files are let go (their messages
/// still list them, but their URLs answer 404).
pub const MAX_STORED_BYTES: usize = 256 * 1024 * 1024;

/// Longest filename the emulator considers safe.
pub const FILENAME_MAX: usize = 100;

/// An attachment of a stored message (`MessageAttachmentResponse`).
#[derive(Clone, Debug)]
pub struct AttachmentRec {
    /// Snowflake, new for each upload (not the `files[n]` placeholder).
    pub id: u64,
    /// The filename, as uploaded.
    pub filename: String,
    /// Bytes.
    pub size: usize,
    /// The part's `Content-Type`, if it had one.
    pub content_type: Option<String>,
    /// Alt text, from the payload's `attachments[].description`.
    pub description: Option<String>,
    /// Where the bytes are served (`url` and `proxy_url`).
    pub url: String,
    /// Shown by an embed through `attachment://`: Discord then leaves it out of the message's
    /// `attachments`.
    pub in_embed: bool,
}

impl AttachmentRec {
    /// The `MessageAttachmentResponse` object.
    pub fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
        });
        if let Some(ct) = &self.content_type {
            v["content_type"] = json!(ct);
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }
}

/// An uploaded file's bytes.
#[derive(Clone, Debug)]
pub struct StoredFile {
    /// The channel of the message it belongs to.
    pub channel_id: u64,
    /// Its filename.
    pub filename: String,
    /// The `Content-Type` it is served with.
    pub content_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

/// Uploaded bytes by attachment id, at most [`MAX_STORED_BYTES`] in all (oldest go first).
pub struct FileStore {
    files: HashMap<u64, StoredFile>,
    order: VecDeque<u64>,
    total: usize,
    limit: usize,
}

impl Default for FileStore {
    fn default() -> Self {
        FileStore::with_limit(MAX_STORED_BYTES)
    }
}

impl FileStore {
    /// A store keeping at most `limit` bytes.
    pub fn with_limit(limit: usize) -> FileStore {
        FileStore {
            files: HashMap::new(),
            order: VecDeque::new(),
            total: 0,
            limit,
        }
    }

    /// Keeps a file, letting the oldest ones go while the total is over the bound.
    pub fn insert(&mut self, id: u64, file: StoredFile) {
        self.total += file.bytes.len();
        self.files.insert(id, file);
        self.order.push_back(id);
        while self.total > self.limit {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(f) = self.files.remove(&old) {
                self.total -= f.bytes.len();
            }
        }
    }

    /// A kept file.
    pub fn get(&self, id: u64) -> Option<&StoredFile> {
        self.files.get(&id)
    }
}

/// Whether a filename byte needs no escaping in a URL path and survives Discord's renaming.
fn safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// `{origin}/_emulator/files/{channel_id}/{attachment_id}/{filename}`, the filename
/// percent-encoded where needed.
pub fn file_url(origin: &str, channel_id: u64, id: u64, filename: &str) -> String {
    let mut name = String::with_capacity(filename.len());
    for b in filename.bytes() {
        if safe_byte(b) {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "{origin}{}/files/{channel_id}/{id}/{name}",
        crate::url::CONTROL_PREFIX
    )
}

/// Why Discord would rename this file (which breaks `attachment://` references to it), if it
/// would: only `[A-Za-z0-9._-]`, starting with a letter or digit, at most [`FILENAME_MAX`].
pub fn filename_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > FILENAME_MAX {
        return Some(format!("is longer than {FILENAME_MAX} characters"));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Some("does not start with a letter or digit".into());
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii() || !safe_byte(*c as u8)) {
        return Some(format!("contains {c:?} (only A-Z a-z 0-9 . _ - are kept)"));
    }
    None
}

/// Whether Discord shows this file in an embed (`.jpg`, `.jpeg`, `.png`, `.webp`, `.gif`).
pub fn embeddable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".webp", ".gif"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert_eq!(filename_problem("plot-1_a.png"), None);
        assert!(filename_problem("_x.png").is_some());
        assert!(filename_problem("a b.png").unwrap().contains("' '"));
        assert!(filename_problem("é.png").is_some());
        assert!(filename_problem(&"a".repeat(101)).is_some());
        assert!(filename_problem("").is_some());
        assert_eq!(
            file_url("http://h", 1, 2, "a b.png"),
            "http://h/_emulator/files/1/2/a%20b.png"
        );
        assert!(embeddable("X.PNG") && embeddable("a.jpeg") && !embeddable("a.txt"));
    }

    #[test]
    fn attachments_match_the_spec() {
        let mut a = AttachmentRec {
            id: 5,
            filename: "a.png".into(),
            size: 3,
            content_type: Some("image/png".into()),
            description: Some("alt".into()),
            url: file_url("http://127.0.0.1:1", 1, 5, "a.png"),
            in_embed: false,
        };
        let schema = "#/components/schemas/MessageAttachmentResponse";
        crate::validate::check_response(schema, &a.json()).unwrap();
        assert_eq!(a.json()["proxy_url"], a.json()["url"]);
        a.content_type = None;
        a.description = None;
        let v = a.json();
        crate::validate::check_response(schema, &v).unwrap();
        assert!(v.get("content_type").is_none() && v.get("description").is_none());
        let mut broken = v.clone();
        broken.as_object_mut().unwrap().remove("proxy_url");
        assert!(crate::validate::check_response(schema, &broken).is_err());
    }

    #[test]
    fn the_store_is_bounded() {
        let mut s = FileStore::with_limit(100);
        let file = |n: usize| StoredFile {
            channel_id: 1,
            filename: "f".into(),
            content_type: "application/octet-stream".into(),
            bytes: Bytes::from(vec![0u8; n]),
        };
        s.insert(1, file(50));
        s.insert(2, file(50));
        assert!(s.get(1).is_some());
        s.insert(3, file(1));
        assert!(s.get(1).is_none());
        assert!(s.get(2).is_some() && s.get(3).is_some());
    }
}

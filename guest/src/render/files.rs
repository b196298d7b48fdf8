//! Files sent with a message: a caller's attachments and the file a long body becomes, with
//! Discord's rules for them, all checked before any request
//! (<https://discord.com/developers/docs/reference#uploading-files>).

use std::rc::Rc;

use crate::bindings::{AlertError, Attachment};

/// Files in one message.
pub const MAX_FILES: usize = 10;
/// Bytes of one file when the `max_attachment_bytes` setting is not set: Discord's default
/// upload limit (servers with boosts allow more).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 << 20;
/// Bytes of one create-message request, files and JSON together.
pub const MAX_REQUEST_BYTES: u64 = 25 << 20;
/// Room kept in [`MAX_REQUEST_BYTES`] for the JSON part and the form's framing.
const FORM_OVERHEAD: u64 = 64 << 10;
/// Characters of a filename (Discord allows more; a longer one helps nobody in a chat).
pub const FILENAME: usize = 100;
/// Characters of a file's alt text.
pub const DESCRIPTION: usize = 1024;

/// One file to upload. The bytes are shared, so copying a rendered message is cheap.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePart {
    /// A name [`check_filename`] accepts.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Alt text.
    pub description: Option<String>,
    /// The bytes.
    pub data: Rc<Vec<u8>>,
}

impl FilePart {
    /// A file from the WIT record, its name checked and its type guessed when not given.
    pub fn from_wit(a: Attachment) -> Result<FilePart, AlertError> {
        check_filename(&a.filename)?;
        if let Some(d) = &a.description {
            if super::len(d) > DESCRIPTION {
                return Err(AlertError::InvalidInput(format!(
                    "the description of `{}` is longer than Discord's {DESCRIPTION} characters",
                    a.filename
                )));
            }
        }
        let content_type = match a.content_type.map(|t| t.trim().to_string()) {
            Some(t) if !t.is_empty() => {
                if !t.contains('/') || t.chars().any(char::is_control) {
                    return Err(AlertError::InvalidInput(format!(
                        "`{t}` (for `{}`) is not a MIME type like image/png",
                        a.filename
                    )));
                }
                t
            }
            _ => guess_type(&a.filename).to_string(),
        };
        Ok(FilePart {
            content_type,
            filename: a.filename,
            description: a.description.filter(|d| !d.trim().is_empty()),
            data: Rc::new(a.data),
        })
    }

    /// A text file (a long body).
    pub fn text(filename: &str, text: &str) -> FilePart {
        FilePart {
            filename: filename.to_string(),
            content_type: "text/plain; charset=utf-8".into(),
            description: None,
            data: Rc::new(text.as_bytes().to_vec()),
        }
    }
}

/// A name Discord keeps as it is: 1-[`FILENAME`] characters of `A-Z a-z 0-9 . _ -`, starting
/// with a letter or digit. Discord rewrites other names (spaces and punctuation to `_`, other
/// scripts dropped), and an `attachment://` reference to the old name then shows nothing.
pub fn check_filename(name: &str) -> Result<(), AlertError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let ok = !name.is_empty()
        && name.len() <= FILENAME
        && name.chars().all(safe)
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    let shown: String = name.chars().take(60).collect();
    Err(AlertError::InvalidInput(format!(
        "the file name `{shown}` is not one Discord keeps as it is: use 1-{FILENAME} letters, \
         digits, `.`, `_` or `-`, starting with a letter or digit (for example `{}`)",
        suggest_filename(name)
    )))
}

/// `name` made acceptable to [`check_filename`]: other characters become `_`.
pub fn suggest_filename(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.starts_with(['_', '.', '-']) {
        out.remove(0);
    }
    if out.is_empty() {
        out = "file".into();
    }
    out.chars().take(FILENAME).collect()
}

/// The MIME type of a file name's extension (`application/octet-stream` when unknown).
pub fn guess_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" | "log" | "out" | "err" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// Whether an embed can show this file as its image (Discord: jpg, jpeg, png, webp, gif).
pub fn is_embeddable_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".gif", ".webp"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// One message's files against Discord's limits: at most [`MAX_FILES`], distinct names, each
/// at most `max_file_bytes`, all together within one request.
pub fn check_files(files: &[FilePart], max_file_bytes: u64) -> Result<(), AlertError> {
    if files.len() > MAX_FILES {
        return Err(AlertError::InvalidInput(format!(
            "{} files for one message: Discord takes at most {MAX_FILES} (a long body sent as a \
             file counts too)",
            files.len()
        )));
    }
    let mut total: u64 = 0;
    for (i, f) in files.iter().enumerate() {
        if files[..i].iter().any(|g| g.filename == f.filename) {
            return Err(AlertError::InvalidInput(format!(
                "two files are named `{}`: each needs its own name",
                f.filename
            )));
        }
        let size = f.data.len() as u64;
        if size > max_file_bytes {
            return Err(AlertError::InvalidInput(format!(
                "`{}` is {} bytes, over the upload limit of {max_file_bytes} bytes per file \
                 (`max_attachment_bytes`; Discord allows 10 MiB on servers without boosts)",
                f.filename, size
            )));
        }
        total += size;
    }
    if total > MAX_REQUEST_BYTES - FORM_OVERHEAD {
        return Err(AlertError::InvalidInput(format!(
            "the files add up to {total} bytes, over Discord's {MAX_REQUEST_BYTES} bytes per \
             message"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: usize) -> FilePart {
        FilePart {
            filename: name.into(),
            content_type: "application/octet-stream".into(),
            description: None,
            data: Rc::new(vec![0; bytes]),
        }
    }

    #[test]
    fn names_discord_would_rewrite_are_refused_with_a_suggestion() {
        for ok in ["plot.png", "train-2026_11.log", "a", "9.txt", "A.B.C"] {
            assert!(check_filename(ok).is_ok(), "{ok}");
        }
        for (bad, suggestion) in [
            ("my plot (1).png", "my_plot__1_.png"),
            ("_hidden.png", "hidden.png"),
            (".env", "env"),
            ("ünïcode.txt", "n_code.txt"),
            ("", "file"),
            ("a/b.txt", "a_b.txt"),
        ] {
            match check_filename(bad) {
                Err(AlertError::InvalidInput(m)) => {
                    assert!(m.contains(&format!("`{suggestion}`")), "{bad}: {m}");
                }
                other => panic!("{bad}: {other:?}"),
            }
            assert!(check_filename(&suggest_filename(bad)).is_ok(), "{bad}");
        }
        assert!(check_filename(&"a".repeat(FILENAME)).is_ok());
        assert!(check_filename(&"a".repeat(FILENAME + 1)).is_err());
    }

    #[test]
    fn each_limit_is_named() {
        let err = |files: &[FilePart], max| match check_files(files, max) {
            Err(AlertError::InvalidInput(m)) => m,
            other => panic!("{other:?}"),
        };
        let eleven: Vec<FilePart> = (0..11).map(|i| file(&format!("f{i}.txt"), 1)).collect();
        assert!(err(&eleven, 100).contains("at most 10"));
        assert!(check_files(&eleven[..10], 100).is_ok());
        assert!(err(&[file("big.bin", 101)], 100).contains("100 bytes per file"));
        assert!(check_files(&[file("big.bin", 100)], 100).is_ok());
        let three = [file("a", 9 << 20), file("b", 9 << 20), file("c", 9 << 20)];
        assert!(err(&three, 10 << 20).contains("per message"));
        assert!(err(&[file("x", 1), file("x", 1)], 100).contains("two files are named `x`"));
        // Room is kept for the JSON part and the form's framing.
        let near = |total: u64| {
            [
                file("a", (total / 2) as usize),
                file("b", (total - total / 2) as usize),
            ]
        };
        assert!(check_files(&near(MAX_REQUEST_BYTES - (64 << 10)), 25 << 20).is_ok());
        assert!(err(&near(MAX_REQUEST_BYTES - (32 << 10)), 25 << 20).contains("per message"));
    }

    #[test]
    fn types_are_guessed_and_checked() {
        assert_eq!(guess_type("Loss.PNG"), "image/png");
        assert_eq!(guess_type("train.log"), "text/plain; charset=utf-8");
        assert_eq!(guess_type("blob"), "application/octet-stream");
        let a = |t: Option<&str>| Attachment {
            filename: "plot.png".into(),
            content_type: t.map(String::from),
            description: None,
            data: vec![1, 2],
        };
        assert_eq!(
            FilePart::from_wit(a(None)).unwrap().content_type,
            "image/png"
        );
        assert_eq!(
            FilePart::from_wit(a(Some("image/webp")))
                .unwrap()
                .content_type,
            "image/webp"
        );
        assert!(FilePart::from_wit(a(Some("png"))).is_err());
        assert_eq!(
            FilePart::from_wit(a(Some("  "))).unwrap().content_type,
            "image/png",
            "a blank type is guessed"
        );
        assert!(is_embeddable_image("x.jpeg") && !is_embeddable_image("x.svg"));
        let described = |n: usize| Attachment {
            description: Some("é".repeat(n)),
            ..a(None)
        };
        assert!(FilePart::from_wit(described(DESCRIPTION)).is_ok());
        assert!(FilePart::from_wit(described(DESCRIPTION + 1)).is_err());
    }
}

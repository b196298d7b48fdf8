//! A small `multipart/form-data` parser (RFC 7578 over RFC 2046 framing), enough for Discord's
//! message uploads: a `payload_json` part holding the JSON body and `files[n]` file parts.
//!
//! It is strict where a well-behaved client never errs, so that a sloppy client shows up as a
//! violation: lines end in CRLF, every part has a `Content-Disposition: form-data; name=...`
//! header, the body ends with the close delimiter, and the boundary never appears inside a part.
//! Bodies are binary-safe: a part's bytes are a slice of the request body, CRLFs and all.

use bytes::Bytes;

/// Most bytes of one part's header block.
const MAX_HEADERS: usize = 16 * 1024;

/// One part of a form.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The `name` of its `Content-Disposition`.
    pub name: String,
    /// The `filename` of its `Content-Disposition`, if any.
    pub filename: Option<String>,
    /// Its `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Its bytes (a slice of the request body).
    pub body: Bytes,
}

/// A Discord message form: the `payload_json` part and the file parts.
#[derive(Clone, Debug, Default)]
pub struct Form {
    /// The bytes of the `payload_json` part, if there is one.
    pub payload_json: Option<Bytes>,
    /// Parts with a `filename`, in the order sent.
    pub files: Vec<Part>,
    /// Names of other parts (plain form fields besides `payload_json`), which the emulator
    /// ignores.
    pub ignored: Vec<String>,
}

/// Whether a `Content-Type` value is `multipart/form-data`.
pub fn is_form_data(content_type: &str) -> bool {
    media_type(content_type) == "multipart/form-data"
}

/// The media type of a `Content-Type` value, lowercase, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `boundary` parameter of a `multipart/form-data` Content-Type, quoted or not.
pub fn boundary(content_type: &str) -> Result<String, String> {
    if !is_form_data(content_type) {
        return Err(format!(
            "Content-Type {content_type:?} is not multipart/form-data"
        ));
    }
    let params = content_type.split_once(';').map_or("", |(_, p)| p);
    let b = params_of(params)
        .into_iter()
        .find(|(k, _)| k == "boundary")
        .map(|(_, v)| v)
        .ok_or_else(|| format!("Content-Type {content_type:?} has no boundary"))?;
    // RFC 2046: 1 to 70 characters, not ending in a space.
    if b.is_empty() || b.len() > 70 || b.ends_with(' ') {
        return Err(format!("boundary {b:?} is not 1-70 characters"));
    }
    Ok(b)
}

/// `; a=1; b="x y"` as (lowercase name, value) pairs; quoted values unescaped.
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        // Skip separators and spaces.
        while chars.peek().is_some_and(|c| *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
                // Anything between the closing quote and the next `;` is dropped.
                while chars.peek().is_some_and(|c| *c != ';') {
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim_end().to_string();
            }
        }
        out.push((name.trim().to_ascii_lowercase(), value));
    }
}

/// The first index of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let at = i + hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|b| *b == first)?;
        if hay[at..at + needle.len()] == *needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// After a delimiter: `--` (the close delimiter) or optional spaces and CRLF. Returns whether it
/// was the close delimiter and where the next thing starts.
fn after_delimiter(body: &[u8], mut at: usize) -> Result<(bool, usize), String> {
    if body[at..].starts_with(b"--") {
        return Ok((true, at + 2));
    }
    while at < body.len() && (body[at] == b' ' || body[at] == b'\t') {
        at += 1;
    }
    if body[at..].starts_with(b"\r\n") {
        Ok((false, at + 2))
    } else {
        Err("a boundary line does not end in CRLF or \"--\" (the boundary appears inside a part, or lines end in a bare LF)".into())
    }
}

/// Splits a `multipart/form-data` body into its parts.
pub fn parse(content_type: &str, body: &Bytes) -> Result<Vec<Part>, String> {
    let boundary = boundary(content_type)?;
    let dash = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    // The first delimiter opens the body, or ends a preamble.
    let start = if body.starts_with(dash.as_bytes()) {
        0
    } else {
        find(body, delimiter.as_bytes(), 0)
            .map(|i| i + 2)
            .ok_or_else(|| format!("no \"--{boundary}\" line in the body"))?
    };
    let (mut closed, mut at) = after_delimiter(body, start + dash.len())?;
    let mut parts = Vec::new();
    while !closed {
        let end = find(body, delimiter.as_bytes(), at).ok_or_else(|| {
            format!(
                "part {} is not followed by a boundary (the close delimiter \"--{boundary}--\" is missing)",
                parts.len() + 1
            )
        })?;
        parts.push(part(&body.slice(at..end), parts.len() + 1)?);
        (closed, at) = after_delimiter(body, end + delimiter.len())?;
    }
    if parts.is_empty() {
        return Err("the form has no parts".into());
    }
    Ok(parts)
}

/// One part: its header block (possibly empty), a blank line, its bytes.
fn part(raw: &Bytes, n: usize) -> Result<Part, String> {
    let (headers, body_at) = if raw.starts_with(b"\r\n") {
        (&raw[..0], 2)
    } else {
        let end = find(&raw[..raw.len().min(MAX_HEADERS)], b"\r\n\r\n", 0).ok_or_else(|| {
            format!("part {n}: its headers do not end in a blank line (CRLF CRLF)")
        })?;
        (&raw[..end], end + 4)
    };
    let headers = String::from_utf8_lossy(headers);
    let mut disposition = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("part {n}: header line {line:?} has no ':'"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(value.trim().to_string()),
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let disposition =
        disposition.ok_or_else(|| format!("part {n} has no Content-Disposition header"))?;
    let (kind, params) = disposition.split_once(';').unwrap_or((&disposition, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(format!(
            "part {n}: Content-Disposition {disposition:?} is not form-data"
        ));
    }
    let params = params_of(params);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let name = get("name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("part {n}: Content-Disposition {disposition:?} has no name"))?;
    Ok(Part {
        name,
        filename: get("filename"),
        content_type,
        body: raw.slice(body_at..),
    })
}

/// The `n` of a `files[n]` part name.
pub fn file_index(name: &str) -> Option<u64> {
    let n = name.strip_prefix("files[")?.strip_suffix(']')?;
    crate::snowflake::parse(n)
}

/// Parses a Discord message form: at most one `payload_json`, unique part names, and every
/// `files[n]` part with a filename.
pub fn parse_form(content_type: &str, body: &Bytes) -> Result<Form, String> {
    let mut form = Form::default();
    let mut names: Vec<String> = Vec::new();
    for p in parse(content_type, body)? {
        if names.contains(&p.name) {
            return Err(format!("two parts are named {:?}", p.name));
        }
        names.push(p.name.clone());
        if p.filename.is_some() {
            form.files.push(p);
        } else if p.name == "payload_json" {
            form.payload_json = Some(p.body);
        } else if file_index(&p.name).is_some() {
            return Err(format!("part {:?} has no filename", p.name));
        } else {
            form.ignored.push(p.name);
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn boundaries_quoted_or_not() {
        assert_eq!(boundary(CT).unwrap(), "XyZ");
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\"").unwrap(),
            "a b;c"
        );
        assert!(boundary("multipart/form-data").is_err());
        assert!(boundary("multipart/form-data; boundary=").is_err());
        assert!(boundary("application/json; boundary=x").is_err());
        assert!(boundary(&format!("multipart/form-data; boundary={}", "b".repeat(71))).is_err());
        assert!(is_form_data("multipart/form-data;boundary=x"));
        assert!(!is_form_data("multipart/mixed; boundary=x"));
    }

    #[test]
    fn a_discord_upload_parses() {
        let raw = b"--XyZ\r\n\
Content-Disposition: form-data; name=\"payload_json\"\r\n\
Content-Type: application/json\r\n\
\r\n\
{\"content\":\"hi\",\"attachments\":[{\"id\":\"0\",\"filename\":\"a.png\"}]}\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"files[0]\"; filename=\"a.png\"\r\n\
Content-Type: image/png\r\n\
\r\n\
PNGDATA\r\n\
--XyZ--\r\n";
        let parts = parse(CT, &body(raw)).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "payload_json");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[0].content_type.as_deref(), Some("application/json"));
        let v: serde_json::Value = serde_json::from_slice(&parts[0].body).unwrap();
        assert_eq!(v["content"], "hi");
        assert_eq!(parts[1].name, "files[0]");
        assert_eq!(parts[1].filename.as_deref(), Some("a.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(&parts[1].body[..], b"PNGDATA");
        let form = parse_form(CT, &body(raw)).unwrap();
        assert!(form.payload_json.is_some());
        assert_eq!(form.files.len(), 1);
        assert!(form.ignored.is_empty());
        assert_eq!(file_index("files[0]"), Some(0));
        assert_eq!(file_index("files[42]"), Some(42));
        assert_eq!(file_index("files[x]"), None);
        assert_eq!(file_index("file"), None);
    }

    #[test]
    fn quoted_boundary_preamble_and_epilogue() {
        let ct = "multipart/form-data; boundary=\"--odd boundary\"";
        let raw = b"preamble to ignore\r\n----odd boundary\r\n\
content-disposition: form-data; name=files[3]; filename=x.txt\r\n\
\r\n\
text\r\n----odd boundary--\r\nepilogue";
        let parts = parse(ct, &body(raw)).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "files[3]");
        assert_eq!(parts[0].filename.as_deref(), Some("x.txt"));
        assert_eq!(parts[0].content_type, None);
        assert_eq!(&parts[0].body[..], b"text");
    }

    fn file_form(file: &[u8]) -> Vec<u8> {
        let mut raw = b"--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"b.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        raw.extend_from_slice(file);
        raw.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files[1]\"; filename=\"empty\"\r\n\r\n\r\n--XyZ--\r\n");
        raw
    }

    #[test]
    fn binary_bodies_keep_every_byte() {
        let mut file: Vec<u8> = (0..=255u8).collect();
        // CRLFs, blank lines and near misses of the delimiter inside the file.
        file.extend_from_slice(b"\r\n\r\nx--XyZ no CRLF before me\r\n--XY\r\n--Xy\r\n-");
        file.extend_from_slice(&[0, 13, 10, 13, 10, 0xff, 13]);
        let parts = parse(CT, &body(&file_form(&file))).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(&parts[0].body[..], &file[..]);
        assert_eq!(parts[1].filename.as_deref(), Some("empty"));
        assert!(parts[1].body.is_empty());
        // The boundary itself after a CRLF, followed by junk, cannot be told from a broken
        // delimiter: the client picked a boundary that occurs in its file.
        let mut bad = file.clone();
        bad.extend_from_slice(b"\r\n--XyZZ");
        assert!(parse(CT, &body(&file_form(&bad))).is_err());
    }

    #[test]
    fn malformed_forms_are_errors() {
        let ok_part = "Content-Disposition: form-data; name=\"payload_json\"\r\n\r\n{}";
        let cases: Vec<(&str, String)> = vec![
            (
                "no close delimiter",
                format!("--XyZ\r\n{ok_part}\r\n--XyZ\r\n"),
            ),
            ("no delimiter at all", "just text".to_string()),
            ("bare LF lines", format!("--XyZ\n{ok_part}\n--XyZ--")),
            (
                "no disposition",
                "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--".to_string(),
            ),
            (
                "not form-data",
                "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--".to_string(),
            ),
            (
                "no name",
                "--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--XyZ--"
                    .to_string(),
            ),
            (
                "headers never end",
                "--XyZ\r\nContent-Disposition: form-data; name=a\r\n--XyZ--".to_string(),
            ),
            ("no parts", "--XyZ--".to_string()),
            ("empty body", String::new()),
        ];
        for (what, raw) in cases {
            assert!(
                parse(CT, &body(raw.as_bytes())).is_err(),
                "{what}: {raw:?} parsed"
            );
        }
        let twice = format!("--XyZ\r\n{ok_part}\r\n--XyZ\r\n{ok_part}\r\n--XyZ--");
        assert!(parse(CT, &body(twice.as_bytes())).is_ok());
        assert!(parse_form(CT, &body(twice.as_bytes())).is_err());
        let nameless_file =
            "--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"\r\n\r\nx\r\n--XyZ--";
        assert!(parse_form(CT, &body(nameless_file.as_bytes())).is_err());
        assert!(parse("text/plain", &body(twice.as_bytes())).is_err());
    }
}

//! `multipart/form-data` for a create with files, as Discord documents it: a `payload_json`
//! part holding the JSON body, then one `files[n]` part per file, where `n` is the `id` of its
//! entry in the JSON's `attachments`
//! (<https://discord.com/developers/docs/reference#uploading-files>).

use crate::render::FilePart;

/// The request's `Content-Type` for `boundary`.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// A boundary from two random numbers: 128 random bits never occur in a file by chance.
pub fn boundary(a: u64, b: u64) -> String {
    format!("alerter-{a:016x}{b:016x}")
}

/// The whole form: `json` as `payload_json`, then `files[0]`, `files[1]`, ... in order. The
/// buffer is sized exactly up front: a 25 MiB form must not be copied while it grows.
pub fn encode(json: &[u8], files: &[FilePart], boundary: &str) -> Vec<u8> {
    let head = |name: &str, filename: Option<&str>, content_type: &str| {
        let filename = filename
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
    };
    // Names are checked (`check_filename`): no quotes, no line breaks.
    let mut parts: Vec<(String, &[u8])> =
        vec![(head("payload_json", None, "application/json"), json)];
    for (i, f) in files.iter().enumerate() {
        let name = format!("files[{i}]");
        parts.push((
            head(&name, Some(&f.filename), &f.content_type),
            f.data.as_slice(),
        ));
    }
    let end = format!("--{boundary}--\r\n");
    let size = parts
        .iter()
        .map(|(h, d)| h.len() + d.len() + 2)
        .sum::<usize>()
        + end.len();
    let mut out = Vec::with_capacity(size);
    for (h, d) in parts {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(d);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(end.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[test]
    fn the_form_holds_the_json_then_each_file_byte_for_byte() {
        let files = [
            FilePart {
                filename: "plot.png".into(),
                content_type: "image/png".into(),
                description: None,
                data: Rc::new(vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0]),
            },
            FilePart::text("log.txt", "line 1\r\nline 2"),
        ];
        let b = boundary(1, 2);
        assert_eq!(b, "alerter-00000000000000010000000000000002");
        let form = encode(br#"{"content":"hi"}"#, &files, &b);
        let mut expected = Vec::new();
        expected.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: \
                 application/json\r\n\r\n{{\"content\":\"hi\"}}\r\n--{b}\r\nContent-Disposition: \
                 form-data; name=\"files[0]\"; filename=\"plot.png\"\r\nContent-Type: \
                 image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        expected.extend_from_slice(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0]);
        expected.extend_from_slice(
            format!(
                "\r\n--{b}\r\nContent-Disposition: form-data; name=\"files[1]\"; \
                 filename=\"log.txt\"\r\nContent-Type: text/plain; \
                 charset=utf-8\r\n\r\nline 1\r\nline 2\r\n--{b}--\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(
            String::from_utf8_lossy(&form),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(form, expected);
        assert_eq!(
            form.capacity(),
            form.len(),
            "sized exactly: no copy while growing"
        );
        assert_eq!(
            content_type(&b),
            format!("multipart/form-data; boundary={b}")
        );
    }
}

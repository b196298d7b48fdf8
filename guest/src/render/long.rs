//! A body too long for a few messages becomes a file. The message keeps an excerpt (its head
//! and, given twice the room, its tail, where a traceback's error or a log's failure is), or,
//! when the document already leads with the failing end (a hook's traceback), a note; the file
//! holds the whole text. The caller decides when: see `long_body_max_parts`.

use super::files::FilePart;
use super::split::take_units;
use super::{len, Document};

/// Room for an embed body's excerpt, well below one description.
pub const EXCERPT: usize = 3000;
/// Room for a plain message's excerpt, below one content chunk with its trailer and marker.
pub const PLAIN_EXCERPT: usize = 1400;

/// `doc` with its longest text replaced by an excerpt or a note, and that text whole as a
/// file named so as not to clash with `taken`; `None` when the document has no body or plain
/// text too long to show.
pub fn attach_long_text(doc: &Document, taken: &[&str]) -> Option<(Document, FilePart)> {
    let mut short = doc.clone();
    // Without a body, the plain text is what is shown (see `embeds::embed_messages`).
    if let (None, Some(text)) = (&doc.body, &doc.plain) {
        if len(text) <= PLAIN_EXCERPT {
            return None;
        }
        let name = file_name(doc, "message.txt", taken);
        let file = FilePart::text(&name, file_text(doc, text));
        short.plain = Some(excerpt(text, PLAIN_EXCERPT, &name, &file));
        return Some((short, file));
    }
    let body = doc.body.as_ref()?;
    if len(body) <= EXCERPT {
        return None;
    }
    let name = file_name(doc, "body.txt", taken);
    let file = FilePart::text(&name, file_text(doc, body));
    short.body = Some(if doc.lead.is_some() {
        format!(
            "*The whole text is attached: `{name}` ({}).*",
            size_text(&file)
        )
    } else {
        excerpt(body, EXCERPT, &name, &file)
    });
    short.body_file = None;
    Some((short, file))
}

/// The file's name: the document's choice, else `default`; `alert-` in front while taken.
fn file_name(doc: &Document, default: &str, taken: &[&str]) -> String {
    let mut name = doc
        .body_file
        .as_ref()
        .map_or_else(|| default.to_string(), |(n, _)| n.clone());
    while taken.contains(&name.as_str()) {
        name = format!("alert-{name}");
    }
    name
}

fn file_text<'a>(doc: &'a Document, shown: &'a str) -> &'a str {
    doc.body_file.as_ref().map_or(shown, |(_, t)| t.as_str())
}

/// "1,234 lines, 168 KiB".
fn size_text(file: &FilePart) -> String {
    let lines = file.data.iter().filter(|b| **b == b'\n').count() + 1;
    let kib = file.data.len().div_ceil(1024);
    format!("{lines} lines, {kib} KiB")
}

/// The head of `text` in a third of `room` and its tail in the rest, cut at line ends, with a
/// line between them saying what was left out and where it is; code fences stay balanced.
/// `text` itself when it fits.
pub fn excerpt(text: &str, room: usize, file_name: &str, file: &FilePart) -> String {
    if len(text) <= room {
        return text.to_string();
    }
    let note_room = 100 + len(file_name);
    let lines: Vec<&str> = text.lines().collect();
    let head_room = (room - note_room) / 3;
    let tail_room = room - note_room - head_room;
    let mut head = Vec::new();
    let mut used = 0;
    for l in &lines {
        if used + len(l) + 1 > head_room {
            break;
        }
        used += len(l) + 1;
        head.push(*l);
    }
    let mut tail = Vec::new();
    used = 0;
    for l in lines[head.len()..].iter().rev() {
        if used + len(l) + 1 > tail_room {
            break;
        }
        used += len(l) + 1;
        tail.push(*l);
    }
    tail.reverse();
    let mut head_text = head.join("\n");
    let mut tail_text = tail.join("\n");
    // A line longer than the room: keep the start of the first (head) and the end of the
    // last (tail), where the failure is.
    if head.is_empty() {
        head_text = take_units(lines.first().copied().unwrap_or(""), head_room).to_string();
    }
    if tail.is_empty() {
        tail_text = last_units(lines.last().copied().unwrap_or(""), tail_room).to_string();
    }
    let omitted = lines.len().saturating_sub(head.len() + tail.len());
    let fences = |ls: &[&str]| {
        ls.iter()
            .filter(|l| l.trim_start().starts_with("```"))
            .count()
    };
    let open_after_head = fences(&head) % 2 == 1;
    let open_before_tail = fences(&lines[..lines.len() - tail.len()]) % 2 == 1;
    let mut out = head_text;
    if open_after_head {
        out.push_str("\n```");
    }
    out.push_str(&format!(
        "\n*… {omitted} lines left out here; the whole text ({}) is attached as `{file_name}` …*\n",
        size_text(file)
    ));
    if open_before_tail {
        out.push_str("```\n");
    }
    out.push_str(&tail_text);
    out
}

/// The end of `s`, at most `max` UTF-16 units.
fn last_units(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        used += c.len_utf16();
        if used > max {
            return &s[i + c.len_utf8()..];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: usize) -> String {
        (1..=lines)
            .map(|i| format!("epoch {i}: loss 0.{i:04}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_long_body_keeps_its_head_and_a_longer_tail() {
        let text = log(8000) + "\nRuntimeError: CUDA out of memory";
        let doc = Document {
            title: Some("Training failed".into()),
            body: Some(text.clone()),
            ..Document::default()
        };
        let (short, file) = attach_long_text(&doc, &[]).expect("a body to move");
        assert_eq!(file.filename, "body.txt");
        assert_eq!(&**file.data, text.as_bytes(), "the file is the whole text");
        let body = short.body.unwrap();
        assert!(len(&body) <= EXCERPT, "{}", len(&body));
        assert!(body.starts_with("epoch 1: loss"), "{body}");
        assert!(body.ends_with("RuntimeError: CUDA out of memory"), "{body}");
        assert!(body.contains("lines left out here"), "{body}");
        assert!(body.contains("attached as `body.txt`"), "{body}");
        let (head, tail) = body.split_once("lines left out").unwrap();
        assert!(tail.len() > head.len(), "the tail gets more room");
    }

    #[test]
    fn fences_stay_balanced_around_the_cut() {
        let text = format!("```\n{}\n```", log(3000));
        let file = FilePart::text("x.txt", &text);
        let e = excerpt(&text, 1000, "x.txt", &file);
        let fences = e.lines().filter(|l| l.starts_with("```")).count();
        assert_eq!(fences % 2, 0, "{e}");
        assert_eq!(fences, 4, "closed before the note and reopened after: {e}");
        assert!(!e
            .lines()
            .any(|l| l.contains("left out") && l.starts_with("```")));
    }

    #[test]
    fn a_lead_keeps_the_message_and_the_body_becomes_a_note() {
        let doc = Document {
            lead: Some("ValueError: loss is NaN".into()),
            body: Some(format!(
                "**Full traceback**\n```python\n{}\n```",
                "Traceback...\n".repeat(400)
            )),
            body_file: Some(("traceback.txt".into(), "Traceback...".into())),
            ..Document::default()
        };
        let (short, file) = attach_long_text(&doc, &["traceback.txt"]).unwrap();
        assert_eq!(short.lead, doc.lead);
        assert_eq!(
            short.body.as_deref(),
            Some("*The whole text is attached: `alert-traceback.txt` (1 lines, 1 KiB).*")
        );
        assert_eq!(
            file.filename, "alert-traceback.txt",
            "a name the caller's files took"
        );
        assert_eq!(&**file.data, b"Traceback...");
    }

    #[test]
    fn plain_text_becomes_message_txt_and_one_huge_line_is_cut_inside() {
        let text = "x".repeat(100_000);
        let doc = Document {
            plain: Some(text.clone()),
            ..Document::default()
        };
        let (short, file) = attach_long_text(&doc, &[]).unwrap();
        assert_eq!(file.filename, "message.txt");
        let p = short.plain.unwrap();
        assert!(len(&p) <= PLAIN_EXCERPT, "{}", len(&p));
        assert!(p.starts_with("xxx") && p.ends_with("xxx"));
        assert!(attach_long_text(&Document::default(), &[]).is_none());
        let short = Document {
            body: Some("fits".into()),
            ..Document::default()
        };
        assert!(attach_long_text(&short, &[]).is_none(), "nothing to gain");
    }

    #[test]
    fn the_head_gets_a_third_of_the_room_and_the_tail_the_rest_to_the_line() {
        // Name "x.txt": 105 units for the note, so room 1005 leaves 300 for the head and 600
        // for the tail; lines of 9 units plus their line break fill them exactly.
        let text: String = (0..1000).map(|i| format!("l{i:08}\n")).collect();
        let file = FilePart::text("x.txt", &text);
        let e = excerpt(&text, 1005, "x.txt", &file);
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines[..30], text.lines().take(30).collect::<Vec<_>>()[..]);
        assert_eq!(lines[30], "*… 910 lines left out here; the whole text (1001 lines, 10 KiB) is attached as `x.txt` …*");
        assert_eq!(lines[31..], text.lines().skip(940).collect::<Vec<_>>()[..]);
        // A 30th line one unit longer (10 + its line break) no longer fits the 10 left.
        let mut uneven: Vec<String> = text.lines().map(String::from).collect();
        uneven[29].push('x');
        let uneven = uneven.join("\n");
        let e = excerpt(&uneven, 1005, "x.txt", &FilePart::text("x.txt", &uneven));
        assert!(e.lines().nth(28) == Some("l00000028"), "{e}");
        assert!(
            e.lines().nth(29).is_some_and(|l| l.contains("left out")),
            "{e}"
        );
        // The same at the tail's far end: line 940, one unit longer, stays out.
        let mut uneven: Vec<String> = text.lines().map(String::from).collect();
        uneven[940].push('x');
        let uneven = uneven.join("\n");
        let e = excerpt(&uneven, 1005, "x.txt", &FilePart::text("x.txt", &uneven));
        let after_note: Vec<&str> = e
            .lines()
            .skip_while(|l| !l.contains("left out"))
            .skip(1)
            .collect();
        assert_eq!(after_note.first().copied(), Some("l00000941"), "{e}");
        assert_eq!(after_note.len(), 59);
        assert_eq!(last_units("abc💥", 3), "c💥");
        assert_eq!(last_units("abc", 3), "abc");
        assert_eq!(last_units("abc", 0), "");
    }

    #[test]
    fn a_last_line_longer_than_the_room_keeps_its_end_and_the_note_fits() {
        // Non-ASCII and surrogate pairs at the cuts, and the longest file name.
        let text = format!(
            "first line\n{}\n{}ValueError: 💥",
            "ok\n".repeat(2000),
            "é".repeat(5000)
        );
        let name = "n".repeat(100);
        let file = FilePart::text(&name, &text);
        let e = excerpt(&text, EXCERPT, &name, &file);
        assert!(len(&e) <= EXCERPT, "{}", len(&e));
        assert!(e.starts_with("first line"), "{e}");
        assert!(e.ends_with("ValueError: 💥"), "{e}");
    }
}

//! What the CLI prints: receipts, answers and check reports (as text or `--json`), the
//! waiting spinner, and a stored message as the demo shows it. Errors are printed by `mod.rs`.

use std::time::Duration;

use alerter_host::types::{Answer, AnswerVia, Decision, PostReceipt, Responder};
use alerter_host::CheckReport;

/// A receipt as JSON: `{"channel_id": ..., "message_ids": [...], "thread_id": ...}`.
pub fn receipt_json(receipt: &PostReceipt) -> serde_json::Value {
    serde_json::json!({
        "channel_id": receipt.channel_id,
        "message_ids": receipt.message_ids,
        "thread_id": receipt.thread_id,
    })
}

/// `; thread ID` when the post started or went into a thread.
fn thread_text(receipt: &PostReceipt) -> String {
    receipt
        .thread_id
        .as_ref()
        .map(|t| format!("; thread {t}"))
        .unwrap_or_default()
}

/// What `post` prints.
pub fn posted(receipt: &PostReceipt, json: bool) {
    if json {
        println!("{}", receipt_json(receipt));
        return;
    }
    let n = receipt.message_ids.len();
    println!(
        "posted to channel {}: {n} message{} ({}){}",
        receipt.channel_id,
        if n == 1 { "" } else { "s" },
        receipt.message_ids.join(", "),
        thread_text(receipt)
    );
}

/// What `post --json` prints when only some parts were created (exit 3 follows).
pub fn incomplete(i: &alerter_host::types::IncompletePost) {
    println!(
        "{}",
        serde_json::json!({
            "complete": false,
            "channel_id": i.channel_id,
            "message_ids": i.message_ids,
            "parts": i.parts,
        })
    );
}

/// What `hook` prints.
pub fn hooked(receipt: &PostReceipt, json: bool) {
    if json {
        println!("{}", receipt_json(receipt));
    } else {
        println!(
            "posted to channel {}: {}{}",
            receipt.channel_id,
            receipt.message_ids.join(", "),
            thread_text(receipt)
        );
    }
}

/// An answer as JSON (what `ask --json` prints).
pub fn answer_json(answer: &Answer) -> serde_json::Value {
    let responder = |r: &Responder| serde_json::json!({"id": r.id, "username": r.username});
    serde_json::json!({
        "approved": answer.approved,
        "decision": decision_name(answer.decision),
        "responder": answer.responder.as_ref().map(responder),
        "via": answer.via.map(via_name),
        "keyword": answer.keyword,
        "answered_at": answer.answered_at,
        "approvers": answer.approvers.iter().map(responder).collect::<Vec<_>>(),
        "channel_id": answer.channel_id,
        "question_message_id": answer.question_message_id,
        "reminders_sent": answer.reminders_sent,
        "escalated": answer.escalated,
    })
}

/// What `ask` prints.
pub fn answer(answer: &Answer, json: bool) {
    if json {
        println!("{}", answer_json(answer));
        return;
    }
    let who = answer
        .responder
        .as_ref()
        .map(|r| format!(" by {} ({})", r.username, r.id))
        .unwrap_or_default();
    match answer.decision {
        Decision::Approved => println!("approved{who} at {}", answer.answered_at),
        Decision::Disapproved => println!("disapproved{who} at {}", answer.answered_at),
        Decision::TimedOut => println!(
            "timed out at {}: nobody entitled to decide answered",
            answer.answered_at
        ),
    }
}

/// A check report as JSON (what `check --json` prints).
pub fn check_json(report: &CheckReport) -> serde_json::Value {
    let channel = match &report.channel {
        None => serde_json::Value::Null,
        Some(Ok(ch)) => {
            serde_json::json!({"ok": true, "id": ch.id, "name": ch.name, "guild_id": ch.guild_id})
        }
        Some(Err(e)) => {
            serde_json::json!({"ok": false, "problem": alerter_host::describe(e)})
        }
    };
    serde_json::json!({"token": {"ok": true, "bot_id": report.bot_id, "bot_name": report.bot_name}, "channel": channel})
}

/// What `check` prints.
pub fn check_report(report: &CheckReport, json: bool) {
    if json {
        println!("{}", check_json(report));
        return;
    }
    println!("token:   OK, bot {} ({})", report.bot_name, report.bot_id);
    match &report.channel {
        None => {
            println!("channel: none configured (pass --channel or set default_discord_channel_id)");
        }
        Some(Ok(ch)) => println!("channel: OK, #{} ({})", ch.name, ch.id),
        Some(Err(e)) => println!("channel: PROBLEM: {}", alerter_host::describe(e)),
    }
}

/// The WIT name of a decision, as printed in JSON.
pub fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "approved",
        Decision::Disapproved => "disapproved",
        Decision::TimedOut => "timed-out",
    }
}

/// The WIT name of how an answer was given.
pub fn via_name(v: AnswerVia) -> &'static str {
    match v {
        AnswerVia::Reply => "reply",
        AnswerVia::Message => "message",
        AnswerVia::Reaction => "reaction",
    }
}

/// A terminal spinner with the time left, on stderr, until the task is aborted.
pub fn spawn_spinner(timeout: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = std::time::Instant::now();
        let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        for i in 0.. {
            let left = timeout.saturating_sub(start.elapsed()).as_secs();
            eprint!(
                "\r{} waiting for an answer ({}m{:02}s left)",
                frames[i % frames.len()],
                left / 60,
                left % 60
            );
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
    })
}

/// Stop a spinner and clear its line.
pub fn stop_spinner(spinner: Option<tokio::task::JoinHandle<()>>) {
    if let Some(s) = spinner {
        s.abort();
        eprint!("\r\x1b[2K");
    }
}

/// A message as the emulator stored it, drawn as a box (the demo).
#[cfg(feature = "emulator")]
pub fn stored_message(m: &serde_json::Value) {
    let author = m["author"]["username"].as_str().unwrap_or("?");
    println!("   ┌─ {author} ({})", m["id"].as_str().unwrap_or("?"));
    if let Some(c) = m["content"].as_str().filter(|c| !c.is_empty()) {
        for line in c.lines() {
            println!("   │ {line}");
        }
    }
    for e in m["embeds"].as_array().into_iter().flatten() {
        if let Some(t) = e["title"].as_str() {
            println!("   │ ▌ {t}");
        }
        if let Some(d) = e["description"].as_str() {
            // A long excerpt: its first and last lines are enough to see.
            let lines: Vec<&str> = d.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if lines.len() > 12 && (4..lines.len() - 4).contains(&i) {
                    if i == 4 {
                        println!("   │ ▌ ... ({} more lines)", lines.len() - 8);
                    }
                    continue;
                }
                println!("   │ ▌ {line}");
            }
        }
        if let Some(url) = e["image"]["url"].as_str() {
            println!("   │ ▌ [image] {url}");
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            println!(
                "   │ ▌ {}: {}",
                f["name"].as_str().unwrap_or(""),
                f["value"].as_str().unwrap_or("")
            );
        }
    }
    for a in m["attachments"].as_array().into_iter().flatten() {
        println!(
            "   │ [file] {} ({} bytes) {}",
            a["filename"].as_str().unwrap_or("?"),
            a["size"],
            a["url"].as_str().unwrap_or("")
        );
    }
    println!(
        "   └─ pinged: everyone={} users={} roles={}",
        m["mention_everyone"],
        m["mentions"].as_array().map_or(0, Vec::len),
        m["mention_roles"].as_array().map_or(0, Vec::len)
    );
}

//! The two commands that bring their own Discord: `emulator` (serve the REST emulator on
//! loopback until interrupted) and `demo` (post an alert and run an approval gate through the
//! embedded component against an in-process emulator, with a simulated reviewer).

use std::time::Duration;

use alerter_host::config::{self, AlerterSpec};
use alerter_host::types::{
    AlerterMessage, AskSettings, Attachment, Message, MetadataEntry, MetadataValue, Params,
    Payload, PostReceipt,
};
use alerter_host::{CallConfig, Runtime, SecretStore};

use super::args::EmulatorArgs;
use super::{output, Failure, Kind, Outcome};

/// `alerter emulator`: serve the emulator until interrupted.
pub async fn emulator(e: &EmulatorArgs) -> Result<Outcome, Failure> {
    let opts = alerter_emulator::Options {
        port: e.port,
        token: e
            .token
            .clone()
            .unwrap_or_else(|| alerter_emulator::Options::default().token),
        message_content_intent: !e.no_message_content_intent,
        latency_ms: e.latency_ms,
        ..alerter_emulator::Options::default()
    };
    let emu = alerter_emulator::Emulator::start(opts)
        .await
        .map_err(|err| {
            Failure::usage(format!(
                "cannot start the emulator on port {}: {err}",
                e.port
            ))
        })?;
    println!("Discord emulator listening on {}", emu.base_url());
    println!(
        "  guild {}  channel {}  bot {}",
        emu.guild_id(),
        emu.default_channel_id(),
        emu.bot().username
    );
    println!("  control API: http://{}/_emulator/state", emu.addr());
    if e.token.is_none() {
        println!(
            "  it accepts the emulator's fixed test token (not a real Discord token): {}",
            emu.token()
        );
    }
    println!("Try:");
    println!("  ALERTER_DISCORD_TOKEN=<token> ALERTER_API_BASE_URL={} alerter --config <file> post --body hi", emu.base_url());
    let _ = tokio::signal::ctrl_c().await;
    Ok(Outcome::Done)
}

/// `alerter demo`: a post and an approval gate against an in-process emulator.
pub async fn demo() -> Result<Outcome, Failure> {
    let emu = alerter_emulator::Emulator::start(alerter_emulator::Options::default())
        .await
        .map_err(|e| Failure::usage(format!("cannot start the emulator: {e}")))?;
    println!("1. Started a Discord REST emulator at {}", emu.base_url());
    let spec = AlerterSpec {
        flavor: "discord".into(),
        discord_token: Some(emu.token()),
        default_discord_channel_id: Some(emu.default_channel_id()),
        api_base_url: Some(emu.base_url()),
        ..AlerterSpec::default()
    };
    let resolved = config::resolve(&spec, &SecretStore::new(&config::home()), &|_| None)?;
    let cfg = &resolved.call;
    let started = std::time::Instant::now();
    let runtime = Runtime::embedded().map_err(|e| Failure::usage(format!("{e:#}")))?;
    println!(
        "2. Loaded the Discord flavor component ({} KiB) in {:?}",
        alerter_host::runtime::EMBEDDED_COMPONENT.len() / 1024,
        started.elapsed()
    );
    let receipt = post_alert(&runtime, cfg).await?;
    post_log(&runtime, cfg).await?;
    println!("   The channel now shows:");
    for m in emu.messages(&receipt.channel_id) {
        output::stored_message(&m);
    }
    let known = emu.messages(&receipt.channel_id).len();
    reviewer_replies_to_the_next_message(&emu, &receipt.channel_id, known);
    let approved = ask_for_approval(&runtime, cfg).await?;
    if let Some(q) = emu.messages(&receipt.channel_id).get(known) {
        println!("   The question now reads:");
        output::stored_message(q);
    }
    let violations = emu.violations();
    if violations.is_empty() && approved {
        println!("6. Every request matched Discord's OpenAPI spec and documented limits.");
        Ok(Outcome::Done)
    } else {
        Err(Failure {
            kind: Kind::Delivery,
            message: format!("spec violations: {violations:?}"),
        })
    }
}

/// Step 3: a structured alert with metadata and the loss plot it shows, uploaded with it.
async fn post_alert(runtime: &Runtime, cfg: &CallConfig) -> Result<PostReceipt, Failure> {
    let message = Message::Structured(AlerterMessage {
        title: Some("Training run finished".into()),
        body: Some("Model `resnet50-v7` finished training. @everyone is mentioned in this text but nobody is pinged.".into()),
        metadata: vec![
            MetadataEntry { key: "accuracy".into(), value: MetadataValue::Float(0.934) },
            MetadataEntry { key: "epochs".into(), value: MetadataValue::Integer(12) },
            MetadataEntry { key: "severity".into(), value: MetadataValue::Text("success".into()) },
        ],
        images: vec!["attachment://loss.png".into()],
    });
    let params = Params {
        payload: Some(Payload {
            pipeline_name: Some("training".into()),
            step_name: Some("evaluate".into()),
            stack_name: Some("local".into()),
        }),
        // The plot the pipeline just drew, uploaded with the alert and shown inside it.
        attachments: vec![Attachment {
            filename: "loss.png".into(),
            content_type: Some("image/png".into()),
            description: Some("training loss per epoch".into()),
            data: super::plot::loss_curve_png(),
        }],
        ..Params::default()
    };
    let started = std::time::Instant::now();
    let receipt = runtime.post(cfg, &message, &params).await?;
    println!(
        "3. Posted through the sandboxed component in {:?}: message {}",
        started.elapsed(),
        receipt.message_ids.join(", ")
    );
    Ok(receipt)
}

/// Step 4: a long training log, as one message with its head and tail and the whole log as
/// a file.
async fn post_log(runtime: &Runtime, cfg: &CallConfig) -> Result<(), Failure> {
    let log: String = (1..=4000)
        .map(|i| {
            format!(
                "epoch {:03} step {i:05} loss {:.4}\n",
                i / 100 + 1,
                2.0 / f64::from(i)
            )
        })
        .collect::<String>()
        + "RuntimeError: CUDA out of memory (tried to allocate 2.00 GiB)";
    let log_message = Message::Structured(AlerterMessage {
        title: Some("Training log of run 42".into()),
        body: Some(log.clone()),
        metadata: vec![],
        images: vec![],
    });
    let receipt = runtime.post(cfg, &log_message, &Params::default()).await?;
    println!(
        "4. Posted a {} KB log as {} message with the whole log attached",
        log.len() / 1000,
        receipt.message_ids.len()
    );
    Ok(())
}

/// A simulated reviewer: once the channel has more than `known` messages, it replies `LGTM`
/// to the first new one.
fn reviewer_replies_to_the_next_message(
    emu: &alerter_emulator::Emulator,
    channel: &str,
    known: usize,
) {
    let reviewer = emu.add_user("reviewer", false);
    let (emu, channel) = (emu.clone(), channel.to_string());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let msgs = emu.messages(&channel);
            if let Some(q) = msgs.get(known) {
                let q = q["id"].as_str().unwrap_or_default().to_string();
                tokio::time::sleep(Duration::from_millis(700)).await;
                emu.say(&channel, &reviewer.id, "LGTM", Some(&q));
                return;
            }
        }
    });
}

/// Step 5: the approval gate; prints the answer and returns whether it was approved.
async fn ask_for_approval(runtime: &Runtime, cfg: &CallConfig) -> Result<bool, Failure> {
    let question = Message::Structured(AlerterMessage {
        title: Some("Promote resnet50-v7 to production?".into()),
        body: Some("The candidate beats production by 1.2 points.".into()),
        metadata: vec![],
        images: vec![],
    });
    let ask_params = Params {
        ask: Some(AskSettings {
            timeout_ms: Some(30_000),
            poll_interval_ms: Some(250),
            ..AskSettings::default()
        }),
        ..Params::default()
    };
    println!("5. Asking for approval; a simulated reviewer will reply `LGTM`...");
    let answer = runtime
        .ask(cfg, &question, &ask_params, Duration::from_secs(30))
        .await?;
    let who = answer
        .responder
        .as_ref()
        .map_or("nobody", |r| r.username.as_str());
    println!(
        "   -> {} by {who} via {} `{}` at {}",
        output::decision_name(answer.decision),
        answer.via.map_or("-", output::via_name),
        answer.keyword.as_deref().unwrap_or(""),
        answer.answered_at
    );
    Ok(answer.approved)
}

//! The key marker and the outcome record: exact texts, render -> parse round trips (examples
//! and properties), and what is not a record.

use proptest::prelude::*;

use super::*;

const CHANNEL: &str = "111111111111111111";
const QUESTION: &str = "222222222222222222";
const ALICE: &str = "333333333333333333";
const BOB: &str = "444444444444444444";
const AT: &str = "2026-11-28T04:07:25.123Z";
const NOW: &str = "2026-11-28T05:00:00.000Z";

fn person(id: &str, name: &str) -> Responder {
    Responder {
        id: id.into(),
        username: name.into(),
    }
}

fn answer(decision: Decision, via: AnswerVia, keyword: &str) -> Answer {
    Answer {
        approved: decision == Decision::Approved,
        decision,
        responder: Some(person(ALICE, "alice")),
        via: Some(via),
        keyword: Some(keyword.into()),
        answered_at: AT.into(),
        approvers: if decision == Decision::Approved {
            vec![person(ALICE, "alice")]
        } else {
            vec![]
        },
        channel_id: CHANNEL.into(),
        question_message_id: QUESTION.into(),
        reminders_sent: 0,
        escalated: false,
    }
}

fn timed_out() -> Answer {
    Answer {
        approved: false,
        decision: Decision::TimedOut,
        responder: None,
        via: None,
        keyword: None,
        approvers: vec![],
        ..answer(Decision::TimedOut, AnswerVia::Message, "")
    }
}

fn embed(a: &Answer) -> Embed {
    outcome_embed(&CloseReason::Answered(a.clone()), NOW).unwrap()
}

fn read(e: &Embed) -> Option<Outcome> {
    read_outcome(std::slice::from_ref(e), CHANNEL, QUESTION)
}

#[test]
fn an_approval_by_reaction_reads_as_one_line() {
    let a = answer(Decision::Approved, AnswerVia::Reaction, "✅");
    let e = embed(&a);
    assert_eq!(e.title.as_deref(), Some("✅ Approved"));
    assert_eq!(
        e.description.as_deref(),
        Some(format!("by <@{ALICE}> (alice) reacting ✅").as_str())
    );
    assert_eq!(e.timestamp.as_deref(), Some(AT));
    assert_eq!(e.footer.as_ref().unwrap().text, "alerter outcome");
    assert_eq!(e.color, Some(0x2E_CC71));
    assert_eq!(read(&e), Some(Outcome::Answered(a)));
}

#[test]
fn every_fact_of_a_declined_answer_has_its_line_and_reads_back() {
    let mut a = answer(Decision::Disapproved, AnswerVia::Reply, "reject");
    a.responder = Some(person(BOB, "bob"));
    a.approvers = vec![person(ALICE, "alice")];
    a.reminders_sent = 3;
    a.escalated = true;
    let e = embed(&a);
    assert_eq!(e.title.as_deref(), Some("❌ Declined"));
    assert_eq!(
        e.description.as_deref().unwrap(),
        format!(
            "by <@{BOB}> (bob) replying `reject`\nApprovals: <@{ALICE}> (alice)\n\
             ⏰ Reminders sent: 3\n📣 Escalated"
        )
    );
    assert_eq!(read(&e), Some(Outcome::Answered(a)));
}

#[test]
fn several_approvers_are_listed_in_order_and_a_message_is_writing() {
    let mut a = answer(Decision::Approved, AnswerVia::Message, "LGTM");
    a.responder = Some(person(BOB, "bob"));
    a.approvers = vec![person(ALICE, "alice"), person(BOB, "bob")];
    let e = embed(&a);
    assert_eq!(
        e.description.as_deref().unwrap(),
        format!("by <@{BOB}> (bob) writing `LGTM`\nApprovals: <@{ALICE}> (alice), <@{BOB}> (bob)")
    );
    assert_eq!(read(&e), Some(Outcome::Answered(a)));
}

#[test]
fn a_timeout_reads_back_with_its_partial_approvals() {
    let mut a = timed_out();
    a.approvers = vec![person(ALICE, "alice")];
    a.reminders_sent = 1;
    let e = embed(&a);
    assert_eq!(e.title.as_deref(), Some("⌛ Timed out: no decision"));
    assert_eq!(
        e.description.as_deref().unwrap(),
        format!(
            "nobody entitled to decide answered in time\nApprovals: <@{ALICE}> (alice)\n\
             ⏰ Reminders sent: 1"
        )
    );
    assert_eq!(read(&e), Some(Outcome::Answered(a)));
}

#[test]
fn a_cancellation_says_so_and_keeps_its_reason() {
    let e = outcome_embed(
        &CloseReason::Cancelled("interrupted (Ctrl-C);\nbye".into()),
        NOW,
    )
    .unwrap();
    assert_eq!(e.title.as_deref(), Some("🛑 Cancelled"));
    assert_eq!(
        e.description.as_deref(),
        Some(
            "Nobody is waiting for an answer any more (interrupted (Ctrl-C); bye); \
             answers given now are not read."
        )
    );
    assert_eq!(e.timestamp.as_deref(), Some(NOW));
    assert_eq!(
        read(&e),
        Some(Outcome::Cancelled("interrupted (Ctrl-C); bye".into()))
    );
    let bare = outcome_embed(&CloseReason::Cancelled("  ".into()), NOW).unwrap();
    assert_eq!(
        bare.description.as_deref(),
        Some("Nobody is waiting for an answer any more; answers given now are not read.")
    );
    assert_eq!(read(&bare), Some(Outcome::Cancelled(String::new())));
}

#[test]
fn discords_own_timestamp_format_reads_back_as_ours() {
    let a = answer(Decision::Approved, AnswerVia::Reaction, "✅");
    let mut e = embed(&a);
    e.timestamp = Some("2026-11-28T04:07:25.123000+00:00".into());
    assert_eq!(read(&e), Some(Outcome::Answered(a)));
}

#[test]
fn names_and_keywords_are_cleaned_so_the_record_stays_exact() {
    let mut a = answer(Decision::Approved, AnswerVia::Reply, "ship `it`\nnow");
    a.responder = Some(person(ALICE, "al) (ice, <@1>\n*x*"));
    a.approvers = vec![person(ALICE, "al) (ice, <@1>\n*x*"), person(BOB, "")];
    let e = embed(&a);
    let d = e.description.clone().unwrap();
    assert_eq!(
        d,
        format!(
            "by <@{ALICE}> (al_ _ice_ __1_ _x_) replying `ship 'it' now`\n\
             Approvals: <@{ALICE}> (al_ _ice_ __1_ _x_), <@{BOB}> (unknown)"
        )
    );
    let Some(Outcome::Answered(back)) = read(&e) else {
        panic!("{d}")
    };
    assert_eq!(back, normalized(&a));
    assert_eq!(back.keyword.as_deref(), Some("ship 'it' now"));
    assert_eq!(clean_name(&"x".repeat(60)).len(), 40);
}

#[test]
fn a_question_embed_that_looks_like_an_outcome_is_not_one() {
    // Someone asks a question titled like an outcome: without the footer it is the question.
    let e = Embed {
        title: Some("✅ Approved".into()),
        description: Some(format!("by <@{ALICE}> (alice) reacting ✅")),
        timestamp: Some(AT.into()),
        ..Embed::default()
    };
    assert_eq!(read(&e), None);
}

#[test]
fn an_outcome_embed_that_cannot_be_read_closes_the_question_with_an_unknown_outcome() {
    let mut odd = embed(&answer(Decision::Approved, AnswerVia::Reaction, "✅"));
    odd.description = Some("by somebody".into());
    assert_eq!(read(&odd), Some(Outcome::Unreadable));
    odd.title = Some("Approved".into());
    assert_eq!(read(&odd), Some(Outcome::Unreadable));
    // A readable record next to it is the one that counts.
    let good = embed(&timed_out());
    let found = read_outcome(&[odd, good], CHANNEL, QUESTION);
    assert!(matches!(found, Some(Outcome::Answered(a)) if a.decision == Decision::TimedOut));
}

#[test]
fn the_record_is_found_among_the_questions_embeds() {
    let question = Embed {
        title: Some("Deploy?".into()),
        ..Embed::default()
    };
    let outcome = embed(&answer(Decision::Disapproved, AnswerVia::Reaction, "❌"));
    let found = read_outcome(&[question.clone(), outcome], CHANNEL, QUESTION);
    assert!(matches!(found, Some(Outcome::Answered(a)) if a.decision == Decision::Disapproved));
    assert_eq!(read_outcome(&[question], CHANNEL, QUESTION), None);
}

#[test]
fn incomplete_answers_cannot_be_recorded() {
    let mut a = answer(Decision::Approved, AnswerVia::Reaction, "✅");
    a.responder = None;
    let e = outcome_embed(&CloseReason::Answered(a), NOW).unwrap_err();
    assert_eq!(
        e,
        AlertError::InvalidInput(
            "cannot record the answer: a decision needs its responder, how and the keyword".into()
        )
    );
    let mut a = answer(Decision::Approved, AnswerVia::Reaction, "✅");
    a.approvers = vec![person("alice", "alice")];
    assert!(matches!(
        outcome_embed(&CloseReason::Answered(a), NOW),
        Err(AlertError::InvalidInput(m)) if m.contains("responder id `alice`")
    ));
    let mut a = answer(Decision::Approved, AnswerVia::Reaction, "✅");
    a.answered_at = "yesterday".into();
    assert!(outcome_embed(&CloseReason::Answered(a), NOW).is_err());
    let mut a = timed_out();
    a.approvers = (0..50).map(|_| person(ALICE, "a")).collect();
    assert!(
        outcome_embed(&CloseReason::Answered(a.clone()), NOW).is_ok(),
        "50 approvers, the most a question can need, are recorded"
    );
    a.approvers.push(person(ALICE, "a"));
    assert!(matches!(
        outcome_embed(&CloseReason::Answered(a), NOW),
        Err(AlertError::InvalidInput(m)) if m.contains("more than 50 approvers")
    ));
}

#[test]
fn keys_are_validated_naming_the_problem() {
    assert_eq!(
        validate_key("deploy-42/prod:eu").unwrap(),
        "deploy-42/prod:eu"
    );
    assert!(validate_key(&"k".repeat(80)).is_ok());
    let msg = |k: &str| match validate_key(k) {
        Err(AlertError::InvalidInput(m)) => m,
        other => panic!("{k:?}: {other:?}"),
    };
    assert_eq!(msg(""), "the ask key must not be empty");
    assert_eq!(
        msg(&"k".repeat(81)),
        "the ask key is 81 characters long; at most 80 are allowed"
    );
    assert_eq!(
        msg("a b"),
        "the ask key may hold only printable ASCII without spaces or backticks; \
         ' ' at position 2 is not allowed"
    );
    assert!(msg("a`b").contains("'`' at position 2"));
    assert!(msg("é").contains("'é' at position 1"));
    assert!(msg("a\tb").contains("'\\t' at position 2"));
}

#[test]
fn the_key_marker_is_found_only_where_it_is_put_and_only_exactly() {
    let footer = |text: &str| Embed {
        footer: Some(Footer { text: text.into() }),
        ..Embed::default()
    };
    assert!(carries_key("", &[footer("alerter key: k1")], "k1"));
    assert!(carries_key("", &[footer("(1/3) · alerter key: k1")], "k1"));
    assert!(!carries_key("", &[footer("alerter key: k10")], "k1"));
    assert!(!carries_key("", &[footer("alerter key: k1")], "k"));
    assert!(
        !carries_key("", &[Embed::default(), footer("alerter key: k1")], "k1"),
        "only the first embed carries it"
    );
    assert!(carries_key("Deploy?\n-# alerter key: k1", &[], "k1"));
    assert!(carries_key(
        "Deploy?\n-# (1/2) · alerter key: k1",
        &[],
        "k1"
    ));
    assert!(!carries_key("-# alerter key: k1\nDeploy?", &[], "k1"));
    assert!(!carries_key("Deploy? alerter key: k1", &[], "k1"));
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_.]{2,32}",
        "\\PC{0,50}",
        ".{0,60}",
        Just(String::new()),
    ]
}

fn responder() -> impl Strategy<Value = Responder> {
    (100_000_000_000_000_000u64..u64::MAX, name()).prop_map(|(id, username)| Responder {
        id: id.to_string(),
        username,
    })
}

fn any_answer() -> impl Strategy<Value = Answer> {
    let decision = prop_oneof![
        Just(Decision::Approved),
        Just(Decision::Disapproved),
        Just(Decision::TimedOut)
    ];
    let via = prop_oneof![
        Just(AnswerVia::Reply),
        Just(AnswerVia::Message),
        Just(AnswerVia::Reaction)
    ];
    let keyword = prop_oneof!["\\PC{1,120}", ".{1,30}", Just("✅".to_string())];
    (
        decision,
        responder(),
        via,
        keyword,
        0u64..4_000_000_000_000,
        prop::collection::vec(responder(), 0..6),
        0u32..1000,
        any::<bool>(),
    )
        .prop_map(
            |(decision, r, via, k, at, approvers, reminders_sent, escalated)| {
                let decided = decision != Decision::TimedOut;
                Answer {
                    approved: decision == Decision::Approved,
                    decision,
                    responder: decided.then_some(r),
                    via: decided.then_some(via),
                    keyword: decided.then_some(k),
                    answered_at: snowflake::rfc3339(at),
                    approvers,
                    channel_id: CHANNEL.into(),
                    question_message_id: QUESTION.into(),
                    reminders_sent,
                    escalated,
                }
            },
        )
}

proptest! {
    /// Whatever the answer, its record reads back as the answer with names and keyword
    /// cleaned, and recording that again gives the same embed.
    #[test]
    fn every_answer_round_trips_through_its_record(a in any_answer()) {
        let e = embed(&a);
        let back = read(&e);
        prop_assert_eq!(&back, &Some(Outcome::Answered(normalized(&a))));
        prop_assert_eq!(embed(&normalized(&a)), e.clone());
        let d = e.description.unwrap();
        prop_assert!(render::len(&d) <= render::limits::DESCRIPTION, "{}", d);
    }

    /// Whatever the reason, a cancellation reads back as a cancellation.
    #[test]
    fn every_cancellation_reads_back_as_one(why in ".{0,300}") {
        let e = outcome_embed(&CloseReason::Cancelled(why), NOW).unwrap();
        prop_assert!(matches!(read(&e), Some(Outcome::Cancelled(_))));
    }
}

#[test]
fn part_markers_read_where_the_renderer_puts_them() {
    let footer = |text: &str| Embed {
        footer: Some(Footer { text: text.into() }),
        ..Embed::default()
    };
    let key = format!("(1/3) · {KEY_PREFIX}k-1");
    assert_eq!(part_marker("", &[footer(&key)]), Some((1, 3)));
    assert_eq!(parts_of("", &[footer(&key)]), 3);
    // Several embeds: the first carries the key, the last the part marker.
    let both = [footer(&format!("{KEY_PREFIX}k-1")), footer("(1/2)")];
    assert_eq!(parts_of("", &both), 2);
    assert_eq!(part_marker("log line\n-# (2/3)", &[]), Some((2, 3)));
    assert_eq!(
        parts_of(&format!("Deploy?\n-# (1/4) · {KEY_PREFIX}k"), &[]),
        4
    );
    for not_one in ["(0/3)", "(4/3)", "(x/3)", "(1/)", "1/3", "(1/3"] {
        assert_eq!(part_marker("", &[footer(not_one)]), None, "{not_one}");
    }
    assert_eq!(
        parts_of("no marker", &[footer(&format!("{KEY_PREFIX}k"))]),
        1
    );
    assert_eq!(parts_of("(1/3) is not on the last line\nDeploy?", &[]), 1);
}

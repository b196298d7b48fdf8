//! Keyword and emoji matching, validation of the rules, entitlement and the instructions line.

use super::*;
use crate::bindings::AskSettings;

const BOT: u64 = 900_000_000_000_000_001;

fn params(ask: Option<AskSettings>) -> Params {
    Params {
        ask,
        ..Params::default()
    }
}

fn settings() -> AskSettings {
    AskSettings::default()
}

#[test]
fn defaults_match_exactly_and_case_sensitively() {
    let r = Rules::from_params(&params(None), BOT).unwrap();
    assert_eq!(r.match_text("LGTM"), Some(Verdict::Approve("LGTM".into())));
    assert_eq!(r.match_text("no"), Some(Verdict::Disapprove("no".into())));
    assert_eq!(r.match_text("lgtm"), None);
    assert_eq!(r.match_text(" LGTM"), None);
    assert_eq!(r.match_text("LGTM!"), None);
    assert_eq!(r.match_text("yes please"), None);
}

#[test]
fn ignore_case_trims_and_folds() {
    let mut s = settings();
    s.ignore_case = true;
    let r = Rules::from_params(&params(Some(s)), BOT).unwrap();
    assert_eq!(
        r.match_text("  lgtm \n"),
        Some(Verdict::Approve("LGTM".into()))
    );
    assert_eq!(
        r.match_text("REJECT"),
        Some(Verdict::Disapprove("reject".into()))
    );
}

#[test]
fn bot_mentions_before_the_keyword_are_ignored() {
    let r = Rules::from_params(&params(None), BOT).unwrap();
    assert_eq!(
        r.match_text(&format!("<@{BOT}> LGTM")),
        Some(Verdict::Approve("LGTM".into()))
    );
    assert_eq!(
        r.match_text(&format!("<@!{BOT}>yes")),
        Some(Verdict::Approve("yes".into()))
    );
    assert_eq!(r.match_text("<@123456789012345678> LGTM"), None);
}

#[test]
fn custom_multi_word_and_emoji_keywords() {
    let mut p = params(None);
    p.approve_keywords = Some(vec!["ship it".into(), "🚀".into()]);
    p.disapprove_keywords = Some(vec!["hold the line".into()]);
    let r = Rules::from_params(&p, BOT).unwrap();
    assert_eq!(
        r.match_text("ship it"),
        Some(Verdict::Approve("ship it".into()))
    );
    assert_eq!(r.match_text("🚀"), Some(Verdict::Approve("🚀".into())));
    assert_eq!(
        r.match_text("hold the line"),
        Some(Verdict::Disapprove("hold the line".into()))
    );
    assert_eq!(
        r.match_text("LGTM"),
        None,
        "custom keywords replace the defaults"
    );
    assert_eq!(r.match_emoji("🚀"), Some(Verdict::Approve("🚀".into())));
    assert_eq!(
        r.reaction_emoji(),
        ["✅", "❌", "🚀"],
        "the two the bot adds first, then each emoji keyword once; no word keywords"
    );
    assert_eq!(r.match_emoji("✅"), Some(Verdict::Approve("✅".into())));
    assert_eq!(r.match_emoji("❌"), Some(Verdict::Disapprove("❌".into())));
    assert_eq!(r.match_emoji("👀"), None);
    assert_eq!(
        r.match_emoji("ok:123456789012345678"),
        None,
        "a custom emoji named ok"
    );
}

#[test]
fn invalid_keywords_and_ids_are_rejected_up_front() {
    let mut p = params(None);
    p.approve_keywords = Some(vec!["ok".into()]);
    p.disapprove_keywords = Some(vec!["ok".into()]);
    assert!(
        matches!(Rules::from_params(&p, BOT), Err(AlertError::InvalidInput(m)) if m.contains("both"))
    );
    let mut p = params(None);
    p.approve_keywords = Some(vec![]);
    assert!(Rules::from_params(&p, BOT).is_err());
    let mut s = settings();
    s.approvers = vec!["alice".into()];
    assert!(
        matches!(Rules::from_params(&params(Some(s)), BOT), Err(AlertError::InvalidInput(m)) if m.contains("alice"))
    );
    let mut s = settings();
    s.required_approvals = Some(0);
    assert!(Rules::from_params(&params(Some(s)), BOT).is_err());
    let mut s = settings();
    s.approvers = vec!["111111111111111111".into()];
    s.required_approvals = Some(2);
    let err = Rules::from_params(&params(Some(s)), BOT);
    assert!(
        matches!(err, Err(AlertError::InvalidInput(m)) if m.contains("only 1 distinct approvers"))
    );
}

#[test]
fn repeated_approvers_count_once_so_a_quorum_beyond_the_distinct_ones_is_refused() {
    const A: &str = "333333333333333333";
    const B: &str = "444444444444444444";
    let rules = |approvers: &[&str], roles: &[&str], required: u32| {
        let s = AskSettings {
            approvers: approvers.iter().map(ToString::to_string).collect(),
            approver_roles: roles.iter().map(ToString::to_string).collect(),
            required_approvals: Some(required),
            ..settings()
        };
        Rules::from_params(&params(Some(s)), BOT)
    };
    // The gate: A twice, two approvals. Only one person can ever approve it.
    for twice in [
        [A, A],
        [A, " 333333333333333333 "],
        [A, "0333333333333333333"],
    ] {
        assert_eq!(
            rules(&twice, &[], 2),
            Err(AlertError::InvalidInput(
                "2 approvals are required but only 1 distinct approvers are listed".into()
            )),
            "{twice:?}"
        );
    }
    let r = rules(&[A, B, A, B], &[], 2).unwrap();
    assert_eq!(
        r.approvers,
        [333_333_333_333_333_333, 444_444_444_444_444_444]
    );
    let line = r.instructions(1_790_000_000_000);
    assert!(
        line.contains(&format!(
            "Only <@{A}>, <@{B}> can decide. 2 approvals needed."
        )),
        "{line}"
    );
    // Roles too, compared as numbers and kept as Discord writes them.
    let r = rules(&[A, A], &["777777777777777777", "0777777777777777777"], 2).unwrap();
    assert_eq!(r.approvers, [333_333_333_333_333_333]);
    assert_eq!(r.approver_roles, ["777777777777777777"]);
    assert!(r.entitled(
        555_555_555_555_555_555,
        false,
        Some(&["777777777777777777".into()])
    ));
    let line = r.instructions(1_790_000_000_000);
    assert!(
        line.contains(&format!("Only <@{A}>, <@&777777777777777777> can decide.")),
        "{line}"
    );
}

#[test]
fn at_most_fifty_approvals_can_be_required() {
    let with = |n: u32| {
        let s = AskSettings {
            required_approvals: Some(n),
            ..settings()
        };
        Rules::from_params(&params(Some(s)), BOT)
    };
    assert_eq!(with(50).unwrap().required_approvals, 50);
    let err = with(51).unwrap_err();
    assert_eq!(
        err,
        AlertError::InvalidInput("required approvals must be at most 50".into())
    );
}

#[test]
fn entitlement_excludes_bots_and_honours_lists_and_roles() {
    let open = Rules::from_params(&params(None), BOT).unwrap();
    assert!(open.entitled(1, false, None));
    assert!(!open.entitled(1, true, None), "other bots never count");
    assert!(
        !open.entitled(BOT, false, None),
        "the bot itself never counts"
    );
    let mut s = settings();
    s.approvers = vec!["111111111111111111".into()];
    s.approver_roles = vec!["222222222222222222".into()];
    let r = Rules::from_params(&params(Some(s)), BOT).unwrap();
    assert!(r.entitled(111_111_111_111_111_111, false, None));
    assert!(!r.entitled(333_333_333_333_333_333, false, None));
    assert!(r.entitled(
        333_333_333_333_333_333,
        false,
        Some(&["222222222222222222".into()])
    ));
    assert!(!r.entitled(
        333_333_333_333_333_333,
        false,
        Some(&["444444444444444444".into()])
    ));
}

#[test]
fn instructions_name_keywords_and_timeout() {
    let r = Rules::from_params(&params(None), BOT).unwrap();
    let text = r.instructions(1_790_000_300_999);
    assert!(text.contains("`LGTM`") && text.contains("`reject`"));
    assert!(text.contains("✅"));
    assert!(
        text.contains(" Open until <t:1790000300:f> (<t:1790000300:R>)."),
        "the deadline in Discord's timestamp markup, whole seconds: {text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    assert_eq!(human_duration(1_500), "1.5 s");
    assert_eq!(human_duration(7_200_000), "2 h");
}

#[test]
fn instructions_say_how_many_approvals_only_when_more_than_one() {
    let with = |n: Option<u32>| {
        let s = AskSettings {
            required_approvals: n,
            approvers: vec!["111111111111111111".into(), "222222222222222222".into()],
            ..settings()
        };
        Rules::from_params(&params(Some(s)), BOT)
            .unwrap()
            .instructions(1_790_000_060_000)
    };
    assert!(!with(None).contains("approvals needed"), "{}", with(None));
    assert!(!with(Some(1)).contains("approvals needed"));
    assert!(
        with(Some(2)).ends_with(" 2 approvals needed."),
        "{}",
        with(Some(2))
    );
    assert!(with(None).contains("Only <@111111111111111111>, <@222222222222222222> can decide."));
}

#[test]
fn durations_read_in_the_largest_whole_unit() {
    for (ms, text) in [
        (3_600_000, "1 h"),
        (7_200_000, "2 h"),
        (5_400_000, "90 min"),
        (3_660_000, "61 min"),
        (120_000, "2 min"),
        (60_000, "60 s"),
        (90_000, "90 s"),
        (150_000, "150 s"),
        (1_500, "1.5 s"),
    ] {
        assert_eq!(human_duration(ms), text, "{ms} ms");
    }
}

#[test]
fn only_one_emoji_keywords_become_reaction_emoji() {
    let mut p = params(None);
    p.approve_keywords = Some(vec![
        "ship it".into(),
        "🚀".into(),
        "👍🏽".into(),
        "→go".into(),
        "a🎉".into(),
    ]);
    p.disapprove_keywords = Some(vec!["✋".into(), "✔️".into()]);
    let r = Rules::from_params(&p, BOT).unwrap();
    assert_eq!(r.reaction_emoji(), ["✅", "❌", "🚀", "👍🏽", "✋", "✔️"]);
}

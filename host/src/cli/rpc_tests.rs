//! Unit tests of `alerter call`'s request parsing and error reporting (`rpc.rs`).

use std::time::Duration;

use super::*;

fn request(text: &str) -> Request {
    serde_json::from_str(text).expect("a valid request")
}

#[test]
fn metadata_keeps_json_types_and_order() {
    use MetadataValue as V;
    let r = request(
        r#"{"verb":"post","message":{"title":"t","metadata":[["version","1.10"],["epoch",12],["acc",0.93],["ok",true],["tags",["a"]],["none",null]]}}"#,
    );
    let Ok(Input::Post(Message::Structured(m))) = Input::of(&r) else {
        panic!("a structured post");
    };
    let keys: Vec<&str> = m.metadata.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["version", "epoch", "acc", "ok", "tags", "none"]);
    assert!(matches!(&m.metadata[0].value, V::Text(t) if t == "1.10"));
    assert!(matches!(m.metadata[1].value, V::Integer(12)));
    assert!(matches!(m.metadata[2].value, V::Float(f) if f == 0.93));
    assert!(matches!(m.metadata[3].value, V::Boolean(true)));
    assert!(matches!(&m.metadata[4].value, V::Json(j) if j == r#"["a"]"#));
    assert!(matches!(&m.metadata[5].value, V::Json(j) if j == "null"));
}

#[test]
fn fields_in_the_wrong_request_or_misspelt_are_refused() {
    let typo = serde_json::from_str::<Request>(r#"{"verb":"post","mesage":"hi"}"#);
    assert!(typo
        .err()
        .unwrap()
        .to_string()
        .contains("unknown field `mesage`"));
    let bad_verb = serde_json::from_str::<Request>(r#"{"verb":"delete"}"#);
    assert!(bad_verb.is_err());
    let r = request(r#"{"verb":"check","message":"hi"}"#);
    let e = Input::of(&r).err().expect("refused");
    assert_eq!(
        e.error["message"],
        "`message` does not belong to a `check` request"
    );
    let r = request(r#"{"verb":"post","message":"hi","params":{"ask":{}}}"#);
    assert!(Input::of(&r).is_err());
    let r = request(r#"{"verb":"failure","context":{"pipeline_name":"p","run_name":"r"}}"#);
    let e = Input::of(&r).err().expect("refused");
    assert_eq!(e.error["kind"], "invalid-input");
    assert!(e.error["message"].as_str().unwrap().contains("`exception`"));
    let r = request(r#"{"verb":"post"}"#);
    assert!(Input::of(&r).is_err());
    // Params a verb has no use for are refused too, by name.
    for (verb, field) in [
        ("post", r#""approve_keywords":["ok"]"#),
        ("ask", r#""idempotency_key":"k""#),
        ("check", r#""severity":"error""#),
    ] {
        let msg = if verb == "check" {
            ""
        } else {
            r#","message":"m""#
        };
        let r = request(&format!(r#"{{"verb":"{verb}"{msg},"params":{{{field}}}}}"#));
        let e = Input::of(&r).err().expect("refused");
        let name = field.split('"').nth(1).unwrap();
        assert_eq!(
            e.error["message"],
            format!("`params.{name}` does not belong to a `{verb}` request")
        );
    }
    let r = request(
        r#"{"verb":"success","context":{"pipeline_name":"p","run_name":"r"},"params":{"channel_id":"1","thread_name":"t"}}"#,
    );
    assert!(Input::of(&r).is_ok());
}

#[test]
fn a_misspelt_message_field_is_named_and_config_values_stay_out_of_errors() {
    let r = request(r#"{"verb":"post","message":{"titel":"x"}}"#);
    let e = Input::of(&r).err().expect("refused");
    let m = e.error["message"].as_str().unwrap();
    assert!(m.starts_with("message: unknown field `titel`"), "{m}");
    let r = request(r#"{"verb":"post","message":42}"#);
    assert!(Input::of(&r).is_err());
    // A token in a field of the wrong type, which serde would quote in its error.
    for config in [
        r#"{"allowed_hosts":"MTE.secret.token"}"#,
        r#"{"discord_token":"MTE.secret.token","max_attachment_bytes":"MTE.secret.token"}"#,
    ] {
        let text = format!(r#"{{"verb":"post","message":"m","config":{config}}}"#);
        let raw = serde_json::from_str::<Request>(&text)
            .err()
            .unwrap()
            .to_string();
        assert!(raw.contains("MTE.secret.token"), "serde quotes it: {raw}");
        let e = parse_request(&text).err().expect("refused");
        let m = e.error["message"].as_str().unwrap();
        assert!(
            m.contains("[redacted]") && !m.contains("MTE.secret.token"),
            "{m}"
        );
    }
}

#[test]
fn ask_seconds_become_validated_milliseconds() {
    let r = request(
        r#"{"verb":"ask","message":"ok?","params":{"ask":{"timeout_seconds":1.5,"poll_interval_seconds":0.25}}}"#,
    );
    let p = params(&r).ok().expect("valid params");
    let ask = p.ask.expect("ask settings");
    assert_eq!(ask.timeout_ms, Some(1500));
    assert_eq!(ask.poll_interval_ms, Some(250));
    let r = request(r#"{"verb":"ask","message":"ok?","params":{"ask":{"timeout_seconds":-1}}}"#);
    let e = params(&r).expect_err("refused");
    assert!(e.error["message"]
        .as_str()
        .unwrap()
        .starts_with("params.ask.timeout_seconds must be"));
    // An ask without settings still asks with the defaults.
    let r = request(r#"{"verb":"ask","message":"ok?"}"#);
    assert!(params(&r).ok().expect("valid").ask.is_some());
}

#[test]
fn errors_carry_the_fields_of_their_wit_case() {
    use alerter_host::types::{ApiError, RateLimit};
    let e = CallFailure::from_call(&CallError::Alert(AlertError::Forbidden(ApiError {
        status: 403,
        code: Some(50013),
        message: "Missing Permissions".into(),
    })));
    assert_eq!(e.exit, Kind::Delivery);
    assert_eq!(e.error["kind"], "forbidden");
    assert_eq!(e.error["status"], 403);
    assert_eq!(e.error["code"], 50013);
    assert_eq!(e.error["detail"], "Missing Permissions");
    let e = CallFailure::from_call(&CallError::Alert(AlertError::RateLimited(RateLimit {
        retry_after_ms: 1500,
        global: true,
        message: "slow down".into(),
    })));
    assert_eq!(e.error["kind"], "rate-limited");
    assert_eq!(e.error["retry_after_ms"], 1500);
    assert_eq!(e.error["global"], true);
    let e = CallFailure::from_call(&CallError::Alert(AlertError::InvalidInput("x".into())));
    assert_eq!(
        (e.exit, &e.error["kind"]),
        (Kind::Usage, &json!("invalid-input"))
    );
    let e = CallFailure::from_call(&CallError::Cancelled {
        reason: "interrupted".into(),
        question: None,
        marked: false,
    });
    assert_eq!(e.exit, Kind::Stopped(Stop::Interrupted));
    assert_eq!(e.error["kind"], "cancelled");
    let e = CallFailure::from_call(&CallError::Deadline(Duration::from_secs(2)));
    assert_eq!(e.error["deadline_ms"], 2000);
}

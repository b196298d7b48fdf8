"""The Python API against the emulator: what arrives in the channel, the typed results, and
one exception class per failure kind with its fields."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

import alerter_discord as ad
from alerter_discord import AlerterMessage, Payload


def embed(message):
    assert message["embeds"], f"no embed in {message}"
    return message["embeds"][0]


def test_post_text_and_structured(emulator):
    a = emulator.alerter()
    r = a.post("plain words")
    assert isinstance(r, ad.Receipt) and r.channel_id == emulator.channel_id
    assert len(r.message_ids) == 1
    r2 = a.post(
        AlerterMessage(
            title="Training finished",
            body="all epochs done",
            metadata={"version": "1.10", "epoch": 12, "accuracy": 0.93, "tags": ["a", "b"]},
        ),
        severity="success",
        payload=Payload(pipeline_name="training", step_name="trainer"),
    )
    stored = emulator.messages()
    assert [m["id"] for m in stored] == r.message_ids + r2.message_ids
    assert stored[0]["content"] == "plain words"
    e = embed(stored[1])
    assert e["title"] == "Training finished"
    fields = [(f["name"], f["value"]) for f in e["fields"]]
    # The payload, then the metadata in the order given; "1.10" stays text, not 1.1.
    assert fields == [("Pipeline", "training"), ("Step", "trainer"), ("version", "1.10"),
                      ("epoch", "12"), ("accuracy", "0.93"), ("tags", '["a","b"]')]


def test_values_json_cannot_carry_and_int_ids_still_work(emulator):
    thread = emulator.control("POST", f"/channels/{emulator.channel_id}/threads", {"name": "t"})
    r = emulator.alerter().post(
        AlerterMessage(title="Diverged", metadata={"loss": float("nan"), "best": float("inf")}),
        thread_id=int(thread["id"]),
    )
    assert r.thread_id == thread["id"], r
    (m,) = emulator.messages(thread["id"])
    fields = {f["name"]: f["value"] for f in embed(m)["fields"]}
    assert fields == {"loss": "nan", "best": "inf"}


def test_bad_attachments_leave_no_files_behind(emulator, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(ad.InvalidInputError, match="two attachments are named a.txt"):
        emulator.alerter().post("x", attachments=[("a.txt", b"1"), ("a.txt", b"2")])
    with pytest.raises(ad.InvalidInputError, match="not a file name"):
        emulator.alerter().post("x", attachments=[("ok.txt", b"1"), ("../evil", b"2")])
    assert list(scratch.iterdir()) == [], "no temporary files are left"
    assert emulator.requests() == []


def test_a_long_body_arrives_whole(emulator):
    log = "".join(f"line {i}: loss={i / 7:.5f}\n" for i in range(6000))  # ~150 KB
    a = emulator.alerter()
    a.post(AlerterMessage(title="Nightly ETL failed", body=log), severity="error")
    files = [att for m in emulator.messages() for att in m.get("attachments", [])]
    assert files, "a body this long is sent as a file"
    with urllib.request.urlopen(files[0]["url"], timeout=10) as f:
        assert f.read().decode() == log


def test_attachments_from_bytes_and_paths(emulator, tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,loss\n1,0.5\n")
    png = bytes.fromhex("89504e470d0a1a0a") + b"\0" * 32
    emulator.alerter().post(
        AlerterMessage(title="Evaluation", images=["attachment://plot.png"]),
        attachments=[("plot.png", png), csv],
    )
    (m,) = emulator.messages()
    # As on Discord, a file shown in the embed moves into it; the other stays an attachment.
    assert [att["filename"] for att in m["attachments"]] == ["metrics.csv"]
    url = embed(m)["image"]["url"]
    assert url.endswith("/plot.png")
    with urllib.request.urlopen(url, timeout=10) as f:
        assert f.read() == png


def test_ask_approved_by_a_reply(emulator):
    alice = emulator.user("alice")
    reviewer = emulator.reviewer(lambda e, q: e.say(alice, "LGTM", reply_to=q["id"]))
    answer = emulator.alerter().ask("Deploy to prod?", timeout=30, poll_interval=0.2)
    reviewer.check()
    assert answer.approved and bool(answer) is True
    assert answer.decision == "approved" and answer.via == "reply" and answer.keyword == "LGTM"
    assert answer.responder == ad.Responder(alice, "alice")
    assert answer.approvers == [ad.Responder(alice, "alice")]
    assert isinstance(answer.answered_at, dt.datetime) and answer.answered_at.tzinfo is not None
    assert answer.channel_id == emulator.channel_id and answer.question_message_id
    assert "approved by alice" in answer.describe()


def test_ask_declined_by_reaction_and_approvers_are_enforced(emulator):
    bob, carol = emulator.user("bob"), emulator.user("carol")

    def act(e, q):
        e.react(q["id"], "✅", bob)  # bob may not decide: ignored
        e.react(q["id"], "❌", carol)

    reviewer = emulator.reviewer(act)
    answer = emulator.alerter().ask(
        AlerterMessage(title="Promote model v7?"), timeout=30, poll_interval=0.2,
        approvers=[carol],
    )
    reviewer.check()
    assert not answer and answer.decision == "disapproved" and answer.via == "reaction"
    assert answer.responder is not None and answer.responder.username == "carol"


def test_ask_custom_keywords(emulator):
    dan = emulator.user("dan")
    reviewer = emulator.reviewer(lambda e, q: e.say(dan, "ship it", reply_to=q["id"]))
    answer = emulator.alerter().ask(
        "Release?", timeout=30, poll_interval=0.2, approve_keywords=["ship it"],
        disapprove_keywords=["hold"],
    )
    reviewer.check()
    assert answer.approved and answer.keyword == "ship it"


def test_ask_timeout_is_not_an_error_and_not_a_no(emulator):
    answer = emulator.alerter().ask("Anyone?", timeout=1, poll_interval=0.2)
    assert answer.decision == "timed-out" and answer.timed_out and not answer.approved
    assert answer.responder is None


def test_hooks_deliver_the_whole_traceback(emulator):
    a = emulator.alerter()
    try:
        def deep(n):
            if n == 0:
                raise ValueError("loss is NaN")
            deep(n - 1)
        deep(40)
    except ValueError as e:
        receipt = a.on_failure("training", "run-42", e, step_name="trainer",
                               parameters={"lr": 0.01})
    text = json.dumps(emulator.messages())
    assert receipt.message_ids
    assert "Pipeline Failure Alert" in text and "ValueError" in text and "loss is NaN" in text
    # The innermost frame and the outermost both arrived (in the message or its file).
    files = [att for m in emulator.messages() for att in m.get("attachments", [])]
    whole = text + "".join(
        urllib.request.urlopen(f["url"], timeout=10).read().decode()
        for f in files
    )
    assert "in deep" in whole and "test_hooks_deliver_the_whole_traceback" in whole
    ok = a.on_success("training", "run-43")
    assert ok.message_ids and "Pipeline Success Notification" in json.dumps(emulator.messages())


def test_check(emulator):
    report = emulator.alerter().check()
    assert report.ok and report.bot_id == emulator.bot_id
    assert report.channel is not None and report.channel.id == emulator.channel_id
    hidden = emulator.control("POST", "/channels", {"name": "hidden"})["id"]
    emulator.control("POST", f"/channels/{hidden}/hide")
    bad = emulator.alerter().check(channel_id=hidden)
    assert not bad.ok and "50001" in (bad.channel_problem or "")


def test_from_config_and_registered_share_the_cli_rules(emulator, home, tmp_path):
    cfg = tmp_path / "alerter.toml"
    cfg.write_text(
        f'discord_token = "{{{{discord_secret.discord_token}}}}"\n'
        f'default_discord_channel_id = "{emulator.channel_id}"\n'
        f'api_base_url = "{emulator.base_url}"\n'
    )
    with pytest.raises(ad.InvalidConfigError, match="discord_secret"):
        ad.Alerter.from_config(cfg).post("x")
    binary = str(ad.find_binary())
    subprocess.run([binary, "secret", "create", "discord_secret", "--discord_token", "-"],
                   input=emulator.token, text=True, check=True, capture_output=True)
    assert ad.Alerter.from_config(cfg).post("from a file").message_ids
    subprocess.run([binary, "register", "ops", "--flavor=discord",
                    "--discord_token={{discord_secret.discord_token}}",
                    f"--default_discord_channel_id={emulator.channel_id}",
                    f"--api_base_url={emulator.base_url}"], check=True, capture_output=True)
    assert ad.Alerter.registered("ops").post("registered").message_ids
    assert ad.Alerter.registered().post("the only one").message_ids
    # A secret reference given inline resolves from the same store.
    inline = ad.Alerter(discord_token="{{discord_secret.discord_token}}",
                        default_discord_channel_id=emulator.channel_id,
                        api_base_url=emulator.base_url)
    assert inline.post("inline reference").message_ids


# ---- one test per exception class -------------------------------------------------------------


def test_invalid_config(emulator):
    a = ad.Alerter(discord_token=emulator.token, api_base_url=emulator.base_url)
    with pytest.raises(ad.InvalidConfigError, match="default_discord_channel_id") as e:
        a.post("no channel anywhere")
    assert e.value.kind == "invalid-config" and isinstance(e.value, ad.AlertError)


def test_invalid_input(emulator):
    with pytest.raises(ad.InvalidInputError, match="general"):
        emulator.alerter().post("x", channel_id="general")
    with pytest.raises(ad.InvalidInputError):
        emulator.alerter().post(AlerterMessage())
    with pytest.raises(ad.InvalidInputError, match="cannot read"):
        emulator.alerter().post("x", attachments=["/nonexistent/file.csv"])
    with pytest.raises(ad.InvalidInputError, match="NaN or infinite"):
        emulator.alerter().ask("x", timeout=float("inf"))
    assert emulator.requests() == [], "nothing may be sent for bad input"


def test_unauthorized(emulator, caplog):
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GxYzAb.0123456789abcdefghijklmnopqrstuvwxyzABCD"
    with caplog.at_level("INFO", logger="alerter_discord"):
        with pytest.raises(ad.UnauthorizedError) as e:
            emulator.alerter(discord_token=wrong, verbose=True).post("x")
    assert e.value.status == 401 and "Developer Portal" in e.value.message
    seen = str(e.value) + repr(e.value.fields) + caplog.text + repr(e.value)
    assert caplog.text and wrong not in seen


def test_forbidden(emulator):
    hidden = emulator.control("POST", "/channels", {"name": "hidden"})["id"]
    emulator.control("POST", f"/channels/{hidden}/hide")
    with pytest.raises(ad.ForbiddenError) as e:
        emulator.alerter().post("x", channel_id=hidden)
    assert (e.value.status, e.value.code) == (403, 50001)
    assert "View Channel" in e.value.message


def test_not_found(emulator):
    with pytest.raises(ad.NotFoundError) as e:
        emulator.alerter().post("x", channel_id="123456789012345678")
    assert (e.value.status, e.value.code) == (404, 10003)


def test_rate_limited(emulator):
    emulator.fault(kind={"type": "rate_limited", "retry_after": 30.0, "global": False}, times=5)
    with pytest.raises(ad.RateLimitedError) as e:
        emulator.alerter(delivery_deadline_seconds=1).post("x")
    assert e.value.status == 429 and e.value.retry_after == pytest.approx(30.0, abs=1.0)
    assert e.value.is_global is False


def test_transport(emulator):
    import socket

    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(ad.TransportError, match="could not reach Discord"):
            emulator.alerter(api_base_url=f"http://127.0.0.1:{port}/api/v10",
                             delivery_deadline_seconds=2).post("x")


def test_deadline(emulator, hostile_component):
    # The hostile component waits on a response the emulator holds back for 30 s; the call's
    # wall-clock deadline (the 1 s delivery deadline plus the host's 10 s slack) stops it.
    emulator.fault(kind={"type": "delay", "ms": 30000}, path_contains="/users/@me")
    a = emulator.alerter(component=hostile_component, delivery_deadline_seconds=1)
    started = time.monotonic()
    with pytest.raises(ad.DeadlineError) as e:
        a.post(f"egress {emulator.base_url}/users/@me")
    assert e.value.deadline == 11.0 and time.monotonic() - started < 20
    # The hostile request carried no User-Agent or token: the emulator flags it, rightly.
    emulator.expected_violations = lambda v: "/users/@me" in v


def test_api_error(emulator):
    emulator.fault(kind={"type": "status", "status": 400, "code": 50035}, times=1)
    with pytest.raises(ad.ApiError) as e:
        emulator.alerter().post("x")
    assert e.value.status == 400 and e.value.code == 50035


def test_incomplete(emulator):
    # Several parts; the second fails for good: the first exists, and the error says so.
    body = "\n".join(f"{i:05d} " + "x" * 90 for i in range(60))
    # Faults apply in order to matching requests: the first create passes (a 0 ms delay), the
    # next ones are refused.
    emulator.fault(kind={"type": "delay", "ms": 0}, method="POST", path_contains="/messages")
    emulator.fault(kind={"type": "status", "status": 403, "code": 50013}, method="POST",
                   path_contains="/messages", times=10)
    with pytest.raises(ad.IncompleteError) as e:
        emulator.alerter(long_body_max_parts=0).post(AlerterMessage(title="log", body=body))
    err = e.value
    assert err.parts >= 2 and len(err.message_ids) == 1
    assert [m["id"] for m in emulator.messages()] == err.message_ids
    assert "403" in err.reason


def test_sandbox_memory_cap_and_cpu_budget(emulator, hostile_component):
    a = emulator.alerter(component=hostile_component)
    with pytest.raises(ad.SandboxError, match="stopped"):
        a.post("alloc 512")
    with pytest.raises(ad.SandboxError, match="CPU"):
        a.post("loop")


def test_sandbox_egress_allow_list(emulator, hostile_component, caplog):
    a = emulator.alerter(component=hostile_component)
    # Allowed: the API base's origin.
    allowed = f"{emulator.origin}/_emulator/state"
    assert a.post(f"egress {allowed}").channel_id == f"reached {allowed}: 200"
    # Denied: another port on the same machine, and another host; each denial is logged.
    for url in ("http://127.0.0.1:9/x", "http://example.com/x"):
        with caplog.at_level("WARNING", logger="alerter_discord"):
            with pytest.raises(ad.TransportError, match="Denied"):
                a.post(f"egress {url}")
        assert any(f"egress denied: GET {url}" in rec.getMessage() for rec in caplog.records), \
            caplog.text
    # The token a hostile component prints never reaches Python's logs, even verbose ones.
    caplog.clear()
    with caplog.at_level("INFO", logger="alerter_discord"):
        emulator.alerter(component=hostile_component, verbose=True).post("print-token")
    assert "guest:" in caplog.text and "[redacted]" in caplog.text, caplog.text
    assert emulator.token not in caplog.text


def test_cancelled_when_the_binary_is_terminated(emulator, monkeypatch):
    """SIGTERM to the running `alerter call` (a CI runner stopping it) marks the question and
    raises CancelledError."""
    import alerter_discord._process as process

    children = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        child = real_popen(*args, **kwargs)
        children.append(child)
        return child

    monkeypatch.setattr(process.subprocess, "Popen", recording_popen)
    reviewer = emulator.reviewer(lambda e, q: children[-1].send_signal(signal.SIGTERM))
    with pytest.raises(ad.CancelledError) as e:
        emulator.alerter().ask("Gate?", timeout=60, poll_interval=0.2)
    reviewer.check()
    assert e.value.reason == "terminated" and e.value.marked and e.value.posted
    assert "cancelled" in json.dumps(emulator.messages()).lower()


def test_ctrl_c_marks_the_question_and_raises_keyboard_interrupt(emulator, tmp_path):
    script = tmp_path / "gate.py"
    script.write_text(textwrap.dedent(f"""
        import alerter_discord as ad
        a = ad.Alerter(discord_token={emulator.token!r},
                       default_discord_channel_id={emulator.channel_id!r},
                       api_base_url={emulator.base_url!r})
        try:
            a.ask("Ctrl-C me", timeout=60, poll_interval=0.2)
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
    """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    emulator.wait_for_question()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert "KeyboardInterrupt" in out
    assert "interrupted" in json.dumps(emulator.messages()).lower()


def test_a_killed_python_leaves_no_open_gate(emulator, tmp_path):
    script = tmp_path / "gate.py"
    script.write_text(
        "import alerter_discord as ad\n"
        f"ad.Alerter(discord_token={emulator.token!r}, "
        f"default_discord_channel_id={emulator.channel_id!r}, "
        f"api_base_url={emulator.base_url!r}).ask('Kill me', timeout=60, poll_interval=0.2)\n"
    )
    p = subprocess.Popen([sys.executable, str(script)])
    emulator.wait_for_question()
    p.kill()
    p.wait()
    deadline = time.monotonic() + 20
    while "cancelled" not in json.dumps(emulator.messages()).lower():
        assert time.monotonic() < deadline, "the question was never marked as cancelled"
        time.sleep(0.1)


def test_a_binary_that_exits_at_once_is_an_alert_error(emulator, tmp_path):
    fake = tmp_path / "alerter"
    fake.write_text("#!/bin/sh\necho 'error: unrecognized subcommand call' >&2\nexit 2\n")
    fake.chmod(0o755)
    with pytest.raises(ad.AlertError, match="unrecognized subcommand"):
        emulator.alerter(binary=fake).post("x")


def test_the_wire_error_maps_every_kind_to_its_class():
    kinds = {
        "invalid-config": ad.InvalidConfigError, "invalid-input": ad.InvalidInputError,
        "unauthorized": ad.UnauthorizedError, "forbidden": ad.ForbiddenError,
        "not-found": ad.NotFoundError, "rate-limited": ad.RateLimitedError,
        "transport": ad.TransportError, "api": ad.ApiError, "incomplete": ad.IncompleteError,
        "sandbox": ad.SandboxError, "deadline": ad.DeadlineError,
        "cancelled": ad.CancelledError,
    }
    from alerter_discord.errors import from_wire

    for kind, cls in kinds.items():
        e = from_wire({"kind": kind, "message": "m", "status": 1})
        assert type(e) is cls and e.kind == kind and e.status == 1
    assert type(from_wire({"kind": "new-kind", "message": "m"})) is ad.AlertError


def test_a_cancel_before_anything_was_posted_says_so():
    """`alerter call` answers a caller already gone with `question: null`: nothing posted."""
    from alerter_discord.errors import from_wire

    e = from_wire({"kind": "cancelled", "message": "the ask was cancelled before its question "
                   "was posted (the caller went away)", "reason": "the caller went away",
                   "marked": False, "question": None})
    assert isinstance(e, ad.CancelledError)
    assert not e.posted and not e.marked and e.reason == "the caller went away"

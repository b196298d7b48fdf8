"""The whole ZenML flow against the emulator, as a user types it: `zenml init`, register the
flavor, a secret, an alerter that refers to it, a stack with it; then a pipeline that posts an
AlerterMessage and asks (a scripted reviewer approves: the step gets True), and failing steps
with ZenML's alerter_failure_hook and with the package's structured hook (the whole traceback
arrives). No output contains the token, and the emulator saw nothing outside Discord's spec.

Run in a venv with zenml[local]==0.98.0 and this package (python/tests/run.sh makes one).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import pytest

if os.environ.get("ALERTER_REQUIRE_ZENML"):  # run.sh: a missing ZenML is a failure
    import zenml  # noqa: F401
else:
    pytest.importorskip("zenml")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from conftest import start_emulator  # noqa: E402



@pytest.fixture
def world(tmp_path: Path):
    """An emulator with a random token, a scratch ZenML project, and the environment for it."""
    token = "MTE" + secrets.token_urlsafe(21) + "." + secrets.token_urlsafe(5) + "." + \
        secrets.token_urlsafe(27)
    emu = start_emulator(token)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(HERE / "pipelines.py", project / "pipelines.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "ALERTER_"))}
    env.update(
        ZENML_CONFIG_PATH=str(tmp_path / "zenml-config"),
        ZENML_REPOSITORY_PATH=str(project),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_LOGGING_COLORS_DISABLED="true",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ALERTER_HOME=str(tmp_path / "alerter-home"),
        PYTHONUNBUFFERED="1",
    )
    try:
        yield emu, project, env
    finally:
        emu.proc.terminate()
        emu.proc.wait(timeout=10)


def sh(args: List[str], cwd: Path, env: Dict[str, str], outputs: List[str], ok=(0,),
       mask: str = "") -> str:
    zenml_cli = Path(sys.executable).parent / "zenml"
    argv = [str(zenml_cli), *args[1:]] if args[0] == "zenml" else args
    started = time.monotonic()
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    outputs.append(out)
    shown = " ".join(args).replace(mask, "***") if mask else " ".join(args)
    print(f"$ {shown}  ({time.monotonic() - started:.1f} s, exit {p.returncode})")
    tail = out[-4000:].replace(mask, "***") if mask else out[-4000:]
    assert p.returncode in ok, f"{shown} exited {p.returncode}:\n{tail}"
    return out


def test_the_whole_zenml_flow(world):
    emu, project, env = world
    outputs: List[str] = []
    run = lambda *a, ok=(0,): sh(list(a), project, env, outputs, ok, mask=emu.token)  # noqa: E731
    run("zenml", "init")
    run("zenml", "alerter", "flavor", "register", "alerter_discord.zenml.DiscordWasmAlerterFlavor")
    run("zenml", "secret", "create", "discord_secret", f"--discord_token={emu.token}")
    run("zenml", "alerter", "register", "discord_alerter", "--flavor=discord_wasm",
        "--discord_token={{discord_secret.discord_token}}",
        f"--default_discord_channel_id={emu.channel_id}", f"--api_base_url={emu.base_url}")
    run("zenml", "stack", "register", "discord_stack", "-o", "default", "-a", "default",
        "-al", "discord_alerter", "--set")

    # The gate: a reviewer approves the question when it appears.
    reviewer = emu.user("reviewer")

    def approve() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            for m in emu.messages():
                if "Promote resnet50-v7" in json.dumps(m) and m["author"]["id"] == emu.bot_id:
                    # One of the pipeline's own approve words (ZenML's approve_msg_options).
                    emu.say(reviewer, "ship it", reply_to=m["id"])
                    return
            time.sleep(0.1)

    threading.Thread(target=approve, daemon=True).start()
    out = run(sys.executable, "pipelines.py", "gated_release")
    assert "GATE OUTPUT: True" in out, out[-3000:]
    assert "REPORT OUTPUT: True" in out, out[-3000:]
    assert "approved by reviewer" in out and "'ship it'" in out, "the typed answer is logged"
    msgs = emu.messages()
    text = json.dumps(msgs)
    report = next(m for m in msgs if "Training finished" in json.dumps(m))
    fields = {f["name"]: f["value"] for f in report["embeds"][0]["fields"]}
    assert fields["accuracy"] == "0.93" and fields["version"] == "1.10", fields
    announce = next(m for m in msgs if "Evaluation done" in json.dumps(m))
    afields = {f["name"]: f["value"] for f in announce["embeds"][0]["fields"]}
    assert afields.get("Pipeline") == "gated_release" and afields.get("Step") == "announce", afields
    assert "Pipeline Success Notification" in text

    # ZenML's own failure hook: its one long string arrives whole.
    before = len(emu.messages())
    out = run(sys.executable, "pipelines.py", "broken_zenml_hook", ok=(3,))
    new = emu.messages()[before:]
    hook_text = "".join(m.get("content", "") for m in new) + "".join(_files(new))
    # Its header, its context lines and the rich traceback's last line: all of it arrived.
    for part in ("*Failure Hook Notification! Step failed!*",
                 "Pipeline name: `broken_zenml_hook`", "Step name: `fails_with_zenml_hook`",
                 "ValueError: loss is NaN at epoch 7"):
        assert part in hook_text, f"{part!r} missing from ZenML's hook message:\n{hook_text}"
    assert "RecursionError" not in hook_text

    # The structured hook: type, message, context and the whole 60-frame traceback.
    before = len(emu.messages())
    out = run(sys.executable, "pipelines.py", "broken_structured_hook", ok=(3,))
    new = emu.messages()[before:]
    whole = json.dumps(new) + "".join(_files(new))
    assert "Pipeline Failure Alert" in whole and "ValueError" in whole
    assert "broken_structured_hook" in whole and "learning_rate" in whole
    # Too long for one embed: the end leads, then the full traceback follows in order, in
    # code blocks over several messages (or as a file when it would take too many).
    full = _full_traceback(new)
    frames = full.count("in _ping") + full.count("in _pong")
    assert frames == 61, f"the whole traceback arrives: {frames} of 61 frames:\n{full}"
    assert full.rstrip().endswith("ValueError: loss is NaN at epoch 7"), full[-500:]
    assert "in fails_with_structured_hook" in full
    assert "fails_with_structured_hook" in whole

    # No output anywhere contains the token; every request was within Discord's spec.
    for o in outputs:
        assert emu.token not in o, "the token was printed"
    assert emu.violations() == []
    auth = [r for r in emu.requests() if r["path"].startswith("/api/")]
    assert auth, "requests reached the emulator"


def test_migrating_from_zenmls_discord_flavor(world):
    """The README's path: a stack with ZenML's `discord` alerter, then one command."""
    emu, project, env = world
    outputs: List[str] = []
    run = lambda *a, ok=(0,): sh(list(a), project, env, outputs, ok, mask=emu.token)  # noqa: E731
    run("zenml", "init")
    run("zenml", "secret", "create", "discord_secret", f"--discord_token={emu.token}")
    run("zenml", "alerter", "register", "discord_alerter", "--flavor=discord",
        "--discord_token={{discord_secret.discord_token}}",
        f"--default_discord_channel_id={emu.channel_id}")
    run("zenml", "stack", "register", "prod", "-o", "default", "-a", "default",
        "-al", "discord_alerter", "--set")
    out = run(sys.executable, "-m", "alerter_discord.migrate")
    assert "registered the alerter 'discord_alerter_wasm'" in out, out
    assert "now uses 'discord_alerter_wasm' instead of 'discord_alerter'" in out, out
    # The emulator stands in for Discord: the one setting a real user would not change.
    run("zenml", "alerter", "update", "discord_alerter_wasm", f"--api_base_url={emu.base_url}")
    out = run(sys.executable, "pipelines.py", "hello")
    assert "HELLO OUTPUT: True" in out, out[-3000:]
    assert [m["content"] for m in emu.messages()] == ["hello from a migrated stack"]
    again = run(sys.executable, "-m", "alerter_discord.migrate")
    assert "already a discord_wasm alerter" in again, again
    for o in outputs:
        assert emu.token not in o, "the token was printed"


def _full_traceback(messages) -> str:
    """The "Full traceback" section of a failure alert, put back together from its messages."""
    files = _files(messages)
    if files:
        return files[0]
    text = "".join(e.get("description", "") for m in messages for e in m["embeds"])
    assert "**Full traceback**" in text, text[:2000]
    body = text.split("**Full traceback**", 1)[1]
    return body.replace("```python\n", "").replace("\n```", "\n").replace("```", "")


def _files(messages) -> List[str]:
    out = []
    for m in messages:
        for a in m.get("attachments", []):
            with urllib.request.urlopen(a["url"], timeout=10) as f:
                out.append(f.read().decode(errors="replace"))
    return out

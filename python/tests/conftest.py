"""Fixtures: a Discord emulator (``alerter emulator``) per test, played through its control API,
and a private ALERTER_HOME so no test sees another's secrets or registered alerters."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from alerter_discord import Alerter, find_binary

ROOT = Path(__file__).resolve().parents[2]


class Emulator:
    """The emulator process and its control API (``/_emulator``)."""

    def __init__(self, proc: "subprocess.Popen[str]", base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url
        self.origin = base_url.rsplit("/api/", 1)[0]
        state = self.control("GET", "/state")
        self.channel_id: str = state["default_channel_id"]
        self.bot_id: str = state["bot"]["id"]
        self.token = "emulator-bot-token"
        #: A test whose hostile component breaks the spec on purpose says which violations
        #: it expects; every other one still fails the test.
        self.expected_violations: Callable[[str], bool] = lambda v: False

    def control(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.origin + "/_emulator" + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def alerter(self, **kwargs: Any) -> Alerter:
        cfg: Dict[str, Any] = dict(
            discord_token=self.token,
            default_discord_channel_id=self.channel_id,
            api_base_url=self.base_url,
        )
        cfg.update(kwargs)
        return Alerter(**cfg)

    def messages(self, channel_id: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.control("GET", f"/channels/{channel_id or self.channel_id}/messages")

    def requests(self) -> List[Dict[str, Any]]:
        return self.control("GET", "/requests")

    def violations(self) -> List[str]:
        return self.control("GET", "/violations")

    def user(self, name: str) -> str:
        return self.control("POST", "/users", {"username": name})["id"]

    def say(self, user_id: str, content: str, reply_to: Optional[str] = None,
            channel_id: Optional[str] = None) -> str:
        body: Dict[str, Any] = {"user_id": user_id, "content": content}
        if reply_to:
            body["reply_to"] = reply_to
        return self.control("POST", f"/channels/{channel_id or self.channel_id}/messages", body)["id"]

    def react(self, message_id: str, emoji: str, user_id: str) -> None:
        from urllib.parse import quote

        self.control("PUT", f"/channels/{self.channel_id}/messages/{message_id}/reactions/"
                     f"{quote(emoji)}/{user_id}")

    def fault(self, **fault: Any) -> None:
        self.control("POST", "/faults", fault)

    def wait_for_question(self, timeout: float = 20.0) -> Dict[str, Any]:
        """The newest message the bot posted, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [m for m in self.messages() if m["author"]["id"] == self.bot_id]
            if mine:
                return mine[-1]
            time.sleep(0.05)
        raise AssertionError("the bot posted no question")

    def reviewer(self, act: Callable[["Emulator", Dict[str, Any]], None]) -> "Reviewer":
        """A scripted person: waits for the question, then does ``act(emulator, question)``.
        ``check()`` re-raises what went wrong in it (a reviewer that failed must not look
        like a person who never answered)."""
        return Reviewer(lambda: act(self, self.wait_for_question()))


class Reviewer(threading.Thread):
    def __init__(self, body: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self._body = body
        self.error: Optional[BaseException] = None
        self.start()

    def run(self) -> None:
        try:
            self._body()
        except BaseException as e:  # noqa: BLE001 (re-raised by check())
            self.error = e

    def check(self, timeout: float = 30.0) -> None:
        self.join(timeout)
        if self.error is not None:
            raise AssertionError(f"the scripted reviewer failed: {self.error!r}") from self.error


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ALERTER_HOME and compile cache; no ALERTER_* settings from outside."""
    for var in list(os.environ):
        if var.startswith("ALERTER_") and var not in ("ALERTER_BIN",):
            monkeypatch.delenv(var)
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("ALERTER_HOME", str(h))
    monkeypatch.setenv("ALERTER_CACHE_DIR", str(_shared_cache()))
    return h


def _shared_cache() -> Path:
    p = Path(os.environ.get("PYTEST_ALERTER_CACHE", "/tmp/alerter-pytest-cache"))
    p.mkdir(parents=True, exist_ok=True)
    return p


def start_emulator(token: Optional[str] = None) -> Emulator:
    """`alerter emulator` on a free port (accepting `token`, else its fixed test token)."""
    argv = [str(find_binary()), "emulator", "--port", "0"]
    if token is not None:
        argv += ["--token", token]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    prefix = "Discord emulator listening on "
    assert first.startswith(prefix), f"unexpected emulator output: {first!r}"
    # Keep reading its output so it never blocks on a full pipe.
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()  # type: ignore[union-attr]
    emu = Emulator(proc, first[len(prefix):].strip())
    if token is not None:
        emu.token = token
    return emu


@pytest.fixture
def emulator(home: Path) -> Iterator[Emulator]:
    emu = start_emulator()
    proc = emu.proc
    try:
        yield emu
        unexpected = [v for v in emu.violations() if not emu.expected_violations(v)]
        assert unexpected == [], "requests or answers that break Discord's spec"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def hostile_component() -> Path:
    """The hostile test component (tests/sandbox-guest), built by `cargo test`."""
    p = Path(os.environ.get(
        "SANDBOX_WASM", ROOT / "target/guest/wasm32-wasip2/guest/alerter_sandbox_guest.wasm"))
    assert p.is_file(), f"{p} is missing: run `cargo test --release -p alerter-e2e` first"
    return p

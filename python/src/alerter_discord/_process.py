"""The one place that runs the ``alerter`` binary: ``alerter call``, a JSON request on stdin
and a JSON line on stdout. The binary is the sandbox (the wasmtime host with the egress
allow-list, memory cap, CPU budget and deadlines), so Python enforces exactly what the CLI
enforces, because it is the CLI."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .errors import AlertError, InvalidConfigError, InvalidInputError, from_wire

log = logging.getLogger("alerter_discord")

#: How long an interrupted ask may take to mark its question as cancelled.
_MARK_GRACE_SECONDS = 20.0


def find_binary() -> Path:
    """The ``alerter`` binary this package was installed with: ``$ALERTER_BIN`` if set, else
    the one in this environment's scripts directory (never another ``alerter`` on ``PATH``)."""
    override = os.environ.get("ALERTER_BIN")
    if override:
        return Path(override)
    name = "alerter.exe" if sys.platform == "win32" else "alerter"
    candidates = [Path(sysconfig.get_path("scripts")) / name]
    user = sysconfig.get_path("scripts", f"{os.name}_user")
    if user:
        candidates.append(Path(user) / name)
    candidates.append(Path(sys.prefix) / "bin" / name)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise InvalidConfigError(
        "the alerter binary is not installed next to this Python "
        f"(looked in {', '.join(str(c) for c in candidates)}): reinstall with "
        "`pip install ./python`, or point ALERTER_BIN at a built `alerter`"
    )


def call(
    request: Mapping[str, Any],
    *,
    global_args: Sequence[str] = (),
    binary: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Any:
    """Make one call; returns its ``result`` or raises the :class:`AlertError` for its error.

    An ``ask`` keeps the child's stdin open while it waits (``--stop-on-eof``): if this process
    dies, the pipe closes and the question is marked as cancelled. Ctrl-C (KeyboardInterrupt)
    during an ask sends the child one SIGINT, waits for it to mark the question, and is raised
    again; during any other call the child is killed (a post of several parts may then be
    incomplete: post again with the same ``idempotency_key`` to finish it).
    """
    exe = str(binary or find_binary())
    is_ask = request.get("verb") == "ask"
    argv: List[str] = [exe, *global_args, "call"] + (["--stop-on-eof"] if is_ask else [])
    try:
        line = json.dumps(request, separators=(",", ":"), allow_nan=False) + "\n"
    except ValueError:
        raise InvalidInputError(
            "a number in the call is NaN or infinite (a timeout of math.inf, say): "
            "give a finite one"
        ) from None
    try:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            # Its own session: a Ctrl-C in the terminal reaches Python, which then stops the
            # child exactly once (a second signal would skip marking the question).
            start_new_session=True,
        )
    except OSError as e:
        raise InvalidConfigError(f"cannot start {exe}: {e}") from None
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    stderr_lines: List[str] = []
    pump = threading.Thread(target=_pump_stderr, args=(child.stderr, stderr_lines), daemon=True)
    try:
        pump.start()
        try:
            child.stdin.write(line.encode())
            child.stdin.flush()
            if not is_ask:
                child.stdin.close()
        except BrokenPipeError:
            pass  # it exited early (a bad flag, say): its output says why
        out = child.stdout.read()
        child.wait()
    except BaseException:  # KeyboardInterrupt, or anything else: leave no child behind
        _stop(child, is_ask)
        raise
    finally:
        try:
            child.stdin.close()
        except OSError:  # its buffer could not be flushed to a child that is gone
            pass
        if pump.is_alive():
            pump.join(timeout=5)
    return _outcome(out, child.returncode, stderr_lines)


def _pump_stderr(stream: Any, into: List[str]) -> None:
    """Forward the binary's stderr (already redacted) to logging: warnings and egress denials
    as WARNING, the rest (``verbose``: settings, the component's own output) as INFO."""
    for raw in iter(stream.readline, b""):
        text = raw.decode(errors="replace").rstrip("\n")
        if text:
            into.append(text)
            loud = "warning:" in text or "egress denied" in text
            log.log(logging.WARNING if loud else logging.INFO, "%s", text)


def _stop(child: "subprocess.Popen[bytes]", is_ask: bool) -> None:
    """Interrupt the child as Ctrl-C interrupts the CLI; an ask first marks its question."""
    if child.poll() is not None:
        return
    if not is_ask:
        child.kill()
        child.wait()
        return
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=_MARK_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    except KeyboardInterrupt:  # a second Ctrl-C: do not wait for the marking
        child.kill()
        child.wait()
        raise


def _outcome(out: bytes, code: int, stderr_lines: List[str]) -> Any:
    text = out.decode(errors="replace").strip()
    try:
        parsed = json.loads(text.splitlines()[-1]) if text else {}
    except json.JSONDecodeError:
        parsed = {}
    reply: Dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    if reply.get("ok") is True:
        return reply.get("result")
    if isinstance(reply.get("error"), dict):
        raise from_wire(reply["error"])
    # No JSON at all: the process was killed, or is not the alerter binary.
    said = "; ".join(stderr_lines[-3:]) or "no output"
    raise AlertError(f"the alerter binary exited with status {code} without a result: {said}")


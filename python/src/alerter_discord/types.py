"""What goes in and what comes back: :class:`AlerterMessage` (ZenML's field names), and the
typed results of ``post`` (:class:`Receipt`), ``ask`` (:class:`Answer`) and ``check``
(:class:`CheckReport`)."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Mapping, Optional

__all__ = [
    "AlerterMessage",
    "Payload",
    "Receipt",
    "Responder",
    "Answer",
    "ChannelInfo",
    "CheckReport",
    "Decision",
    "Via",
    "Severity",
]

#: How an ask ended. ``"timed-out"`` is neither a yes nor a no.
Decision = Literal["approved", "disapproved", "timed-out"]
#: How the decisive answer was given.
Via = Literal["reply", "message", "reaction"]
#: Colour and tone of a message.
Severity = Literal["info", "success", "warning", "error"]


@dataclass
class AlerterMessage:
    """A structured alert, as in ZenML's docs: a title, a body (it may be long: a traceback or a
    170 KB log arrives whole), metadata shown as fields in the order given (values keep their
    type: ``"1.10"`` stays text, ``12`` is a number), and images (http(s) URLs, or local
    ``.png``/``.jpg``/``.gif``/``.webp`` files, uploaded with the message)."""

    title: Optional[str] = None
    body: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    images: List[str] = field(default_factory=list)

    def to_wire(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        if self.title is not None:
            out["title"] = self.title
        if self.body is not None:
            out["body"] = self.body
        if self.metadata:
            out["metadata"] = [[str(k), _jsonable(v)] for k, v in self.metadata.items()]
        if self.images:
            out["images"] = [str(i) for i in self.images]
        return out


def _jsonable(v: Any) -> Any:
    """A metadata value JSON can carry; anything else (a Path, a numpy scalar) as its text."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # JSON has no NaN or infinity: a loss of NaN is shown as "nan"
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    item = getattr(v, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(v)


@dataclass(frozen=True)
class Payload:
    """ZenML's payload: where in a pipeline the message comes from (shown as fields)."""

    pipeline_name: Optional[str] = None
    step_name: Optional[str] = None
    stack_name: Optional[str] = None


@dataclass(frozen=True)
class Receipt:
    """What ``post`` (and the hooks) delivered: every message created, in order."""

    channel_id: str
    message_ids: List[str]
    thread_id: Optional[str] = None

    @classmethod
    def from_wire(cls, r: Mapping[str, Any]) -> "Receipt":
        return cls(
            channel_id=str(r["channel_id"]),
            message_ids=[str(m) for m in r.get("message_ids", [])],
            thread_id=r.get("thread_id"),
        )


@dataclass(frozen=True)
class Responder:
    """A Discord user: their id (a snowflake) and user name."""

    id: str
    username: str


@dataclass(frozen=True)
class Answer:
    """How an ``ask`` ended: who decided, how, and when. ``bool(answer)`` is ``approved``."""

    approved: bool
    decision: Decision
    responder: Optional[Responder]
    via: Optional[Via]
    keyword: Optional[str]
    #: When the answer was given (UTC); on timeout, when the wait ended.
    answered_at: _dt.datetime
    #: Everyone whose approval counted (several with ``required_approvals``).
    approvers: List[Responder]
    channel_id: str
    question_message_id: str
    reminders_sent: int = 0
    escalated: bool = False

    def __bool__(self) -> bool:
        return self.approved

    @property
    def timed_out(self) -> bool:
        return self.decision == "timed-out"

    def describe(self) -> str:
        """One line: ``approved by alice (123...) via reply "LGTM" at 2026-...``."""
        if self.decision == "timed-out":
            return f"timed out at {self.answered_at.isoformat()}: nobody entitled to decide answered"
        who = f" by {self.responder.username} ({self.responder.id})" if self.responder else ""
        how = f" via {self.via}" if self.via else ""
        word = f" {self.keyword!r}" if self.keyword else ""
        return f"{self.decision}{who}{how}{word} at {self.answered_at.isoformat()}"

    @classmethod
    def from_wire(cls, a: Mapping[str, Any]) -> "Answer":
        def responder(r: Optional[Mapping[str, Any]]) -> Optional[Responder]:
            return None if r is None else Responder(str(r["id"]), str(r["username"]))

        return cls(
            approved=bool(a["approved"]),
            decision=a["decision"],
            responder=responder(a.get("responder")),
            via=a.get("via"),
            keyword=a.get("keyword"),
            answered_at=_parse_time(str(a["answered_at"])),
            approvers=[r for r in map(responder, a.get("approvers", [])) if r is not None],
            channel_id=str(a["channel_id"]),
            question_message_id=str(a["question_message_id"]),
            reminders_sent=int(a.get("reminders_sent", 0)),
            escalated=bool(a.get("escalated", False)),
        )


def _parse_time(s: str) -> _dt.datetime:
    """RFC 3339 in UTC (``2026-12-01T19:18:38.367Z``), as an aware datetime."""
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    guild_id: Optional[str] = None


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found: the bot the token belongs to, and the channel or its problem."""

    bot_id: str
    bot_name: str
    channel: Optional[ChannelInfo]
    #: Why the channel cannot be used (the text says what to fix); None when it can, or when no
    #: channel is configured.
    channel_problem: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.channel_problem is None

    @classmethod
    def from_wire(cls, r: Mapping[str, Any]) -> "CheckReport":
        ch = r.get("channel")
        channel = problem = None
        if ch is not None and ch.get("ok"):
            channel = ChannelInfo(str(ch["id"]), str(ch["name"]), ch.get("guild_id"))
        elif ch is not None:
            problem = str(ch.get("problem", "the channel cannot be used"))
        return cls(str(r["token"]["bot_id"]), str(r["token"]["bot_name"]), channel, problem)

"""The exceptions a call raises: one class per case of the WIT ``alert-error``, plus the
sandbox's own stops. Every one is an :class:`AlertError` and carries the fields of its case.

Messages are the one line the CLI prints for the same failure, with secrets redacted: they never
contain the bot token.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "AlertError",
    "InvalidConfigError",
    "InvalidInputError",
    "UnauthorizedError",
    "ForbiddenError",
    "NotFoundError",
    "RateLimitedError",
    "TransportError",
    "ApiError",
    "IncompleteError",
    "SandboxError",
    "DeadlineError",
    "CancelledError",
]


class AlertError(Exception):
    """A call produced no result. ``kind`` is the WIT case name (``"forbidden"``, ...)."""

    kind: str = "alert-error"

    def __init__(self, message: str, fields: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        #: Every field the host reported, as JSON gave them.
        self.fields: Dict[str, Any] = dict(fields or {})

    @property
    def status(self) -> Optional[int]:
        """The HTTP status Discord answered with, when there was one."""
        return self.fields.get("status")

    @property
    def code(self) -> Optional[int]:
        """Discord's own JSON error code (for example 50013, Missing Permissions)."""
        return self.fields.get("code")

    @property
    def detail(self) -> Optional[str]:
        """Discord's error message, as it sent it."""
        return self.fields.get("detail")

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds Discord asked to wait (rate limits, and an incomplete post that hit one)."""
        ms = self.fields.get("retry_after_ms")
        return None if ms is None else ms / 1000.0


class InvalidConfigError(AlertError):
    """The configuration is missing something or wrong (no token, no channel, a secret reference
    that does not resolve, a bad API base URL). Nothing was sent."""

    kind = "invalid-config"


class InvalidInputError(AlertError):
    """The message or parameters can never succeed (empty message, bad channel id, unreadable
    file). Nothing was sent."""

    kind = "invalid-input"


class UnauthorizedError(AlertError):
    """Discord refused the bot token (HTTP 401)."""

    kind = "unauthorized"


class ForbiddenError(AlertError):
    """The bot may not do this (HTTP 403): it cannot see the channel (code 50001) or lacks a
    permission (50013)."""

    kind = "forbidden"


class NotFoundError(AlertError):
    """The channel or message does not exist (HTTP 404)."""

    kind = "not-found"


class RateLimitedError(AlertError):
    """Rate limited for longer than the delivery deadline allows (HTTP 429)."""

    kind = "rate-limited"

    @property
    def is_global(self) -> bool:
        """Whether the limit is the bot-wide one."""
        return bool(self.fields.get("global"))


class TransportError(AlertError):
    """The request did not complete: DNS, connect, TLS, a timeout, or a host the sandbox's
    allow-list does not include."""

    kind = "transport"


class ApiError(AlertError):
    """Any other error Discord returned (a 5xx that outlived the retries, a 400)."""

    kind = "api"


class IncompleteError(AlertError):
    """A post of several parts created some, then one failed. With an ``idempotency_key``, the
    same post again creates only the missing parts."""

    kind = "incomplete"

    @property
    def channel_id(self) -> str:
        return str(self.fields.get("channel_id", ""))

    @property
    def message_ids(self) -> List[str]:
        """The parts that were created, in order."""
        return list(self.fields.get("message_ids", []))

    @property
    def parts(self) -> int:
        """How many parts the post has in all."""
        return int(self.fields.get("parts", 0))

    @property
    def reason(self) -> str:
        """Why the next part failed."""
        return str(self.fields.get("reason", ""))


class SandboxError(AlertError):
    """The sandbox stopped the component: its memory cap, its CPU budget, or a trap."""

    kind = "sandbox"


class DeadlineError(AlertError):
    """The call ran past its wall-clock deadline and was cancelled."""

    kind = "deadline"

    @property
    def deadline(self) -> Optional[float]:
        """The deadline, in seconds."""
        ms = self.fields.get("deadline_ms")
        return None if ms is None else ms / 1000.0


class CancelledError(AlertError):
    """An ``ask`` was stopped before it was decided (interrupted, terminated, or its caller
    went away); ``marked`` says whether the question now shows that it was cancelled, and
    ``posted`` whether there was a question at all (a caller already gone gets none)."""

    kind = "cancelled"

    @property
    def posted(self) -> bool:
        return self.fields.get("question") is not None

    @property
    def reason(self) -> str:
        return str(self.fields.get("reason", ""))

    @property
    def marked(self) -> bool:
        return bool(self.fields.get("marked"))


_BY_KIND: Dict[str, Type[AlertError]] = {
    cls.kind: cls
    for cls in (
        InvalidConfigError,
        InvalidInputError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        RateLimitedError,
        TransportError,
        ApiError,
        IncompleteError,
        SandboxError,
        DeadlineError,
        CancelledError,
    )
}


def from_wire(error: Mapping[str, Any]) -> AlertError:
    """The exception for an ``error`` object of ``alerter call``."""
    cls = _BY_KIND.get(str(error.get("kind")), AlertError)
    fields = {k: v for k, v in error.items() if k not in ("kind", "message")}
    return cls(str(error.get("message", "the call failed")), fields)

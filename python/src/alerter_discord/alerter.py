""":class:`Alerter`: post alerts and ask for approvals through the sandboxed Discord component."""

from __future__ import annotations

import os
import tempfile
import traceback as _traceback
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from . import _process
from .errors import AlertError, InvalidInputError
from .types import AlerterMessage, Answer, CheckReport, Payload, Receipt, Severity

__all__ = ["Alerter", "Attachment"]

#: A file to send: a path, or ``(filename, bytes)`` for data in memory (a plot in a BytesIO).
Attachment = Union[str, "os.PathLike[str]", Tuple[str, bytes]]
Message = Union[str, AlerterMessage]
T = TypeVar("T")

_CONFIG_KEYS = (
    "discord_token",
    "discord_webhook_url",
    "default_discord_channel_id",
    "api_base_url",
    "ask_timeout_seconds",
    "delivery_deadline_seconds",
    "max_attachment_bytes",
    "long_body_max_parts",
    "allowed_hosts",
)


class Alerter:
    """Sends alerts to Discord and gates on approvals, through the ``alerter`` binary: the
    wasmtime host that runs the Discord component with an egress allow-list (the API base and
    the ``allowed_hosts``), a memory cap, a CPU budget and deadlines. Each call is one run of
    the binary (a few milliseconds once its compile cache is warm).

    Configuration, by the CLI's rules:

    - ``Alerter(discord_token=..., default_discord_channel_id=..., ...)``: the config file's
      keys given here. ``discord_token`` may be the token (it reaches the binary through a
      pipe, never argv or a file) or a ``{{secret.key}}`` reference to the CLI's secret store;
    - ``Alerter.from_config(path)``: a TOML config file, as ``alerter --config``;
    - ``Alerter.registered(name)``: an alerter made with ``alerter register``;
    - ``Alerter()``: whatever the CLI would pick (``ALERTER_CONFIG``, the only registered
      alerter, or ``ALERTER_DISCORD_TOKEN`` and friends).

    Environment variables (``ALERTER_DISCORD_TOKEN``, ``ALERTER_API_BASE_URL``, ...) apply on top,
    as for the CLI. ``component`` loads another flavor component instead of the built-in one;
    ``env`` adds (or overrides) environment variables for the binary, such as ``ALERTER_HOME``;
    ``verbose`` logs the settings, the allow-list and the component's output (secrets
    redacted) to the ``alerter_discord`` logger at INFO. Warnings and egress denials are always
    logged there at WARNING. ``binary`` (or ``$ALERTER_BIN``) runs another ``alerter``.
    """

    def __init__(
        self,
        discord_token: Optional[str] = None,
        default_discord_channel_id: Optional[str] = None,
        api_base_url: Optional[str] = None,
        *,
        discord_webhook_url: Optional[str] = None,
        ask_timeout_seconds: Optional[float] = None,
        delivery_deadline_seconds: Optional[float] = None,
        max_attachment_bytes: Optional[int] = None,
        long_body_max_parts: Optional[int] = None,
        allowed_hosts: Optional[Sequence[str]] = None,
        component: Union[str, "os.PathLike[str]", None] = None,
        binary: Union[str, "os.PathLike[str]", None] = None,
        env: Optional[Mapping[str, str]] = None,
        verbose: bool = False,
    ) -> None:
        given = {
            "discord_token": discord_token,
            "discord_webhook_url": discord_webhook_url,
            "default_discord_channel_id": default_discord_channel_id,
            "api_base_url": api_base_url,
            "ask_timeout_seconds": ask_timeout_seconds,
            "delivery_deadline_seconds": delivery_deadline_seconds,
            "max_attachment_bytes": max_attachment_bytes,
            "long_body_max_parts": long_body_max_parts,
            "allowed_hosts": list(allowed_hosts) if allowed_hosts else None,
        }
        config = {k: v for k, v in given.items() if v is not None}
        if "default_discord_channel_id" in config:
            config["default_discord_channel_id"] = str(config["default_discord_channel_id"])
        self._config: Optional[Dict[str, Any]] = config or None
        self._global: List[str] = []
        if component is not None:
            self._global += ["--component", os.fspath(component)]
        if verbose:
            self._global.append("--verbose")
        self._binary = Path(binary) if binary is not None else None
        self._env = {**os.environ, **env} if env is not None else None

    @classmethod
    def from_config(cls, path: Union[str, "os.PathLike[str]"], **kwargs: Any) -> "Alerter":
        """The alerter a TOML config file describes (``alerter --config PATH``). Only
        ``component``, ``binary``, ``env`` and ``verbose`` may be given besides."""
        _no_config_keys(kwargs, "from_config")
        a = cls(**kwargs)
        a._config = None
        a._global = ["--config", os.fspath(path), *a._global]
        return a

    @classmethod
    def registered(cls, name: Optional[str] = None, **kwargs: Any) -> "Alerter":
        """An alerter registered with ``alerter register NAME ...`` (default: the only one).
        Only ``component``, ``binary``, ``env`` and ``verbose`` may be given besides."""
        _no_config_keys(kwargs, "registered")
        a = cls(**kwargs)
        a._config = None
        if name is not None:
            a._global = ["--alerter", name, *a._global]
        return a

    def __repr__(self) -> str:
        source = "inline config" if self._config else " ".join(self._global) or "CLI defaults"
        return f"Alerter({source})"

    # ---- the verbs -------------------------------------------------------------------------

    def post(
        self,
        message: Message,
        *,
        channel_id: Optional[str] = None,
        thread_id: Optional[str] = None,
        thread_name: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        severity: Optional[Severity] = None,
        payload: Union[Payload, Mapping[str, Optional[str]], None] = None,
        include_format_blocks: Optional[bool] = None,
        mention_users: Iterable[str] = (),
        mention_roles: Iterable[str] = (),
        attachments: Iterable[Attachment] = (),
    ) -> Receipt:
        """Post an alert; returns every message created. A long body arrives whole (split, or
        its head and tail plus the whole text as a file). Raises an :class:`AlertError`."""
        with _Files(attachments) as files:
            params = _params(
                channel_id=channel_id,
                thread_id=thread_id,
                thread_name=thread_name,
                idempotency_key=idempotency_key,
                severity=severity,
                payload=payload,
                include_format_blocks=include_format_blocks,
                mention_users=mention_users,
                mention_roles=mention_roles,
                attachments=files.paths,
            )
            request = {"verb": "post", "message": _message(message), "params": params}
            return self._call(request, Receipt.from_wire)

    def ask(
        self,
        question: Message,
        *,
        timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        approve_keywords: Optional[Sequence[str]] = None,
        disapprove_keywords: Optional[Sequence[str]] = None,
        approvers: Iterable[str] = (),
        approver_roles: Iterable[str] = (),
        ignore_case: bool = False,
        required_approvals: Optional[int] = None,
        key: Optional[str] = None,
        remind_every: Optional[float] = None,
        escalate_after: Optional[float] = None,
        escalate_roles: Iterable[str] = (),
        channel_id: Optional[str] = None,
        thread_id: Optional[str] = None,
        severity: Optional[Severity] = None,
        payload: Union[Payload, Mapping[str, Optional[str]], None] = None,
        include_format_blocks: Optional[bool] = None,
        mention_users: Iterable[str] = (),
        mention_roles: Iterable[str] = (),
        attachments: Iterable[Attachment] = (),
    ) -> Answer:
        """Post a question and wait (``timeout`` seconds, default the config's
        ``ask_timeout_seconds`` or 300) for someone entitled to decide to approve or decline,
        by reply, message or ✅ / ❌ reaction. A timeout is an :class:`Answer` with decision
        ``"timed-out"``, not an error. With ``key``, a retried job reuses its open question.

        Ctrl-C marks the question as cancelled and raises KeyboardInterrupt; if this process
        dies, the question is marked as cancelled too."""
        ask = {
            "timeout_seconds": timeout,
            "poll_interval_seconds": poll_interval,
            "approvers": [str(a) for a in approvers],
            "approver_roles": [str(r) for r in approver_roles],
            "ignore_case": ignore_case,
            "required_approvals": required_approvals,
            "key": None if key is None else str(key),
            "remind_every_seconds": remind_every,
            "escalate_after_seconds": escalate_after,
            "escalate_roles": [str(r) for r in escalate_roles],
        }
        with _Files(attachments) as files:
            params = _params(
                channel_id=channel_id,
                thread_id=thread_id,
                approve_keywords=approve_keywords,
                disapprove_keywords=disapprove_keywords,
                severity=severity,
                payload=payload,
                include_format_blocks=include_format_blocks,
                mention_users=mention_users,
                mention_roles=mention_roles,
                attachments=files.paths,
            )
            params["ask"] = _drop_empty(ask, drop_false=True)
            request = {"verb": "ask", "message": _message(question), "params": params}
            return self._call(request, Answer.from_wire)

    def on_success(
        self,
        pipeline_name: str,
        run_name: str,
        *,
        run_id: Optional[str] = None,
        step_name: Optional[str] = None,
        stack_name: Optional[str] = None,
        parameters: Union[Mapping[str, Any], Sequence[Tuple[str, Any]], None] = None,
        channel_id: Optional[str] = None,
        thread_id: Optional[str] = None,
        thread_name: Optional[str] = None,
        mention_users: Iterable[str] = (),
        mention_roles: Iterable[str] = (),
    ) -> Receipt:
        """Post "Pipeline Success Notification" for a run (the component's success hook)."""
        request = {
            "verb": "success",
            "context": _context(pipeline_name, run_name, run_id, step_name, stack_name, parameters),
            "params": _params(
                channel_id=channel_id,
                thread_id=thread_id,
                thread_name=thread_name,
                mention_users=mention_users,
                mention_roles=mention_roles,
            ),
        }
        return self._call(request, Receipt.from_wire)

    def on_failure(
        self,
        pipeline_name: str,
        run_name: str,
        exception: Optional[BaseException] = None,
        *,
        exception_type: Optional[str] = None,
        exception_message: Optional[str] = None,
        traceback: Optional[str] = None,
        run_id: Optional[str] = None,
        step_name: Optional[str] = None,
        stack_name: Optional[str] = None,
        parameters: Union[Mapping[str, Any], Sequence[Tuple[str, Any]], None] = None,
        channel_id: Optional[str] = None,
        thread_id: Optional[str] = None,
        thread_name: Optional[str] = None,
        mention_users: Iterable[str] = (),
        mention_roles: Iterable[str] = (),
    ) -> Receipt:
        """Post "Pipeline Failure Alert" for a run and the exception that ended it: its type,
        message and the whole traceback (taken from ``exception`` unless given), delivered whole
        (last lines first if Discord's limits force a cut)."""
        if exception is not None:
            exception_type = exception_type or type(exception).__name__
            exception_message = exception_message if exception_message is not None else str(exception)
            if traceback is None:
                traceback = "".join(
                    _traceback.format_exception(type(exception), exception, exception.__traceback__)
                )
        exc: Dict[str, Any] = {
            "type_name": exception_type or "Exception",
            "message": exception_message or "",
        }
        if traceback is not None:
            exc["traceback"] = traceback
        request = {
            "verb": "failure",
            "context": _context(pipeline_name, run_name, run_id, step_name, stack_name, parameters),
            "exception": exc,
            "params": _params(
                channel_id=channel_id,
                thread_id=thread_id,
                thread_name=thread_name,
                mention_users=mention_users,
                mention_roles=mention_roles,
            ),
        }
        return self._call(request, Receipt.from_wire)

    def check(self, channel_id: Optional[str] = None) -> CheckReport:
        """Validate the token and the channel without posting anything. A bad token raises
        :class:`UnauthorizedError`; a channel problem is in the report (``report.ok``)."""
        request = {"verb": "check", "params": _params(channel_id=channel_id)}
        return self._call(request, CheckReport.from_wire)

    # ---- plumbing --------------------------------------------------------------------------

    def _call(self, request: Dict[str, Any], typed: Callable[[Any], T]) -> T:
        """One call; its result as ``typed`` makes it. A result that does not fit (another
        component, another binary) is an AlertError too, never a KeyError."""
        if self._config is not None:
            request = {**request, "config": self._config}
        result = _process.call(
            request, global_args=self._global, binary=self._binary, env=self._env
        )
        try:
            return typed(result)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise AlertError(
                f"the component returned a {request['verb']} result this package cannot read "
                f"({type(e).__name__}: {e})"
            ) from None


def _no_config_keys(kwargs: Mapping[str, Any], where: str) -> None:
    """The config comes from the file or the registry: a config key here would be ignored."""
    given = sorted(k for k in kwargs if k in _CONFIG_KEYS)
    if given:
        raise TypeError(
            f"Alerter.{where}() takes its configuration from one place; "
            f"drop {', '.join(given)} (or put them in the config)"
        )


def _message(m: Message) -> Any:
    if isinstance(m, AlerterMessage):
        return m.to_wire()
    if isinstance(m, str):
        return m
    raise InvalidInputError(
        f"a message is a str or an AlerterMessage, not {type(m).__name__}"
    )


def _drop_empty(d: Dict[str, Any], drop_false: bool = False) -> Dict[str, Any]:
    """Without the unset entries: None and [] (and False, a flag's default, if asked)."""
    return {
        k: v
        for k, v in d.items()
        if v is not None and v != [] and not (drop_false and v is False)
    }


def _params(
    *,
    payload: Union[Payload, Mapping[str, Optional[str]], None] = None,
    mention_users: Iterable[str] = (),
    mention_roles: Iterable[str] = (),
    attachments: Iterable[str] = (),
    approve_keywords: Optional[Sequence[str]] = None,
    disapprove_keywords: Optional[Sequence[str]] = None,
    channel_id: Optional[str] = None,
    **rest: Any,
) -> Dict[str, Any]:
    p: Dict[str, Any] = {k: v for k, v in rest.items() if v is not None}
    for name in ("thread_id", "thread_name", "idempotency_key"):
        if name in p:
            p[name] = str(p[name])  # a snowflake given as an int
    if channel_id is not None:
        p["channel_id"] = str(channel_id)
    if isinstance(payload, Payload):
        payload = {
            "pipeline_name": payload.pipeline_name,
            "step_name": payload.step_name,
            "stack_name": payload.stack_name,
        }
    if payload is not None:
        p["payload"] = {k: v for k, v in dict(payload).items() if v is not None}
    p["mention_users"] = [str(u) for u in mention_users]
    p["mention_roles"] = [str(r) for r in mention_roles]
    p["attachments"] = list(attachments)
    if approve_keywords is not None:
        p["approve_keywords"] = list(approve_keywords)
    if disapprove_keywords is not None:
        p["disapprove_keywords"] = list(disapprove_keywords)
    return _drop_empty(p)


def _context(
    pipeline_name: str,
    run_name: str,
    run_id: Optional[str],
    step_name: Optional[str],
    stack_name: Optional[str],
    parameters: Union[Mapping[str, Any], Sequence[Tuple[str, Any]], None],
) -> Dict[str, Any]:
    pairs = parameters.items() if isinstance(parameters, Mapping) else (parameters or [])
    ctx: Dict[str, Any] = {
        "pipeline_name": str(pipeline_name),
        "run_name": str(run_name),
        "parameters": [[str(k), str(v)] for k, v in pairs],
    }
    for k, v in (("run_id", run_id), ("step_name", step_name), ("stack_name", stack_name)):
        if v is not None:
            ctx[k] = str(v)
    return ctx


class _Files:
    """Attachments as paths: in-memory ``(filename, bytes)`` ones are written to a private
    temporary directory for the call and removed after it."""

    def __init__(self, attachments: Iterable[Attachment]) -> None:
        self._items = list(attachments)
        self._dir: Optional["tempfile.TemporaryDirectory[str]"] = None
        self.paths: List[str] = []

    def __enter__(self) -> "_Files":
        names = [i[0] for i in self._items if isinstance(i, tuple)]
        for name in names:
            if not name or "/" in name or name in (".", ".."):
                raise InvalidInputError(f"attachment name {name!r} is not a file name")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInputError(f"two attachments are named {', '.join(dupes)}")
        try:
            for item in self._items:
                if isinstance(item, tuple):
                    name, data = item
                    if self._dir is None:
                        self._dir = tempfile.TemporaryDirectory(prefix="alerter-")
                    path = Path(self._dir.name) / name
                    path.write_bytes(bytes(data))
                    self.paths.append(str(path))
                else:
                    self.paths.append(os.fspath(item))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._dir is not None:
            self._dir.cleanup()

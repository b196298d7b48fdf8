"""A ZenML alerter flavor backed by the sandboxed Discord component: ``discord_wasm``.

From ZenML's ``discord`` flavor to this one::

    zenml alerter flavor register alerter_discord.zenml.DiscordWasmAlerterFlavor
    zenml alerter register discord_alerter --flavor=discord_wasm \\
        --discord_token={{discord_secret.discord_token}} --default_discord_channel_id=...
    zenml stack update -al discord_alerter

What changes for a pipeline: ``post`` and ``ask`` accept a ``str`` (what ZenML 0.98 and its
hooks pass) or an :class:`~alerter_discord.AlerterMessage`, and params as ZenML's
``DiscordAlerterParameters`` fields or this package's. They still return bools, as ZenML
expects; the typed result (who answered, how, when) is logged and kept in ``last_answer``, and
:meth:`DiscordWasmAlerter.ask_question` returns it. An unanswered ask waits its timeout
(default 300 s, ``ask_timeout_seconds``) and counts as "not approved", logged as a timeout.

Also here: the generic steps :func:`alerter_post_step` and :func:`alerter_ask_step`, and the
structured hooks :func:`structured_success_hook` and :func:`structured_failure_hook`, which send
the run's context and the whole traceback through the component's ``hooks`` interface.
ZenML's own ``alerter_success_hook`` / ``alerter_failure_hook`` work too.
"""

from __future__ import annotations

import logging
import traceback as _traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type, Union, cast

from pydantic import Field
from zenml import get_step_context, step
from zenml.alerter.base_alerter import (
    BaseAlerter,
    BaseAlerterConfig,
    BaseAlerterFlavor,
    BaseAlerterStepParameters,
)
from zenml.client import Client
from zenml.utils.secret_utils import SecretField

from .alerter import Alerter
from .errors import AlertError
from .types import AlerterMessage, Answer, Payload, Receipt

__all__ = [
    "DiscordWasmAlerterConfig",
    "DiscordWasmAlerterParameters",
    "DiscordWasmAlerter",
    "DiscordWasmAlerterFlavor",
    "alerter_post_step",
    "alerter_ask_step",
    "structured_success_hook",
    "structured_failure_hook",
]

log = logging.getLogger("alerter_discord.zenml")

FLAVOR_NAME = "discord_wasm"


class DiscordWasmAlerterConfig(BaseAlerterConfig):
    """The config file's keys. ``discord_token`` and ``discord_webhook_url`` are secret fields:
    give them as ``{{secret_name.key}}`` and ZenML resolves them when the alerter runs."""

    discord_token: Optional[str] = SecretField(default=None)
    discord_webhook_url: Optional[str] = SecretField(default=None)
    default_discord_channel_id: Optional[str] = None
    api_base_url: Optional[str] = None
    ask_timeout_seconds: Optional[float] = None
    delivery_deadline_seconds: Optional[float] = None
    max_attachment_bytes: Optional[int] = None
    long_body_max_parts: Optional[int] = None
    allowed_hosts: List[str] = Field(default_factory=list)


class DiscordWasmAlerterParameters(BaseAlerterStepParameters):
    """Per-call params: ZenML's ``DiscordAlerterParameters`` fields, then this package's."""

    # ZenML's names.
    discord_channel_id: Optional[str] = None
    approve_msg_options: Optional[List[str]] = None
    disapprove_msg_options: Optional[List[str]] = None
    payload: Optional[Dict[str, Optional[str]]] = None
    include_format_blocks: Optional[bool] = True
    # This package's (see :meth:`alerter_discord.Alerter.ask`).
    severity: Optional[str] = None
    mention_users: List[str] = Field(default_factory=list)
    mention_roles: List[str] = Field(default_factory=list)
    thread_id: Optional[str] = None
    timeout: Optional[float] = None
    poll_interval: Optional[float] = None
    approvers: List[str] = Field(default_factory=list)
    approver_roles: List[str] = Field(default_factory=list)
    ignore_case: bool = False
    required_approvals: Optional[int] = None
    key: Optional[str] = None


#: ZenML's parameter names -> this package's.
_ZENML_NAMES = {
    "discord_channel_id": "channel_id",
    "approve_msg_options": "approve_keywords",
    "disapprove_msg_options": "disapprove_keywords",
}
_POST_ONLY = {"thread_name", "idempotency_key"}
_ASK_ONLY = {
    "timeout", "poll_interval", "approve_keywords", "disapprove_keywords", "approvers",
    "approver_roles", "ignore_case", "required_approvals", "key", "remind_every",
    "escalate_after", "escalate_roles",
}
_BOTH = {
    "channel_id", "thread_id", "severity", "payload", "include_format_blocks", "mention_users",
    "mention_roles", "attachments",
}


def _call_params(params: Any, kwargs: Mapping[str, Any], verb: str) -> Dict[str, Any]:
    """Params from a params object (any pydantic model: ZenML's ``DiscordAlerterParameters``,
    :class:`DiscordWasmAlerterParameters`, or another flavor's), a dict, and keyword arguments,
    as :class:`~alerter_discord.Alerter` keyword arguments for ``verb``. Fields another flavor
    has and this one does not are logged and left out."""
    raw: Dict[str, Any] = {}
    if params is not None:
        if isinstance(params, Mapping):
            raw.update(params)
        elif hasattr(params, "model_dump"):
            raw.update(params.model_dump(exclude_none=True))
        else:
            raise TypeError(f"params must be a pydantic model or a dict, not {type(params).__name__}")
    raw.update(kwargs)
    allowed = _BOTH | (_ASK_ONLY if verb == "ask" else _POST_ONLY)
    out: Dict[str, Any] = {}
    for name, value in raw.items():
        name = _ZENML_NAMES.get(name, name)
        if value is None or value == [] or (name == "ignore_case" and value is False):
            continue
        if name not in allowed:
            log.warning("discord_wasm %s: ignoring the parameter %r", verb, name)
            continue
        if name == "payload" and isinstance(value, Mapping):
            value = Payload(**{k: v for k, v in value.items() if k in Payload.__dataclass_fields__})
        out[name] = value
    return out


def _as_message(message: Any) -> Union[str, AlerterMessage]:
    """A str, an AlerterMessage, or anything with title/body/metadata/images attributes (the
    AlerterMessage of a ZenML version that has one)."""
    if isinstance(message, (str, AlerterMessage)):
        return message
    if message is not None and any(
        hasattr(message, a) for a in ("title", "body", "metadata", "images")
    ):
        return AlerterMessage(
            title=getattr(message, "title", None),
            body=getattr(message, "body", None),
            metadata=dict(getattr(message, "metadata", None) or {}),
            images=list(getattr(message, "images", None) or []),
        )
    raise TypeError(f"a message is a str or an AlerterMessage, not {type(message).__name__}")


class DiscordWasmAlerter(BaseAlerter):
    """ZenML's alerter interface over :class:`alerter_discord.Alerter`."""

    #: The last typed results, for code that wants more than a bool.
    last_receipt: Optional[Receipt] = None
    last_answer: Optional[Answer] = None
    last_error: Optional[AlertError] = None

    @property
    def config(self) -> DiscordWasmAlerterConfig:
        return cast(DiscordWasmAlerterConfig, self._config)

    @property
    def alerter(self) -> Alerter:
        """The package's alerter for this config (secret references resolved by ZenML now)."""
        c = self.config
        return Alerter(
            discord_token=c.discord_token,
            discord_webhook_url=c.discord_webhook_url,
            default_discord_channel_id=c.default_discord_channel_id,
            api_base_url=c.api_base_url,
            ask_timeout_seconds=c.ask_timeout_seconds,
            delivery_deadline_seconds=c.delivery_deadline_seconds,
            max_attachment_bytes=c.max_attachment_bytes,
            long_body_max_parts=c.long_body_max_parts,
            allowed_hosts=c.allowed_hosts or None,
        )

    # ---- ZenML's interface: bools --------------------------------------------------------------

    def post(
        self, message: Any = None, params: Any = None, **kwargs: Any
    ) -> bool:
        """Post a ``str`` or :class:`AlerterMessage`; True if it was delivered. A failure is
        logged (what went wrong and what to fix) and kept in ``last_error``."""
        try:
            self.post_message(message, params, **kwargs)
            return True
        except AlertError as e:
            self.last_error = e
            log.error("discord_wasm: the alert was not delivered: %s", e)
            return False

    def ask(
        self, question: Any = None, params: Any = None, *, message: Any = None, **kwargs: Any
    ) -> bool:
        """Ask and wait; True only for an explicit approval (a disapproval, a timeout and an
        error are False, each logged as what it was). ``ask(question=...)`` and
        ``ask(message=...)`` both work."""
        try:
            return self.ask_question(question if question is not None else message, params,
                                     **kwargs).approved
        except AlertError as e:
            self.last_error = e
            log.error("discord_wasm: the question could not be asked: %s", e)
            return False

    # ---- typed ---------------------------------------------------------------------------------

    def post_message(self, message: Any, params: Any = None, **kwargs: Any) -> Receipt:
        """Like :meth:`post`, returning the receipt and raising :class:`AlertError`."""
        receipt = self.alerter.post(_as_message(message), **_call_params(params, kwargs, "post"))
        self.last_receipt = receipt
        return receipt

    def ask_question(self, question: Any, params: Any = None, **kwargs: Any) -> Answer:
        """Like :meth:`ask`, returning the :class:`Answer` and raising :class:`AlertError`."""
        answer = self.alerter.ask(_as_message(question), **_call_params(params, kwargs, "ask"))
        self.last_answer = answer
        log.info("discord_wasm: %s", answer.describe())
        return answer


class DiscordWasmAlerterFlavor(BaseAlerterFlavor):
    """``zenml alerter flavor register alerter_discord.zenml.DiscordWasmAlerterFlavor``."""

    @property
    def name(self) -> str:
        return FLAVOR_NAME

    @property
    def docs_url(self) -> Optional[str]:
        return None

    @property
    def sdk_docs_url(self) -> Optional[str]:
        return None

    @property
    def logo_url(self) -> str:
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/alerter/discord.png"

    @property
    def config_class(self) -> Type[BaseAlerterConfig]:
        return DiscordWasmAlerterConfig

    @property
    def implementation_class(self) -> Type[BaseAlerter]:
        return DiscordWasmAlerter


# ---- steps ----------------------------------------------------------------------------------


def _active_alerter() -> Optional[BaseAlerter]:
    return Client().active_stack.alerter


def _context_payload() -> Dict[str, Optional[str]]:
    """Pipeline / step / stack of the running step, as ZenML's Discord steps fill them."""
    ctx = get_step_context()
    return {
        "pipeline_name": ctx.pipeline.name,
        "step_name": ctx.step_run.name,
        "stack_name": Client().active_stack.name,
    }


def _with_context(params: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    p = dict(params or {})
    if p.get("include_format_blocks", True) and not p.get("payload"):
        p["payload"] = _context_payload()
    return p


def _through_the_stack(verb: str, message: Any, params: Optional[Dict[str, Any]]) -> bool:
    """What the generic steps do: ``post`` or ``ask`` through the active stack's alerter, with
    the step's context for this flavor, a plain string for another."""
    alerter = _active_alerter()
    if alerter is None:
        raise RuntimeError(f"alerter_{verb}_step: the active stack has no alerter")
    msg = AlerterMessage(**message) if isinstance(message, dict) else message
    if isinstance(alerter, DiscordWasmAlerter):
        ours = alerter.post if verb == "post" else alerter.ask
        return ours(msg, _with_context(params))
    theirs = alerter.post if verb == "post" else alerter.ask
    return theirs(msg if isinstance(msg, str) else _as_text(msg))


@step(enable_cache=False)
def alerter_post_step(
    message: Union[str, AlerterMessage, Dict[str, Any]],
    params: Optional[Dict[str, Any]] = None,
) -> bool:
    """Post through the active stack's alerter; the Pipeline / Step / Stack fields are filled
    from the step's context unless ``include_format_blocks`` is False. ``message`` is a str, an
    AlerterMessage, or its fields as a dict (``{"title": ..., "body": ..., "metadata": {...}}``);
    ``params`` are :class:`DiscordWasmAlerterParameters` fields as a dict."""
    return _through_the_stack("post", message, params)


@step(enable_cache=False)
def alerter_ask_step(
    message: Union[str, AlerterMessage, Dict[str, Any]],
    params: Optional[Dict[str, Any]] = None,
) -> bool:
    """Ask through the active stack's alerter and wait; True only for an explicit approval."""
    return _through_the_stack("ask", message, params)


def _as_text(m: AlerterMessage) -> str:
    """An AlerterMessage for an alerter that only takes strings."""
    lines = [f"**{m.title}**"] if m.title else []
    if m.body:
        lines.append(m.body)
    lines += [f"{k}: {v}" for k, v in m.metadata.items()]
    lines += list(m.images)
    return "\n".join(lines)


# ---- hooks ----------------------------------------------------------------------------------


def _run_context() -> Tuple[Dict[str, Any], Optional[BaseAlerter]]:
    ctx = get_step_context()
    parameters = dict(ctx.step_run.config.parameters or {})
    fields = {
        "pipeline_name": ctx.pipeline.name,
        "run_name": ctx.pipeline_run.name,
        "run_id": str(ctx.pipeline_run.id),
        "step_name": ctx.step_run.name,
        "stack_name": Client().active_stack.name,
        "parameters": parameters,
    }
    return fields, _active_alerter()


def _structured_hook(
    hook: str, what: str, deliver: Callable[[Alerter, Dict[str, Any]], Receipt], outcome: str
) -> None:
    """What the structured hooks do: ``deliver`` through this flavor (a failure is logged and
    kept, never raised into ZenML's hook runner), else one line through another alerter."""
    fields, alerter = _run_context()
    if isinstance(alerter, DiscordWasmAlerter):
        try:
            alerter.last_receipt = deliver(alerter.alerter, fields)
        except AlertError as e:
            alerter.last_error = e
            log.error("discord_wasm: the %s was not delivered: %s", what, e)
    elif alerter is not None:
        alerter.post(f"Step {fields['step_name']} of {fields['pipeline_name']} "
                     f"({fields['run_name']}) {outcome}")
    else:
        log.warning("%s: the active stack has no alerter", hook)


def structured_success_hook() -> None:
    """A success hook for ``on_success=``: "Pipeline Success Notification" with the pipeline,
    run, step, stack and parameters as fields."""
    _structured_hook("structured_success_hook", "success notification",
                     lambda a, fields: a.on_success(**fields), "succeeded")


def structured_failure_hook(exception: BaseException) -> None:
    """A failure hook for ``on_failure=``: "Pipeline Failure Alert" with the run's context,
    the exception's type and message, and the whole traceback (not a boxed excerpt), delivered
    whole through the component's ``hooks`` interface."""
    tb = "".join(_traceback.format_exception(type(exception), exception, exception.__traceback__))
    _structured_hook("structured_failure_hook", "failure alert",
                     lambda a, fields: a.on_failure(exception=exception, traceback=tb, **fields),
                     f"failed:\n{tb}")

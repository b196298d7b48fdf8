"""Discord alerts and approval gates for pipelines, sandboxed in WebAssembly.

>>> from alerter_discord import Alerter, AlerterMessage
>>> alerter = Alerter(discord_token="{{discord_secret.discord_token}}",
...                   default_discord_channel_id="123456789012345678")
>>> alerter.post(AlerterMessage(title="Training finished", metadata={"accuracy": 0.93}))
>>> if alerter.ask("Promote model v7?", timeout=900):
...     promote()

Every call runs the Discord component inside the ``alerter`` binary that this package installs
(a wasmtime host): only the Discord API (and hosts you allow) can be reached, with a memory cap,
a CPU budget and deadlines. Errors are :class:`AlertError` subclasses, one per failure kind.
The ZenML flavor is in :mod:`alerter_discord.zenml`.
"""

from .alerter import Alerter, Attachment
from .errors import (
    AlertError,
    ApiError,
    CancelledError,
    DeadlineError,
    ForbiddenError,
    IncompleteError,
    InvalidConfigError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    SandboxError,
    TransportError,
    UnauthorizedError,
)
from .types import (
    AlerterMessage,
    Answer,
    ChannelInfo,
    CheckReport,
    Decision,
    Payload,
    Receipt,
    Responder,
    Severity,
    Via,
)
from ._process import find_binary

__version__ = "0.1.0"

__all__ = [
    "Alerter",
    "AlerterMessage",
    "Attachment",
    "Answer",
    "Receipt",
    "Responder",
    "CheckReport",
    "ChannelInfo",
    "Payload",
    "Decision",
    "Via",
    "Severity",
    "find_binary",
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

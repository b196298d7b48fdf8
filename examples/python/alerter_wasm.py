"""Run the alerter-discord WASI 0.2 component from Python, unchanged, with wasmtime-py.

    pip install -r requirements.txt          # wasmtime==50.0.1 (PyPI `wasmtime`)

    from alerter_wasm import Alerter, AlertError
    alerter = Alerter("alerter_discord.wasm", token=TOKEN, default_channel_id="123...")
    receipt = alerter.post({"title": "Training done", "body": "accuracy 0.93",
                            "metadata": {"accuracy": 0.93}})
    answer = alerter.ask("Deploy model v3?", ask={"timeout_ms": 600_000})
    if answer["approved"]: ...

What the host provides (see `_linker`):
- WASI 0.2 and wasi:http from wasmtime itself (`add_wasip2`, `add_wasi_http`). Environment,
  arguments and stdin are empty, stdout/stderr are inherited, and no directory is preopened.
- `wasi:config/store@0.2.0-rc.1` (`get`, `get-all`) from a dict of strings.
- `wasmcloud:secrets/store@0.1.0-draft` and `reveal`: `secret` is a host resource whose rep is
  an index into this object's secrets; `reveal` is the only place a value leaves Python.

No egress control: wasmtime-py (50.0.1) exposes no hook on outgoing HTTP. The outgoing request
reaching `wasi:http/outgoing-handler.handle` is a wasmtime-internal resource that Python can
neither read (authority, scheme) nor hand on to the built-in handler, so an allow-list cannot be
enforced here. `allowed_hosts` below only checks the configured `api_base_url`; enforcement must
come from the network (a firewall, a network namespace, or an egress proxy).

Calls block the calling thread (wasmtime-py is synchronous); the GIL is released while the
component waits, so other Python threads keep running during `ask`. But the calling thread itself
is stuck inside `ask` for the whole wait (minutes): it cannot check a stop flag, serve anything
else, or even react to Ctrl-C (Python runs signal handlers only once the call returns). `ask` is
three steps that can be called one by one instead:

    opened = alerter.open("Deploy model v3?", ask=settings)      # returns at once
    status = {"done": opened["answer"]} if opened["answer"] else {}
    while "done" not in status:
        status = alerter.wait(opened["question"], 500, ask=settings)  # at most ~500 ms
        ...                                       # the thread is free here: check flags, etc.
    alerter.close(opened["question"], status["done"], ask=settings)
    # on KeyboardInterrupt: alerter.close(opened["question"], "interrupted", ask=settings)

`wait` blocks only for its `max_wait_ms` (plus one request), then returns `{"open": progress}`
or `{"done": answer}`. The component keeps no state between calls: each `wait` re-reads the
channel from the question on, so the question's channel id and message id
(`opened["question"]`, two strings) are all another process needs to resume the wait, e.g. after
a crash. Pass the same params the question was opened with. With `ask={"key": ...}`, a retried
job does not even need the ids: `open` with the same key reuses the question that is still open
(`posted` False) or returns the decision already given (`answer`), without posting again.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import urlsplit

import wasmtime
from wasmtime import component as cm

__all__ = ["Alerter", "AlertError"]

CONFIG = "wasi:config/store@0.2.0-rc.1"
SECRETS_STORE = "wasmcloud:secrets/store@0.1.0-draft"
SECRETS_REVEAL = "wasmcloud:secrets/reveal@0.1.0-draft"
ALERTER = "alerter:core/alerter@0.1.0"
HOOKS = "alerter:core/hooks@0.1.0"

# The integer that identifies our `secret` host resource type (any constant works).
_SECRET_TYPE_ID = 0x5EC7E7

_engine = wasmtime.Engine()
_components: dict[str, cm.Component] = {}
_components_lock = threading.Lock()


def _component(path: str) -> cm.Component:
    """Compile a component once per process (Cranelift takes a second or so)."""
    with _components_lock:
        if path not in _components:
            _components[path] = cm.Component.from_file(_engine, path)
        return _components[path]


class AlertError(Exception):
    """A failed call. `kind` is the WIT `alert-error` case (`transport`, `invalid-config`, ...);
    `detail` its payload (a string, or a dict for API errors and rate limits)."""

    def __init__(self, kind: str, detail: Any):
        self.kind = kind
        self.detail = detail
        text = detail if isinstance(detail, str) else (detail or {}).get("message", detail)
        super().__init__(f"{kind}: {text}")


# ---- Python values <-> component values -------------------------------------------------------
#
# wasmtime-py represents a record as an object whose attributes are the WIT field names
# (kebab-case), a variant whose cases cannot be told apart by Python type as `Variant(tag,
# payload)`, other variants (message, result, option) by the payload alone, enums as strings.


def _record(**fields: Any) -> cm.Record:
    r = cm.Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def _to_wit(v: Any) -> Any:
    """The inverse of `_to_py` for records: dicts become Records (snake_case keys to kebab-case),
    recursively, so a returned answer can be handed back (to `close`)."""
    if isinstance(v, Mapping):
        return _record(**{k: _to_wit(x) for k, x in v.items()})
    if isinstance(v, list):
        return [_to_wit(x) for x in v]
    return v


def _to_py(v: Any) -> Any:
    """Records become dicts with snake_case keys; lists and variants are converted inside."""
    if isinstance(v, cm.Record):
        return {k.replace("-", "_"): _to_py(x) for k, x in vars(v).items()}
    if isinstance(v, list):
        return [_to_py(x) for x in v]
    if isinstance(v, cm.Variant):
        return {"tag": v.tag, "val": _to_py(v.payload)}
    return v


def _metadata_value(v: Any) -> cm.Variant:
    if isinstance(v, cm.Variant):
        return v
    if isinstance(v, bool):
        return cm.Variant("boolean", v)
    if isinstance(v, int):
        return cm.Variant("integer", v)
    if isinstance(v, float):
        return cm.Variant("float", v)
    if isinstance(v, str):
        return cm.Variant("text", v)
    import json

    return cm.Variant("json", json.dumps(v))


def _message(m: Any) -> Any:
    """A str (plain text) or a dict {title?, body?, metadata?, images?}; metadata is a dict
    (order kept) or a list of (key, value) pairs."""
    if isinstance(m, str):
        return m
    meta = m.get("metadata") or {}
    pairs = meta.items() if isinstance(meta, Mapping) else meta
    return _record(
        title=m.get("title"),
        body=m.get("body"),
        metadata=[_record(key=str(k), value=_metadata_value(v)) for k, v in pairs],
        images=list(m.get("images") or []),
    )


def _params(
    channel_id: Optional[str] = None,
    approve_keywords: Optional[Iterable[str]] = None,
    disapprove_keywords: Optional[Iterable[str]] = None,
    payload: Optional[Mapping[str, Optional[str]]] = None,
    include_format_blocks: Optional[bool] = None,
    severity: Optional[str] = None,
    mention_users: Iterable[str] = (),
    mention_roles: Iterable[str] = (),
    ask: Optional[Mapping[str, Any]] = None,
    attachments: Iterable[Mapping[str, Any]] = (),
    thread_id: Optional[str] = None,
    thread_name: Optional[str] = None,
    idempotency_key: Optional[str] = None,
) -> cm.Record:
    """The WIT `params` record from keyword arguments (snake_case, all optional).

    `attachments` are {"filename", "data" (bytes), "content_type"?, "description"?}; show one
    in the alert with an image "attachment://FILENAME".
    """
    ask_rec = None
    if ask is not None:
        ask_rec = _record(
            timeout_ms=ask.get("timeout_ms"),
            poll_interval_ms=ask.get("poll_interval_ms"),
            approvers=list(ask.get("approvers") or []),
            approver_roles=list(ask.get("approver_roles") or []),
            ignore_case=bool(ask.get("ignore_case", False)),
            required_approvals=ask.get("required_approvals"),
            key=ask.get("key"),
            remind_every_ms=ask.get("remind_every_ms"),
            escalate_after_ms=ask.get("escalate_after_ms"),
            escalate_roles=list(ask.get("escalate_roles") or []),
        )
    return _record(
        channel_id=channel_id,
        approve_keywords=None if approve_keywords is None else list(approve_keywords),
        disapprove_keywords=None if disapprove_keywords is None else list(disapprove_keywords),
        payload=None
        if payload is None
        else _record(
            pipeline_name=payload.get("pipeline_name"),
            step_name=payload.get("step_name"),
            stack_name=payload.get("stack_name"),
        ),
        include_format_blocks=include_format_blocks,
        severity=severity,
        mention_users=list(mention_users),
        mention_roles=list(mention_roles),
        ask=ask_rec,
        attachments=[
            _record(
                filename=f["filename"],
                content_type=f.get("content_type"),
                description=f.get("description"),
                data=bytes(f["data"]),
            )
            for f in attachments
        ],
        thread_id=thread_id,
        thread_name=thread_name,
        idempotency_key=idempotency_key,
    )


# ---- the host -----------------------------------------------------------------------------------


def _allowed(url: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether `url` matches an entry: `host` (https:443), `host:port` (either scheme) or
    `http(s)://host[:port]` (the same rules as the Node example's egress.js)."""
    default_port = {"https": 443, "http": 80}
    u = urlsplit(url)
    scheme, host, port = u.scheme.lower(), (u.hostname or "").lower(), u.port or default_port.get(u.scheme.lower())
    for entry in allowed_hosts:
        e = urlsplit(entry if "://" in entry else "//" + entry)
        e_scheme = e.scheme.lower() or (None if e.port else "https")
        e_port = e.port or default_port.get(e_scheme or "")
        if (e.hostname or "").lower() == host and e_port == port and e_scheme in (None, scheme):
            return True
    return False


class Alerter:
    """One instance of the component with its own configuration, token and store.

    Calls are serialized by a lock (a wasmtime store is used by one thread at a time).
    """

    def __init__(
        self,
        wasm_path: str,
        *,
        token: Optional[str],
        webhook_url: Optional[str] = None,
        api_base_url: Optional[str] = None,
        default_channel_id: Optional[str] = None,
        ask_timeout_seconds: Optional[float] = None,
        delivery_deadline_seconds: Optional[float] = None,
        allowed_hosts: Optional[Iterable[str]] = None,
    ):
        """`allowed_hosts` (`host` or `host:port`) is checked against `api_base_url` here, once;
        it is NOT enforced on the component's requests (see the module docstring)."""
        if allowed_hosts is not None:
            base = api_base_url or "https://discord.com/api/v10"
            if not _allowed(base, list(allowed_hosts)):
                raise ValueError(f"api_base_url {base} is not on the allow-list {list(allowed_hosts)}")
        settings = {
            "api_base_url": api_base_url,
            "default_discord_channel_id": default_channel_id,
            "ask_timeout_seconds": ask_timeout_seconds,
            "delivery_deadline_seconds": delivery_deadline_seconds,
        }
        self._config = {k: str(v) for k, v in settings.items() if v is not None}
        self._secrets = {} if token is None else {"discord_token": token}
        if webhook_url is not None:  # a channel webhook: posts without a bot
            self._secrets["discord_webhook_url"] = webhook_url
        self._handles: dict[int, str] = {}  # secret resource rep -> key
        self._next_rep = 1
        self._lock = threading.Lock()

        self._store = wasmtime.Store(_engine)
        wasi = wasmtime.WasiConfig()
        wasi.inherit_stdout()
        wasi.inherit_stderr()  # the component prints warnings there
        self._store.set_wasi(wasi)
        self._store.set_wasi_http()
        self._instance = self._linker().instantiate(self._store, _component(wasm_path))
        self._funcs = {}
        exports = (ALERTER, ("post", "ask", "open", "wait", "close")), (HOOKS, ("on-success", "on-failure"))
        for iface, names in exports:
            idx = self._instance.get_export_index(self._store, iface)
            for name in names:
                fidx = self._instance.get_export_index(self._store, name, idx)
                if fidx is not None:  # an older component lacks open/wait/close: see `_call`
                    self._funcs[name] = self._instance.get_func(self._store, fidx)

    # -- imports --

    def _linker(self) -> cm.Linker:
        linker = cm.Linker(_engine)
        linker.add_wasip2()
        linker.add_wasi_http()
        secret_type = cm.ResourceType.host(_SECRET_TYPE_ID)
        with linker.root() as root:
            with root.add_instance(CONFIG) as config:
                # get: func(key) -> result<option<string>, error>. wasmtime-py lowers a result
                # from its payload's Python type; returning the value (or None) is `ok`.
                config.add_func("get", lambda _store, key: self._config.get(key))
                config.add_func("get-all", lambda _store: list(self._config.items()))
            with root.add_instance(SECRETS_STORE) as store:
                store.add_resource("secret", secret_type, self._drop_secret)
                store.add_func("get", self._secret_get)
            with root.add_instance(SECRETS_REVEAL) as reveal:
                reveal.add_func("reveal", self._secret_reveal)
        return linker

    def _secret_get(self, _store: Any, key: str) -> Any:
        # get: func(key) -> result<secret, secrets-error>: a ResourceHost is `ok`, a Variant `err`.
        if key not in self._secrets:
            return cm.Variant("not-found")
        rep = self._next_rep
        self._next_rep += 1
        self._handles[rep] = key
        return cm.ResourceHost.own(rep, _SECRET_TYPE_ID)

    def _secret_reveal(self, store: Any, secret: cm.ResourceAny) -> Any:
        # reveal: func(s: borrow<secret>) -> secret-value. Its cases (string, list<u8>) differ in
        # Python type, so wasmtime-py wants the bare payload: a str is `string`, bytes `bytes`.
        key = self._handles[secret.to_host(store).rep]
        value = self._secrets[key]
        return bytes(value) if isinstance(value, (bytes, bytearray)) else str(value)

    def _drop_secret(self, _store: Any, rep: int) -> None:
        self._handles.pop(rep, None)

    # -- exports --

    def _call(self, name: str, *args: Any, tagged: bool = False) -> Any:
        if name not in self._funcs:
            raise AttributeError(f"this component does not export alerter.{name}")
        with self._lock:
            result = self._funcs[name](self._store, *args)
        if tagged:
            # result<variant, alert-error> (`wait`): both cases are Variants, so wasmtime-py
            # tags the result itself: Variant("ok", wait-status) or Variant("err", alert-error).
            if result.tag == "err":
                raise AlertError(result.payload.tag, _to_py(result.payload.payload))
            return result.payload
        # result<record, alert-error>: a Record is `ok`, a Variant (alert-error) is `err`.
        # result<_, alert-error> (`close`): None is `ok`.
        if isinstance(result, cm.Variant):
            raise AlertError(result.tag, _to_py(result.payload))
        return _to_py(result)

    def post(self, message: Any, **params: Any) -> dict:
        """Post a message; returns {"channel_id", "message_ids"} or raises AlertError."""
        return self._call("post", _message(message), _params(**params))

    def ask(self, question: Any, **params: Any) -> dict:
        """Post a question and wait (blocking this thread for the whole wait) for approval,
        disapproval or the timeout, then mark the question. Returns {"approved", "decision",
        "responder", "via", "keyword", "answered_at", "approvers", "channel_id",
        "question_message_id", "reminders_sent", "escalated"}; a timeout is decision "timed-out".
        `ask=` takes timeout_ms, poll_interval_ms, approvers, approver_roles, ignore_case,
        required_approvals, key, remind_every_ms, escalate_after_ms, escalate_roles."""
        return self._call("ask", _message(question), _params(**params))

    def open(self, question: Any, **params: Any) -> dict:
        """Step 1 of `ask`: post the question, or with ask={"key": ...} find the one already
        asked. Returns at once: {"question": {"channel_id", "message_id"}, "posted",
        "asked_at", "answer"}. `posted` is False when an open question with the key was reused;
        `answer` (else None) is set when the key's question was already approved or declined."""
        return self._call("open", _message(question), _params(**params))

    def wait(
        self, question: Mapping[str, Any], max_wait_ms: int, resume: Any = None, **params: Any
    ) -> dict:
        """Step 2: look for a decision for at most `max_wait_ms` (0: look once). Returns
        {"done": answer} (approved, declined, or the ask's own timeout passed) or
        {"open": {"approvers", "reminders_sent", "escalated", "resume"}} (still undecided: call
        again). `question` is {"channel_id", "message_id"} or what `open` returned; `params`
        must be those the question was opened with. `resume` is optional: the last status (or
        its "resume" string), so this wait continues where that one stopped (same poll rate
        and backoff as one long wait). Nothing is kept between calls, so any process can call
        it without one."""
        if isinstance(resume, Mapping):
            resume = resume.get("open", resume).get("resume")
        if resume is not None and not isinstance(resume, str):
            raise TypeError("resume is the last wait status or its 'resume' string")
        status = self._call(
            "wait", _question_ref(question), _params(**params), int(max_wait_ms), resume, tagged=True
        )
        return {status.tag: _to_py(status.payload)}

    def close(self, question: Mapping[str, Any], reason: Any, **params: Any) -> None:
        """Step 3: edit the question so people stop answering it. `reason` is an answer dict
        (shows that outcome) or a str (shows the question as cancelled, with that text)."""
        # close-reason's cases differ in Python type: a Record is `answered`, a str `cancelled`.
        if not isinstance(reason, (str, Mapping)):
            raise TypeError("a close reason is an answer dict or a cancellation text")
        self._call("close", _question_ref(question), _params(**params), _to_wit(reason))

    def on_success(self, context: Mapping[str, Any], **params: Any) -> dict:
        """ZenML's success hook. `context`: pipeline_name, run_name, run_id?, step_name?,
        stack_name?, parameters (list of (name, value) pairs)."""
        return self._call("on-success", _run_context(context), _params(**params))

    def on_failure(self, context: Mapping[str, Any], exception: Mapping[str, Any], **params: Any) -> dict:
        """ZenML's failure hook. `exception`: type_name, message, traceback?."""
        exc = _record(
            type_name=exception["type_name"],
            message=exception["message"],
            traceback=exception.get("traceback"),
        )
        return self._call("on-failure", _run_context(context), exc, _params(**params))


def _question_ref(q: Mapping[str, Any]) -> cm.Record:
    """A question-ref from {"channel_id", "message_id"}, or from what `open` returned."""
    ref = q.get("question", q)
    return _record(channel_id=str(ref["channel_id"]), message_id=str(ref["message_id"]))


def _run_context(c: Mapping[str, Any]) -> cm.Record:
    return _record(
        pipeline_name=c["pipeline_name"],
        run_name=c["run_name"],
        run_id=c.get("run_id"),
        step_name=c.get("step_name"),
        stack_name=c.get("stack_name"),
        parameters=[(str(k), str(v)) for k, v in (c.get("parameters") or [])],
    )

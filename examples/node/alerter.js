// Run the alerter-discord WASI 0.2 component in Node, unchanged, through jco.
//
//   npm ci && npm run transpile      # writes out/component.js (+ core wasm) from the .wasm
//   import { createAlerter } from './alerter.js';
//   const alerter = createAlerter({ token, defaultChannelId, allowedHosts: ['discord.com'] });
//   const receipt = alerter.post({ title: 'Training done', body: 'accuracy 0.93' });
//   const answer = alerter.ask('Deploy model v3?', { ask: { timeoutMs: 600_000 } });
//
// The transpiled component imports its host functions from three small modules, mapped with
// `jco transpile --map`: config.js (wasi:config/store), secrets.js (wasmcloud:secrets store and
// reveal) and egress.js (an allow-list in front of wasi:http/outgoing-handler). Everything else
// (wasi:io, clocks, random, cli, http/types) comes from @bytecodealliance/preview2-shim.
//
// Calls are synchronous: preview2-shim runs HTTP on a worker thread and blocks the main thread
// until each response arrives, so `ask` blocks the Node event loop until it is decided or times
// out: no timer, server or promise callback runs meanwhile. When the process must stay
// responsive, use the three steps `ask` is made of instead:
//
//   const { question, answer } = alerter.open('Deploy model v3?', params);  // returns at once
//   let status = answer ? { done: answer } : undefined;
//   while (!status?.done) {
//     status = alerter.wait(question, params, 500, status);  // blocks for at most ~500 ms
//     await new Promise((r) => setImmediate(r));             // the event loop runs between slices
//   }
//   alerter.close(question, params, status.done);     // mark the question with the outcome
//
// Each `wait` blocks only for its own `maxWaitMs` (plus one request), so between slices the
// event loop serves timers, sockets and signals. The component keeps no state between calls:
// passing the last status back (its `open.resume` hint) lets the next `wait` carry on where the
// last one stopped, at the same poll rate and backoff as one long wait; without it a `wait`
// re-reads the channel from the question on. So the question's channel id and message id
// (`opened.question`, two strings) are all a process needs to resume a wait another process
// started, e.g. after a crash or on another machine; `params` must be those it was opened with.
// With `params.ask.key`, a retried job does not even need those: `open` with the same key reuses
// the question still open (`posted: false`) or returns the decision already given (`answer`).
//
// Those modules hold one configuration at a time (ES modules are singletons and the component is
// instantiated once per process); each call installs its alerter's configuration first, which is
// safe because calls cannot interleave.

import { setConfig } from './config.js';
import { setSecrets } from './secrets.js';
import { setAllowedHosts } from './egress.js';

let component;
try {
  component = await import('./out/component.js');
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('out/component.js')) {
    throw new Error('the component is not transpiled yet: run `npm run transpile` in examples/node');
  }
  throw e;
}

/** A failed call: `kind` is the alert-error case (`transport`, `invalid-config`, ...). */
export class AlertError extends Error {
  constructor(kind, detail) {
    const text = typeof detail === 'string' ? detail : detail?.message ?? JSON.stringify(detail);
    super(`${kind}: ${text}`);
    this.name = 'AlertError';
    this.kind = kind;
    this.detail = detail;
  }
}

function metadataValue(v) {
  if (v && typeof v === 'object' && typeof v.tag === 'string' && 'val' in v) return v; // already typed
  switch (typeof v) {
    case 'string':
      return { tag: 'text', val: v };
    case 'boolean':
      return { tag: 'boolean', val: v };
    case 'bigint':
      return { tag: 'integer', val: v };
    case 'number':
      return Number.isSafeInteger(v) ? { tag: 'integer', val: BigInt(v) } : { tag: 'float', val: v };
    default:
      return { tag: 'json', val: JSON.stringify(v ?? null) };
  }
}

/**
 * A message: a string (plain text) or `{title?, body?, metadata?, images?}` where metadata is an
 * object (insertion order kept) or a list of `[key, value]` pairs.
 */
function toMessage(m) {
  if (typeof m === 'string') return { tag: 'text', val: m };
  if (m && (m.tag === 'text' || m.tag === 'structured')) return m;
  const meta = Array.isArray(m?.metadata) ? m.metadata : Object.entries(m?.metadata ?? {});
  return {
    tag: 'structured',
    val: {
      title: m?.title,
      body: m?.body,
      metadata: meta.map((e) =>
        Array.isArray(e) ? { key: String(e[0]), value: metadataValue(e[1]) } : { key: e.key, value: metadataValue(e.value) },
      ),
      images: m?.images ?? [],
    },
  };
}

const u64 = (v) => (v === undefined || v === null ? undefined : BigInt(v));

/**
 * Params as in WIT (camelCase); lists may be left out and milliseconds may be numbers.
 * `attachments` are `{filename, data, contentType?, description?}` with `data` a Uint8Array
 * or Buffer; show one in the alert with an image `attachment://FILENAME`.
 */
function toParams(p = {}) {
  const a = p.ask;
  return {
    ...p,
    mentionUsers: p.mentionUsers ?? [],
    mentionRoles: p.mentionRoles ?? [],
    attachments: (p.attachments ?? []).map((f) => ({
      filename: f.filename,
      contentType: f.contentType,
      description: f.description,
      data: f.data instanceof Uint8Array ? f.data : new Uint8Array(f.data),
    })),
    // `threadId`, `threadName` and `idempotencyKey` pass through unchanged (strings).
    ask: a && {
      ...a,
      timeoutMs: u64(a.timeoutMs),
      pollIntervalMs: u64(a.pollIntervalMs),
      approvers: a.approvers ?? [],
      approverRoles: a.approverRoles ?? [],
      ignoreCase: a.ignoreCase ?? false,
      // `key` and `requiredApprovals` pass through unchanged (a string, a number).
      remindEveryMs: u64(a.remindEveryMs),
      escalateAfterMs: u64(a.escalateAfterMs),
      escalateRoles: a.escalateRoles ?? [],
    },
  };
}

/** A question-ref `{channelId, messageId}`; an `opened` result (what `open` returned) works too. */
function toQuestionRef(q) {
  const ref = q?.question ?? q;
  if (typeof ref?.channelId !== 'string' || typeof ref?.messageId !== 'string') {
    throw new TypeError('a question is {channelId, messageId} (or what `open` returned)');
  }
  return { channelId: ref.channelId, messageId: ref.messageId };
}

/**
 * A close-reason: an answer object (as `ask` or `wait` returned it) shows that outcome; a string
 * marks the question cancelled with that text. A WIT-shaped `{tag, val}` passes through.
 */
function toCloseReason(r) {
  if (typeof r === 'string') return { tag: 'cancelled', val: r };
  if (r && (r.tag === 'answered' || r.tag === 'cancelled')) return r;
  if (r && typeof r.decision === 'string') return { tag: 'answered', val: r };
  throw new TypeError('a close reason is an answer or a cancellation text');
}

/** jco's `{tag: 'done', val}` / `{tag: 'open', val}` as `{done: answer}` / `{open: progress}`. */
function fromWaitStatus(s) {
  return s.tag === 'done' ? { done: s.val } : { open: s.val };
}

/**
 * @param {object} o
 * @param {string} [o.token]          the bot token (kept in secrets.js, revealed to the guest)
 * @param {string} [o.webhookUrl]     a channel webhook URL: posts without a bot (also a secret;
 *   put its host in allowedHosts)
 * @param {string} [o.apiBaseUrl]     default https://discord.com/api/v10
 * @param {string} [o.defaultChannelId]
 * @param {string[]} o.allowedHosts   where the component may connect, enforced on every request:
 *   `host` (https:443), `host:port` (either scheme) or `http(s)://host[:port]`; [] denies all
 * @param {number} [o.askTimeoutSeconds]
 * @param {number} [o.deliveryDeadlineSeconds]
 */
export function createAlerter({
  token,
  webhookUrl,
  apiBaseUrl,
  defaultChannelId,
  allowedHosts,
  askTimeoutSeconds,
  deliveryDeadlineSeconds,
} = {}) {
  const config = {
    api_base_url: apiBaseUrl,
    default_discord_channel_id: defaultChannelId,
    ask_timeout_seconds: askTimeoutSeconds,
    delivery_deadline_seconds: deliveryDeadlineSeconds,
  };
  const secrets = {};
  if (token !== undefined) secrets.discord_token = token;
  if (webhookUrl !== undefined) secrets.discord_webhook_url = webhookUrl;
  const hosts = [...(allowedHosts ?? [])];

  const call = (fn, ...args) => {
    setConfig(config);
    setSecrets(secrets);
    setAllowedHosts(hosts);
    try {
      return fn(...args);
    } catch (e) {
      // jco throws a ComponentError whose `payload` is the WIT `alert-error` variant.
      if (e && e.payload && typeof e.payload.tag === 'string') throw new AlertError(e.payload.tag, e.payload.val);
      throw e;
    }
  };

  /** An export of the component, or a clear error when the component predates it. */
  const exported = (name) => {
    const fn = component.alerter[name];
    if (typeof fn !== 'function') throw new Error(`this component does not export alerter.${name}`);
    return fn;
  };

  return {
    /** Post a message; returns `{channelId, messageIds}` or throws AlertError. */
    post: (message, params) => call(component.alerter.post, toMessage(message), toParams(params)),
    /**
     * Ask and wait (blocking the event loop for the whole wait); returns the answer:
     * `{approved, decision, responder?, via?, keyword?, answeredAt, approvers, channelId,
     * questionMessageId, remindersSent, escalated}`. A timeout is decision `'timed-out'`.
     */
    ask: (question, params) => call(component.alerter.ask, toMessage(question), toParams(params)),
    /**
     * Step 1 of `ask`: post the question, or with `params.ask.key` find the one already asked.
     * Returns at once: `{question: {channelId, messageId}, posted, askedAt, answer?}`. `posted`
     * is false when an open question with the key was reused; `answer` is set when the key's
     * question was already approved or declined (then there is nothing to wait for).
     */
    open: (question, params) => call(exported('open'), toMessage(question), toParams(params)),
    /**
     * Step 2: look for a decision for at most `maxWaitMs` (0: look once), blocking meanwhile.
     * Returns `{done: answer}` (approved, declined, or the ask's own timeout passed) or
     * `{open: {approvers, remindersSent, escalated, resume}}` (undecided when the slice ran out:
     * call again). `question` is `{channelId, messageId}` or what `open` returned; `params` must
     * be those the question was opened with. `resume` is optional: the last status (or its
     * `open.resume` string), so this wait continues where that one stopped. Any process can
     * call it without one: nothing is kept between calls.
     */
    wait: (question, params, maxWaitMs, resume) => {
      if (maxWaitMs === undefined || maxWaitMs === null) throw new TypeError('wait needs maxWaitMs');
      const hint = typeof resume === 'string' ? resume : (resume?.open?.resume ?? resume?.resume);
      return fromWaitStatus(
        call(exported('wait'), toQuestionRef(question), toParams(params), u64(maxWaitMs), hint ?? undefined),
      );
    },
    /**
     * Step 3: edit the question so people stop answering it. `reason` is the answer (shows the
     * outcome: approved, declined, timed out) or a string (shows it as cancelled, e.g.
     * 'interrupted'). Returns nothing; throws AlertError.
     */
    close: (question, params, reason) =>
      call(exported('close'), toQuestionRef(question), toParams(params), toCloseReason(reason)),
    /** ZenML's hooks: `onSuccess(context, params)` and `onFailure(context, exception, params)`. */
    hooks: {
      onSuccess: (ctx, params) => call(component.hooks.onSuccess, ctx, toParams(params)),
      onFailure: (ctx, exc, params) => call(component.hooks.onFailure, ctx, exc, toParams(params)),
    },
  };
}

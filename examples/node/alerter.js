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
// out. Run it in a worker thread or a child process if the process must stay responsive.
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

/** Params as in WIT (camelCase); lists may be left out and milliseconds may be numbers. */
function toParams(p = {}) {
  const a = p.ask;
  return {
    ...p,
    mentionUsers: p.mentionUsers ?? [],
    mentionRoles: p.mentionRoles ?? [],
    ask: a && {
      ...a,
      timeoutMs: u64(a.timeoutMs),
      pollIntervalMs: u64(a.pollIntervalMs),
      approvers: a.approvers ?? [],
      approverRoles: a.approverRoles ?? [],
      ignoreCase: a.ignoreCase ?? false,
    },
  };
}

/**
 * @param {object} o
 * @param {string} o.token            the bot token (kept in secrets.js, revealed to the guest)
 * @param {string} [o.apiBaseUrl]     default https://discord.com/api/v10
 * @param {string} [o.defaultChannelId]
 * @param {string[]} o.allowedHosts   where the component may connect, enforced on every request:
 *   `host` (https:443), `host:port` (either scheme) or `http(s)://host[:port]`; [] denies all
 * @param {number} [o.askTimeoutSeconds]
 * @param {number} [o.deliveryDeadlineSeconds]
 */
export function createAlerter({
  token,
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
  const secrets = { discord_token: token };
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

  return {
    /** Post a message; returns `{channelId, messageIds}` or throws AlertError. */
    post: (message, params) => call(component.alerter.post, toMessage(message), toParams(params)),
    /** Ask and wait (blocking); returns the answer (`approved`, `decision`, `responder`, ...). */
    ask: (question, params) => call(component.alerter.ask, toMessage(question), toParams(params)),
    /** ZenML's hooks: `onSuccess(context, params)` and `onFailure(context, exception, params)`. */
    hooks: {
      onSuccess: (ctx, params) => call(component.hooks.onSuccess, ctx, toParams(params)),
      onFailure: (ctx, exc, params) => call(component.hooks.onFailure, ctx, exc, toParams(params)),
    },
  };
}

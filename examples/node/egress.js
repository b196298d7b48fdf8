// An allow-list in front of wasi:http/outgoing-handler@0.2.12 for jco.
//
// Mapped with `--map 'wasi:http/outgoing-handler=../egress.js'`: every request the component
// makes goes through `handle` below. A request whose scheme + authority is not allowed fails with
// the wasi:http error-code `HTTP-request-denied` (jco lowers a thrown variant as the `err` of the
// result), which the guest reports as a `transport` error. Allowed requests go to preview2-shim's
// handler (Node's HTTP client, run synchronously on the shim's worker thread).
//
// Allow-list entries (hosts compare case-insensitively; an empty list denies everything):
//   `host`                    https on port 443 only (a bare host never allows plain http)
//   `host:port`               http or https on that port (e.g. a local emulator)
//   `scheme://host[:port]`    that scheme only; the port defaults to 443 (https) or 80 (http)

import { outgoingHandler } from '@bytecodealliance/preview2-shim/http';

let rules = [];

function defaultPort(scheme) {
  return scheme === 'http' ? '80' : scheme === 'https' ? '443' : undefined;
}

function parseRule(entry) {
  const m = /^(?:(https?):\/\/)?([^/:@]+|\[[^\]]+\])(?::(\d+))?\/?$/i.exec(String(entry).trim());
  if (!m) throw new Error(`bad allow-list entry: ${JSON.stringify(entry)}`);
  let scheme = m[1]?.toLowerCase();
  if (scheme === undefined && m[3] === undefined) scheme = 'https';
  return { scheme, host: m[2].toLowerCase(), port: m[3] ?? (scheme && defaultPort(scheme)) };
}

/** Replace the allow-list. */
export function setAllowedHosts(list) {
  rules = (list ?? []).map(parseRule);
}

function schemeOf(request) {
  const s = request.scheme();
  if (!s) return 'https'; // what preview2-shim assumes for a request without a scheme
  return s.tag === 'other' ? s.val.toLowerCase() : s.tag.toLowerCase();
}

/** Whether a request to `scheme://authority` is allowed (exported for tests and docs). */
export function isAllowed(scheme, authority) {
  if (!authority || authority.includes('@')) return false;
  const m = /^([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(authority);
  if (!m) return false;
  const host = m[1].toLowerCase();
  const port = m[2] ?? defaultPort(scheme);
  return rules.some(
    (r) => r.host === host && r.port === port && (r.scheme === undefined || r.scheme === scheme),
  );
}

/** wasi:http/outgoing-handler#handle */
export function handle(request, options) {
  const scheme = schemeOf(request);
  if (scheme !== 'http' && scheme !== 'https') throw { tag: 'HTTP-protocol-error' };
  if (!isAllowed(scheme, request.authority())) throw { tag: 'HTTP-request-denied' };
  return outgoingHandler.handle(request, options);
}

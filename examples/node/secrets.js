// wasmcloud:secrets@0.1.0-draft (store + reveal) for jco, shaped like wasmCloud's host.
//
// Mapped with `--map 'wasmcloud:secrets/*=../secrets.js#*'`, so the transpiled component imports
// `store` and `reveal` from this module. A secret is an opaque resource: the `Secret` object holds
// only the key; its value is looked up when the guest calls `reveal`, the one audited read.

let values = new Map();
let keyOf;

/** The `secret` resource. The guest cannot construct one; `store.get` hands it out. */
class Secret {
  #key;
  constructor(key) {
    this.#key = key;
  }
  static {
    keyOf = (s) => s.#key;
  }
  toString() {
    return `Secret(${this.#key})`; // never the value
  }
}

/** Replace every secret (key -> string). */
export function setSecrets(obj) {
  values = new Map(
    Object.entries(obj ?? {}).filter(([, v]) => v !== undefined && v !== null),
  );
}

export const store = {
  Secret,
  /** get: func(key) -> result<secret, secrets-error>; an error is thrown as its variant. */
  get(key) {
    if (!values.has(key)) throw { tag: 'not-found' };
    return new Secret(key);
  },
};

export const reveal = {
  /** reveal: func(s: borrow<secret>) -> secret-value */
  reveal(secret) {
    if (!(secret instanceof Secret)) throw new TypeError('not a Secret');
    const v = values.get(keyOf(secret));
    if (v === undefined) {
      // The secret was removed after `get`: the WIT has no error here, so trap.
      throw new Error(`secret ${keyOf(secret)} is no longer available`);
    }
    return v instanceof Uint8Array ? { tag: 'bytes', val: v } : { tag: 'string', val: String(v) };
  },
};

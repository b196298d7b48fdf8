// wasi:config/store@0.2.0-rc.1 for jco: settings from a plain JS object.
//
// jco maps `get: func(key) -> result<option<string>, error>` to a function that returns the
// string (or undefined for "not set") and throws the error variant ({tag: 'upstream'|'io', val}).
// Values are kept as strings, the only type wasi:config knows.

let values = new Map();

/** Replace every setting. `undefined`/`null` values are treated as "not set". */
export function setConfig(obj) {
  values = new Map(
    Object.entries(obj ?? {})
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, String(v)]),
  );
}

/** wasi:config/store#get */
export function get(key) {
  return values.get(key);
}

/** wasi:config/store#get-all */
export function getAll() {
  return [...values.entries()];
}

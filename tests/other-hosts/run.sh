#!/usr/bin/env bash
# Runs the alerter-discord component unchanged in other hosts: Node (jco + preview2-shim) and
# Python (wasmtime-py), each against the Discord emulator, plus a check of the component's imports.
#
#   bash tests/other-hosts/run.sh
#
# Needs: node >= 20 with npm, python3 >= 3.9, the built component and `alerter` binary
# (`cargo build --release -p alerter-host`). Installs into examples/node/node_modules and
# tests/other-hosts/.py (only when missing or out of date). Each suite runs in its own process
# group, which is killed afterwards, so no emulator outlives the script.
# Prints `N passed, N failed` last (both suites and the import check) and exits non-zero on failure.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE_DIR="$ROOT/examples/node"
PY_EX_DIR="$ROOT/examples/python"
PY_DIR="$HERE/.py"
WASM="${ALERTER_WASM:-$ROOT/target/guest/wasm32-wasip2/guest/alerter_discord.wasm}"
BIN="${ALERTER_BIN:-$ROOT/target/release/alerter}"
export ALERTER_WASM="$WASM" ALERTER_BIN="$BIN"
SUITE_TIMEOUT="${OTHER_HOSTS_TIMEOUT:-300}"

PASSED=0
FAILED=0
START=$(date +%s)

die() {
    echo "other-hosts: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

# ---- prerequisites ------------------------------------------------------------------------------
[ -f "$WASM" ] || die "no component at $WASM: run \`cargo build --release -p alerter-host\` first"
[ -x "$BIN" ] || die "no alerter binary at $BIN: run \`cargo build --release -p alerter-host\` first"
command -v node >/dev/null || die "node is not installed (Node.js >= 20 is needed)"
command -v npm >/dev/null || die "npm is not installed"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $(node --version) is too old: >= 20 is needed"
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "python3 is not installed"

# ---- installs (quiet; only when needed) ---------------------------------------------------------
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

NODE_STAMP=$(stamp_of "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")
if [ "$(cat "$NODE_DIR/node_modules/.other-hosts-stamp" 2>/dev/null)" != "$NODE_STAMP" ]; then
    echo "== npm ci (examples/node)"
    if ! (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$HERE/.npm.log" 2>&1); then
        tail -n 20 "$HERE/.npm.log" >&2
        die "npm ci failed in examples/node (is the npm registry reachable?); log: $HERE/.npm.log"
    fi
    echo "$NODE_STAMP" >"$NODE_DIR/node_modules/.other-hosts-stamp"
    rm -f "$HERE/.npm.log"
fi

PY_STAMP=$(stamp_of "$PY_EX_DIR/requirements.txt"; "$PYTHON" --version)
if [ "$(cat "$PY_DIR/.stamp" 2>/dev/null)" != "$PY_STAMP" ]; then
    echo "== pip install -r examples/python/requirements.txt (into tests/other-hosts/.py)"
    rm -rf "$PY_DIR"
    if ! "$PYTHON" -m venv "$PY_DIR" >"$HERE/.pip.log" 2>&1; then
        tail -n 5 "$HERE/.pip.log" >&2
        die "cannot create a virtualenv with $PYTHON (install python3-venv); log: $HERE/.pip.log"
    fi
    if ! "$PY_DIR/bin/python" -m pip install -q --disable-pip-version-check \
        --retries 2 -r "$PY_EX_DIR/requirements.txt" >>"$HERE/.pip.log" 2>&1; then
        tail -n 20 "$HERE/.pip.log" >&2
        die "pip install failed (is PyPI reachable? does wasmtime have a wheel for $("$PYTHON" --version) here?); log: $HERE/.pip.log"
    fi
    echo "$PY_STAMP" >"$PY_DIR/.stamp"
    rm -f "$HERE/.pip.log"
fi

JCO="$NODE_DIR/node_modules/.bin/jco"

# ---- the component's imports --------------------------------------------------------------------
echo "== imports of $(basename "$WASM") (jco wit)"
if WIT=$("$JCO" wit "$WASM" 2>&1); then
    IMPORTS=$(printf '%s\n' "$WIT" | sed -n 's/^ *import \([^;]*\);.*/\1/p')
    printf '%s\n' "$IMPORTS" | sed 's/^/  /'
    # Allowed: wasi:http, io, clocks, random, the cli pieces Rust std needs, wasi:config/store,
    # wasmcloud:secrets, and the component's own type-only interface alerter:core/types.
    ALLOWED='^(wasi:(http|io|clocks|random)/[a-z-]+|wasi:cli/(environment|exit|stdin|stdout|stderr|terminal-[a-z]+)|wasi:config/store|wasmcloud:secrets/(store|reveal)|alerter:core/types)@'
    UNEXPECTED=$(printf '%s\n' "$IMPORTS" | grep -Ev "$ALLOWED" || true)
    if [ -z "$IMPORTS" ]; then
        echo "FAIL import check: no imports parsed from jco wit"
        FAILED=$((FAILED + 1))
    elif [ -n "$UNEXPECTED" ]; then
        echo "FAIL import check: unexpected imports (wasi:filesystem / wasi:sockets must not appear):"
        printf '%s\n' "$UNEXPECTED" | sed 's/^/  /'
        FAILED=$((FAILED + 1))
    else
        echo "ok import check: nothing beyond http, io, clocks, random, cli, config, secrets"
        PASSED=$((PASSED + 1))
    fi
else
    printf '%s\n' "$WIT" | tail -n 5
    echo "FAIL import check: jco wit failed"
    FAILED=$((FAILED + 1))
fi

# Run "$@" in its own process group with a time limit; kill the group afterwards.
run_isolated() {
    local label=$1
    shift
    timeout -k 5 "$SUITE_TIMEOUT" "$@" &
    local pid=$!
    wait "$pid"
    local rc=$?
    kill -TERM -- "-$pid" 2>/dev/null || true
    [ "$rc" -eq 124 ] && echo "other-hosts: $label timed out after ${SUITE_TIMEOUT}s" >&2
    return "$rc"
}

# ---- Node ---------------------------------------------------------------------------------------
echo "== Node $(node --version): jco transpile"
rm -rf "$NODE_DIR/out"
if ! (cd "$NODE_DIR" && "$JCO" transpile "$WASM" -o out --name component --quiet \
    --map 'wasi:config/store=../config.js' \
    --map 'wasmcloud:secrets/*=../secrets.js#*' \
    --map 'wasi:http/outgoing-handler=../egress.js'); then
    echo "FAIL node: jco transpile failed"
    FAILED=$((FAILED + 1))
else
    echo "== Node: node --test examples/node/test.mjs"
    NODE_LOG="$HERE/.node.log"
    (cd "$NODE_DIR" && run_isolated "the Node suite" node --test --test-reporter=tap test.mjs) >"$NODE_LOG" 2>&1
    NODE_RC=$?
    cat "$NODE_LOG"
    NP=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$NODE_LOG" | tail -n1)
    NF=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$NODE_LOG" | tail -n1)
    NC=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$NODE_LOG" | tail -n1)
    NP=${NP:-0}
    NF=$(( ${NF:-0} + ${NC:-0} ))
    if [ "$NODE_RC" -ne 0 ] && [ "$NF" -eq 0 ]; then NF=1; fi
    PASSED=$((PASSED + NP))
    FAILED=$((FAILED + NF))
    rm -f "$NODE_LOG"
fi

# ---- Python -------------------------------------------------------------------------------------
echo "== Python $("$PY_DIR/bin/python" --version 2>&1 | cut -d' ' -f2), wasmtime $("$PY_DIR/bin/python" -c 'import importlib.metadata as m; print(m.version("wasmtime"))' 2>/dev/null): examples/python/test_alerter.py"
PY_LOG="$HERE/.python.log"
(cd "$PY_EX_DIR" && PYTHONDONTWRITEBYTECODE=1 run_isolated "the Python suite" "$PY_DIR/bin/python" -c '
import sys, unittest
suite = unittest.defaultTestLoader.loadTestsFromName("test_alerter")
r = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
print("PYCOUNTS", r.testsRun - failed - len(r.skipped), failed)
sys.exit(0 if r.wasSuccessful() else 1)
') >"$PY_LOG" 2>&1
PY_RC=$?
grep -v '^PYCOUNTS' "$PY_LOG"
read -r PP PF < <(sed -n 's/^PYCOUNTS \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$PY_LOG" | tail -n1)
PP=${PP:-0}
PF=${PF:-0}
if [ "$PY_RC" -ne 0 ] && [ "$PF" -eq 0 ]; then PF=1; fi
PASSED=$((PASSED + PP))
FAILED=$((FAILED + PF))
rm -f "$PY_LOG"

echo "== other hosts: $(( $(date +%s) - START )) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

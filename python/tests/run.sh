#!/usr/bin/env bash
# The Python package's tests: a fresh virtualenv, `pip install 'zenml[local]==0.98.0' ./python`
# (which builds the `alerter` binary into the wheel, reusing ../target), then pytest over
# python/tests: the API against the emulator (each exception type, the sandbox with the hostile
# component), the ZenML flavor's logic, and the whole ZenML flow (zenml init ... a gated
# pipeline, ZenML's failure hook and the structured one); then mypy --strict over the package;
# then the API suite again on every other CPython 3.10-3.13 this machine has (pyenv or PATH).
#
#   bash python/tests/run.sh [PYTEST ARGS...]
#
# Needs: python3 >= 3.10 with venv, PyPI, cargo; `cargo build --release -p alerter-host` and
# `cargo test --release -p alerter-e2e` already run (for the hostile test component).
# Prints `N passed, N failed` last and exits non-zero on failure.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
START=$(date +%s)

die() {
    echo "python: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

command -v "$PYTHON" >/dev/null || die "python3 is not installed"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "$("$PYTHON" --version) is too old: the package needs Python >= 3.10"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/alerter-python-tests.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VENV="$WORK/venv"
LOG="$WORK/pip.log"

echo "== a fresh virtualenv ($("$PYTHON" --version)); pip install zenml[local]==0.98.0 ./python"
"$PYTHON" -m venv "$VENV" >"$LOG" 2>&1 || { tail -n 5 "$LOG" >&2; die "cannot create a virtualenv (install python3-venv)"; }
T0=$(date +%s)
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --retries 2 \
    'zenml[local]==0.98.0' 'pytest>=7' 'mypy>=1.10' "$ROOT/python" >>"$LOG" 2>&1; then
    tail -n 30 "$LOG" >&2
    die "pip install failed (is PyPI reachable? does cargo build?)"
fi
echo "   installed in $(( $(date +%s) - T0 )) s"

echo "== pytest python/tests"
REPORT="$WORK/report.txt"
(cd "$ROOT/python" && ALERTER_REQUIRE_ZENML=1 PYTHONDONTWRITEBYTECODE=1 \
    ZENML_ANALYTICS_OPT_IN=false PYTEST_ALERTER_CACHE="$WORK/cache" \
    "$VENV/bin/python" -m pytest -p no:cacheprovider -rA -q tests "$@") | tee "$REPORT"
RC=${PIPESTATUS[0]}
PASSED=$(sed -n 's/^PASSED .*/x/p' "$REPORT" | wc -l)
FAILED=$(grep -cE '^(FAILED|ERROR) ' "$REPORT")
if [ "$RC" -ne 0 ] && [ "$FAILED" -eq 0 ]; then FAILED=1; fi

# The type hints are part of the API (py.typed): they must hold under mypy --strict.
echo "== mypy --strict alerter_discord"
if (cd "$ROOT/python" && "$VENV/bin/python" -m mypy --strict --cache-dir "$WORK/mypy-cache" src/alerter_discord); then
    PASSED=$((PASSED + 1))
else
    FAILED=$((FAILED + 1))
    RC=1
fi
# The other CPython versions the package supports: the API suite (without ZenML) on each one
# this machine has, and a line for each one it lacks.
find_python() { # 3.12 -> an interpreter of that version that runs, or nothing
    local root c
    root=$(pyenv root 2>/dev/null) || root=""
    for c in "$(command -v "python$1" 2>/dev/null)" \
        $( [ -n "$root" ] && ls -d "$root"/versions/"$1".*/bin/"python$1" 2>/dev/null | sort -rV); do
        if [ -n "$c" ] && "$c" -c 'import sys' >/dev/null 2>&1; then
            echo "$c"
            return
        fi
    done
}
MAIN_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for v in 3.10 3.11 3.12 3.13; do
    [ "$v" = "$MAIN_VERSION" ] && continue
    PY=$(find_python "$v")
    if [ -z "$PY" ]; then
        echo "== Python $v: not installed here, not tested"
        continue
    fi
    echo "== Python $v ($PY): pip install ./python, pytest tests/test_api.py"
    V="$WORK/venv-$v"
    if ! { "$PY" -m venv "$V" && "$V/bin/python" -m pip install -q --disable-pip-version-check \
        --retries 2 'pytest>=7' "$ROOT/python"; } >>"$LOG" 2>&1; then
        tail -n 20 "$LOG" >&2
        echo "FAILED install on Python $v"
        FAILED=$((FAILED + 1)); RC=1
        continue
    fi
    VREPORT="$WORK/report-$v.txt"
    (cd "$ROOT/python" && PYTHONDONTWRITEBYTECODE=1 PYTEST_ALERTER_CACHE="$WORK/cache" \
        "$V/bin/python" -m pytest -p no:cacheprovider -rfE -q tests/test_api.py "$@") >"$VREPORT" 2>&1
    VRC=$?
    tail -n 3 "$VREPORT"
    VP=$(grep -oE '[0-9]+ passed' "$VREPORT" | tail -n 1 | cut -d' ' -f1)
    VF=$(grep -cE '^(FAILED|ERROR) ' "$VREPORT")
    if [ "$VRC" -ne 0 ] && [ "$VF" -eq 0 ]; then VF=1; fi
    PASSED=$((PASSED + ${VP:-0})); FAILED=$((FAILED + VF))
    [ "$VRC" -eq 0 ] || RC=1
done

echo "== python: $(( $(date +%s) - START )) s"
echo "$PASSED passed, $FAILED failed"
[ "$RC" -eq 0 ]

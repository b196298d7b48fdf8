#!/usr/bin/env bash
# The Python package's tests: a fresh virtualenv, `pip install 'zenml[local]==0.98.0' ./python`
# (which builds the `alerter` binary into the wheel, reusing ../target), then pytest over
# python/tests: the API against the emulator (each exception type, the sandbox with the hostile
# component), the ZenML flavor's logic, and the whole ZenML flow (zenml init ... a gated
# pipeline, ZenML's failure hook and the structured one); then mypy --strict over the package.
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
echo "== python: $(( $(date +%s) - START )) s"
echo "$PASSED passed, $FAILED failed"
[ "$RC" -eq 0 ]

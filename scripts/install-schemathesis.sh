#!/usr/bin/env bash
# Creates .venv-schemathesis with a pinned schemathesis (the OpenAPI fuzzer test/integration/api-fuzz
# runs against `wal api`). Idempotent: does nothing when the venv already has that version. Exits
# non-zero with the reason when it cannot be installed, so the fuzz test fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="4.32.5"
VENV=".venv-schemathesis"
log() { echo "install-schemathesis: $*"; }
fail() { echo "install-schemathesis: ERROR: $*" >&2; exit 1; }

if [ -x "$VENV/bin/schemathesis" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$VERSION" ]; then
  log "schemathesis $VERSION present in $VENV"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || fail "python3 not found (schemathesis $VERSION needs Python >= 3.9)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' || fail "$(python3 --version) is too old: schemathesis $VERSION needs Python >= 3.9"
rm -rf "$VENV"
python3 -m venv "$VENV" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
log "pip install schemathesis==$VERSION into $VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" || fail "pip install schemathesis==$VERSION failed"
"$VENV/bin/schemathesis" --version >/dev/null || fail "$VENV/bin/schemathesis does not run"
log "installed $("$VENV/bin/schemathesis" --version)"

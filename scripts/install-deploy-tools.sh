#!/usr/bin/env bash
# Installs the tools test/unit/helm-chart.test.ts validates the Helm chart with, into a cache shared by
# every checkout of wal on this machine ($WAL_TOOLS_DIR, default ~/.cache/wal-tools):
#   bin/helm                  helm v4, built from source with `go install` (through the Go module proxy)
#   bin/kubernetes-validate   kubernetes-validate from PyPI, in its own venv (offline Kubernetes schemas)
# Idempotent: does nothing for a tool whose pinned version is already there. Exits non-zero with the
# reason when a tool cannot be installed, so the chart test fails instead of skipping.
set -euo pipefail

HELM_VERSION="v4.3.2"
KUBERNETES_VALIDATE_VERSION="1.37.0"
TOOLS="${WAL_TOOLS_DIR:-$HOME/.cache/wal-tools}"
BIN="$TOOLS/bin"
log() { echo "install-deploy-tools: $*"; }
fail() { echo "install-deploy-tools: ERROR: $*" >&2; exit 1; }
mkdir -p "$BIN"
# One install at a time per cache: .ci/run starts this script in the background early (the Go build
# overlaps npm ci, the build and the jar fetch) and pretest's own call waits here for it to finish.
exec 9>"$TOOLS/.install.lock"
flock 9

# ── helm ─────────────────────────────────────────────────────────────────────────────────────────
helm_version() { "$BIN/helm" version --template '{{.Version}}' 2>/dev/null || true; }
if [ -x "$BIN/helm" ] && [ "$(helm_version)" = "$HELM_VERSION" ]; then
  log "helm $HELM_VERSION present in $BIN"
else
  GO="$(command -v go || true)"
  if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
  [ -n "$GO" ] || fail "go not found (on the PATH or /usr/local/go/bin): helm $HELM_VERSION is built with go install"
  # Measured: 8 min 20 s the first time (modules and build cache empty) on a 2-core machine shared
  # with other builds; 37 s with the Go build cache warm.
  log "building helm $HELM_VERSION with $("$GO" version | cut -d' ' -f3) (go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION; the first build takes several minutes)"
  started=$(date +%s)
  # GOTOOLCHAIN=local: build with the Go that is here rather than downloading the one helm's go.mod names.
  # -X version: what helm's own Makefile stamps in; a plain go install would report "v4.3".
  GOBIN="$BIN" GOTOOLCHAIN=local "$GO" install -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
    || fail "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed (is the Go module proxy reachable? GOPROXY=$("$GO" env GOPROXY))"
  [ "$(helm_version)" = "$HELM_VERSION" ] || fail "$BIN/helm reports '$(helm_version)', expected $HELM_VERSION"
  log "installed helm $HELM_VERSION in $(( $(date +%s) - started ))s"
fi

# ── kubernetes-validate ──────────────────────────────────────────────────────────────────────────
VENV="$TOOLS/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
if [ -x "$VENV/bin/kubernetes-validate" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null)" = "$KUBERNETES_VALIDATE_VERSION" ]; then
  log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION present in $VENV"
else
  command -v python3 >/dev/null 2>&1 || fail "python3 not found (kubernetes-validate needs Python >= 3.9)"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  log "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    || fail "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION failed"
  "$VENV/bin/kubernetes-validate" --version >/dev/null || fail "$VENV/bin/kubernetes-validate does not run"
  log "installed kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
fi
ln -sfn "$VENV/bin/kubernetes-validate" "$BIN/kubernetes-validate"

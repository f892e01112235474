#!/usr/bin/env bash
# Installs the real servers the tests deliver to (PostgreSQL, Redis, memcached) from Debian's packages.
# Idempotent: installs only what is missing, runs `apt-get update` at most once, says what it did,
# and exits non-zero with a reason when something cannot be installed.
set -euo pipefail

log() { echo "install-system-deps: $*"; }
fail() { echo "install-system-deps: ERROR: $*" >&2; exit 1; }

have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_redis() { [ -x /usr/bin/redis-server ] || command -v redis-server >/dev/null 2>&1; }
have_memcached() { [ -x /usr/bin/memcached ] || command -v memcached >/dev/null 2>&1; }
# saslpasswd2 writes the user database of the memcached SASL test.
have_saslpasswd2() { [ -x /usr/sbin/saslpasswd2 ] || command -v saslpasswd2 >/dev/null 2>&1; }

missing=()
if have_postgres; then log "postgresql present: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"; else missing+=(postgresql); fi
if have_redis; then log "redis-server present: $(command -v redis-server || echo /usr/bin/redis-server)"; else missing+=(redis-server); fi
if have_memcached; then log "memcached present: $(command -v memcached || echo /usr/bin/memcached)"; else missing+=(memcached); fi
if have_saslpasswd2; then log "saslpasswd2 present: $(command -v saslpasswd2 || echo /usr/sbin/saslpasswd2)"; else missing+=(sasl2-bin); fi

if [ ${#missing[@]} -eq 0 ]; then
  log "nothing to install"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${missing[*]} with this system's package manager"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo: run as root to install ${missing[*]}"
  SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
"${SUDO[@]}" apt-get update -qq || fail "apt-get update failed"
log "apt-get install -y ${missing[*]}"
# --no-install-recommends keeps the install small; the tests start private instances themselves,
# so the packaged system services are not needed (and may not start in a container: that is fine).
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" || fail "apt-get install ${missing[*]} failed"

have_postgres || fail "postgresql installed but no /usr/lib/postgresql/*/bin/postgres found"
have_redis || fail "redis-server installed but not found"
have_memcached || fail "memcached installed but not found"
have_saslpasswd2 || fail "sasl2-bin installed but no saslpasswd2 found"
log "installed ${missing[*]}"

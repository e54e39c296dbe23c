# shellcheck shell=bash
# Shared helpers for Gatehouse scripts. Source this file; do not execute it.

if [[ -n "${_GATEHOUSE_COMMON_SH:-}" ]]; then
  return 0
fi
_GATEHOUSE_COMMON_SH=1

GATEHOUSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The real Python clients' sources (pip, huggingface_hub 1.x and 0.26.5, filelock) that the end-to-end tests run.
GATEHOUSE_CLIENTS="${GATEHOUSE_CLIENTS:-$GATEHOUSE_ROOT/../shared/clients}"
if [[ -d "$GATEHOUSE_CLIENTS" ]]; then
  GATEHOUSE_CLIENTS="$(cd "$GATEHOUSE_CLIENTS" && pwd)"
fi

# ensure_debian_packages PKG...: installs with apt those not installed yet (as root, or through sudo).
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "   apt-get install ${missing[*]}"
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# free_ports N: prints N distinct free TCP ports on 127.0.0.1, one per line.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# wait_http URL SECONDS: waits until URL answers with any HTTP status.
wait_http() {
  local url="$1" deadline=$((SECONDS + $2))
  until curl -s -o /dev/null "$url"; do
    if ((SECONDS > deadline)); then
      return 1
    fi
    sleep 0.5
  done
}

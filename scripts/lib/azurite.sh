# shellcheck shell=bash
# Azurite helpers for Gatehouse scripts and tests. Source this file; do not execute it.
#
#   source scripts/lib/azurite.sh
#   azurite_install                                   # npm ci in scripts/azurite when needed
#   azurite_start /tmp/az1 21000 21001 21002          # background Azurite; waits until the 3 ports answer
#   export GATEHOUSE_TEST_STORAGE="$(azurite_connection_string 21000 21001 21002)"
#   azurite_stop                                      # stops the Azurite(s) started by this shell
#
# Azurite is pinned to 3.35.0 in scripts/azurite/package.json: it is the last release that supports Node 20
# (3.36 needs Node >= 21, 3.37 Node >= 22). Ports are explicit so several Azurites can run side by side
# (the default 10000-10002 may already be taken). Functions return non-zero on failure and never call `exit`,
# so they are safe to use from `set -euo pipefail` scripts and interactive shells alike.

if [[ -n "${_GATEHOUSE_AZURITE_SH:-}" ]]; then
  return 0
fi
_GATEHOUSE_AZURITE_SH=1

AZURITE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../azurite" && pwd)"
AZURITE_BIN="$AZURITE_DIR/node_modules/.bin/azurite"
# Well-known development-storage account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT_NAME="devstoreaccount1"
AZURITE_ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_START_TIMEOUT_SECONDS="${AZURITE_START_TIMEOUT_SECONDS:-30}"
# PID of the most recent azurite_start; _AZURITE_PIDS holds every PID started by this shell.
AZURITE_PID=""
_AZURITE_PIDS=()
_AZURITE_DIRS=()

_azurite_log() { printf '[azurite] %s\n' "$*" >&2; }

# Succeeds when something accepts TCP connections on 127.0.0.1:<port>.
_azurite_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_azurite_is_port() {
  [[ "$1" =~ ^[0-9]+$ ]] && (("$1" > 0 && "$1" < 65536))
}

# Succeeds when <pid> is alive and is an Azurite process (guards against PID reuse).
_azurite_pid_is_azurite() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q azurite
  fi
}

# azurite_install: runs `npm ci` in scripts/azurite when node_modules is missing or stale
# (no binary, lockfile newer than the installed tree, or installed version differs from the pin).
azurite_install() {
  local pinned installed="" reason=""
  pinned="$(node -p "require('$AZURITE_DIR/package.json').dependencies.azurite" 2>/dev/null)" || {
    _azurite_log "cannot read $AZURITE_DIR/package.json (is node installed?)"
    return 1
  }
  if [[ ! -x "$AZURITE_BIN" ]]; then
    reason="node_modules missing"
  elif [[ ! -f "$AZURITE_DIR/node_modules/.package-lock.json" ||
    "$AZURITE_DIR/package-lock.json" -nt "$AZURITE_DIR/node_modules/.package-lock.json" ]]; then
    reason="package-lock.json changed"
  else
    installed="$(node -p "require('$AZURITE_DIR/node_modules/azurite/package.json').version" 2>/dev/null || true)"
    [[ "$installed" == "$pinned" ]] || reason="installed azurite '${installed:-?}' != pinned '$pinned'"
  fi
  if [[ -z "$reason" ]]; then
    return 0
  fi
  _azurite_log "installing azurite@$pinned ($reason)"
  (cd "$AZURITE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || {
    _azurite_log "npm ci failed in $AZURITE_DIR"
    return 1
  }
}

# azurite_start <dataDir> <blobPort> <queuePort> <tablePort>
# Starts Azurite in the background (data and azurite.log in <dataDir>, PID in <dataDir>/azurite.pid and
# $AZURITE_PID) and waits until the three ports accept connections.
azurite_start() {
  if (($# != 4)); then
    _azurite_log "usage: azurite_start <dataDir> <blobPort> <queuePort> <tablePort>"
    return 2
  fi
  local dataDir="$1" blobPort="$2" queuePort="$3" tablePort="$4" port pid log deadline
  for port in "$blobPort" "$queuePort" "$tablePort"; do
    if ! _azurite_is_port "$port"; then
      _azurite_log "invalid port '$port'"
      return 2
    fi
    if _azurite_port_open "$port"; then
      _azurite_log "port $port on 127.0.0.1 is already in use; pick other ports"
      return 1
    fi
  done
  if [[ "$blobPort" == "$queuePort" || "$blobPort" == "$tablePort" || "$queuePort" == "$tablePort" ]]; then
    _azurite_log "blob, queue and table ports must differ"
    return 2
  fi
  if [[ ! -x "$AZURITE_BIN" ]]; then
    _azurite_log "$AZURITE_BIN not found; run azurite_install first"
    return 1
  fi
  mkdir -p "$dataDir" || return 1
  dataDir="$(cd "$dataDir" && pwd)"
  log="$dataDir/azurite.log"

  "$AZURITE_BIN" \
    --location "$dataDir" \
    --skipApiVersionCheck \
    --disableTelemetry \
    --loose \
    --blobHost 127.0.0.1 --blobPort "$blobPort" \
    --queueHost 127.0.0.1 --queuePort "$queuePort" \
    --tableHost 127.0.0.1 --tablePort "$tablePort" \
    >>"$log" 2>&1 </dev/null &
  pid=$!
  AZURITE_PID="$pid"
  _AZURITE_PIDS+=("$pid")
  _AZURITE_DIRS+=("$dataDir")
  echo "$pid" >"$dataDir/azurite.pid"

  deadline=$((SECONDS + AZURITE_START_TIMEOUT_SECONDS))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      _azurite_log "azurite (pid $pid) exited during startup; last lines of $log:"
      tail -n 30 "$log" >&2
      rm -f "$dataDir/azurite.pid"
      return 1
    fi
    if _azurite_port_open "$blobPort" && _azurite_port_open "$queuePort" && _azurite_port_open "$tablePort"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      _azurite_log "azurite (pid $pid) did not open ports $blobPort/$queuePort/$tablePort within ${AZURITE_START_TIMEOUT_SECONDS}s; last lines of $log:"
      tail -n 30 "$log" >&2
      _azurite_kill "$pid"
      rm -f "$dataDir/azurite.pid"
      return 1
    fi
    sleep 0.2
  done
  _azurite_log "started pid $pid (blob $blobPort, queue $queuePort, table $tablePort, data $dataDir)"
}

# Terminates one Azurite PID: TERM, then KILL after 10 s.
_azurite_kill() {
  local pid="$1" i
  _azurite_pid_is_azurite "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  _azurite_log "pid $pid ignored SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# azurite_stop [dataDir]
# Without argument: stops every Azurite started by this shell. With <dataDir>: stops the Azurite whose PID is
# recorded in <dataDir>/azurite.pid (e.g. one started by another script).
azurite_stop() {
  local pid i keptPids=() keptDirs=()
  if (($# >= 1)); then
    local pidFile="$1/azurite.pid"
    [[ -f "$pidFile" ]] || return 0
    pid="$(<"$pidFile")"
    _azurite_kill "$pid"
    rm -f "$pidFile"
    for i in "${!_AZURITE_PIDS[@]}"; do
      if [[ "${_AZURITE_PIDS[$i]}" != "$pid" ]]; then
        keptPids+=("${_AZURITE_PIDS[$i]}")
        keptDirs+=("${_AZURITE_DIRS[$i]}")
      fi
    done
    _AZURITE_PIDS=("${keptPids[@]}")
    _AZURITE_DIRS=("${keptDirs[@]}")
    [[ "$AZURITE_PID" != "$pid" ]] || AZURITE_PID=""
    return 0
  fi
  for i in "${!_AZURITE_PIDS[@]}"; do
    _azurite_kill "${_AZURITE_PIDS[$i]}"
    rm -f "${_AZURITE_DIRS[$i]}/azurite.pid"
  done
  _AZURITE_PIDS=()
  _AZURITE_DIRS=()
  AZURITE_PID=""
}

# azurite_connection_string <blobPort> <queuePort> <tablePort>
# Echoes the full devstoreaccount1 connection string for an Azurite on 127.0.0.1 with those ports.
azurite_connection_string() {
  if (($# != 3)); then
    _azurite_log "usage: azurite_connection_string <blobPort> <queuePort> <tablePort>"
    return 2
  fi
  local base="http://127.0.0.1"
  printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s:%s/%s;QueueEndpoint=%s:%s/%s;TableEndpoint=%s:%s/%s;\n' \
    "$AZURITE_ACCOUNT_NAME" "$AZURITE_ACCOUNT_KEY" \
    "$base" "$1" "$AZURITE_ACCOUNT_NAME" \
    "$base" "$2" "$AZURITE_ACCOUNT_NAME" \
    "$base" "$3" "$AZURITE_ACCOUNT_NAME"
}

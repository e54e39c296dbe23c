#!/usr/bin/env bash
# Measures Gatehouse against its performance targets on this machine. Starts a private Azurite, the upstream simulator
# and the standalone host on free ports, runs each measurement, prints one table, and stops everything it started.
#   scripts/bench.sh                        # everything: about 10 minutes on 2 cores and up to ~25 GB of temporary disk
#   scripts/bench.sh --only index,coldmiss  # some of: hash, archivesafety, index, coldmiss, staging, throughput, memory,
#                                           # scanner, densepickle, hflfs, prefetch, policy, policyindex, osvimport, upload,
#                                           # rescan, console, oci
#   scripts/bench.sh --no-build             # use the Release binaries already built
# Results (JSON per measurement, wrk output, host logs, report.md) go to .gatehouse/bench/<time>/; temporary data
# (Azurite, synthetic wheels, the scanner's pickle and checkpoint) is deleted at the end unless BENCH_KEEP=1.
# Sizes: BENCH_COLD_BYTES (50000000), BENCH_COLD_RUNS (3), BENCH_THROUGHPUT_BYTES (1 GiB), BENCH_MEMORY_BYTES (2 GiB),
# BENCH_REPEAT (3), BENCH_WRK_SECONDS (15). Installs wrk and nginx-light with apt-get when they are missing.
# coldmiss also runs BENCH_COLD_BIG_RUNS (1) wheels of BENCH_COLD_BIG_BYTES (537000000), and runs every cold case twice, side by
# side: first on a host with the cold path's new parts turned off (one block in flight, no local copy, each check its own
# activity after the fetch), then on the default host; the report gives TTFB ÷ fetch for each (target ≤ 1.3).
# archivesafety: the archive check over a 50 MB wheel of random data in memory, stored, deflate-6 and deflate-1 (BenchmarkDotNet).
# staging: StagingWriter staging BENCH_STAGING_BYTES (200000000) from memory into Azurite, 1 block in flight vs 4, BENCH_STAGING_RUNS (3).
# hflfs: one synthetic safetensors file of BENCH_HF_LFS_BYTES (5000000000) through /hf resolve on a fresh host, cold then
# warm, host RSS sampled throughout (PASS/FAIL against 300 MB); ~10 GB of Azurite disk at the default size.
# prefetch: two synthetic 20-file repos (2 small text files, 8 pickles of mean BENCH_PREFETCH_PICKLE_BYTES (12000000),
# 10 safetensors of mean BENCH_PREFETCH_SAFETENSORS_BYTES (30000000)); one resolved a file at a time, the other through
# POST /admin/prefetch/hf with an admin token (the half that needs that API records why it did not run, if it is absent).
# scanner: the checkpoint is made with torch.save when some python3 on PATH (or /usr/bin/python3, Debian's
# python3-torch) imports torch, otherwise built by hand with zipfile; BENCH_SCANNER_NO_TORCH=1 forces the latter.
# densepickle: `gatehouse scan` as a whole process (JIT build, and a ReadyToRun publish) against picklescan on
# pickle.dumps({f'k{i}': (i, float(i), 'v') for i in range(BENCH_DENSE_ENTRIES (1000000))}, protocol=4), alternating,
# BENCH_DENSE_RUNS (3) rounds: wall, CPU and peak RSS per process. picklescan runs from a source checkout at
# BENCH_PICKLESCAN_SRC (PYTHONPATH=<it>/src, this python3); without it only gatehouse is measured.
# policy: one decision under a generated 200-rule, 50-exception policy where every rule is asked (BenchmarkDotNet, plus
# BENCH_POLICY_CALLS (200000) single decisions each timed for per-decision percentiles).
# policyindex: a BENCH_INDEX_VERSIONS-release (500) project's page (JSON) on a fresh host, under the default policy with
# OSV advisories over ranges of it vs a policy with no rules, BENCH_INDEX_ROUNDS (2) rounds of BENCH_INDEX_REQUESTS (400)
# sequential GETs each, plus BENCH_INDEX_UNCACHED (15) GETs each after the 3 s judgement cache has expired.
# osvimport: OsvImporter.ImportAsync of a synthetic BENCH_OSV_RECORDS-record (20000) export into Azurite, first import
# and re-import, wall time and the benchmark process's peak RSS.
# upload: BENCH_UPLOAD_RUNS (3) random files of BENCH_UPLOAD_BYTES (100000000) written into uploads with the Azure SDK, from
# the write returning to the facts row and to the upload's decision; the host's watcher lists every BENCH_UPLOAD_WATCH_SECONDS (5).
# rescan: BENCH_RESCAN_COUNT (10000) cached verdicts seeded straight into Azurite under an older policy version, then one
# POST /admin/rescan on a fresh host timed until GET /admin/rescan reports it completed (verdicts decided again per second).
# console: BENCH_CONSOLE_COUNT (100000) references with decisions (90 % allowed, over 30 days) seeded straight into Azurite,
# then, on a fresh host, GET /admin/stats cold, warm (cached) and after its cache lapsed, GET /admin/quarantine?limit=50,
# and GET /admin/artifacts (newest, by subject): median and p95 at the client on the loopback; then, when Debian's chromium
# and chromium-driver are installed, the overview's time to interactive in the browser (cached, and after the cache lapsed).
# oci: container images through /v2/ on a host whose Docker Hub is the simulator. The simulator's synthetic
# BENCH_OCI_IMAGE (synthetic/layer1g:1.0, one ~1 GB gzip-stored layer) is pulled cold, then its layer is read
# BENCH_OCI_REPEAT (5) times through Gatehouse and straight from artifacts in Azurite, alternating (HttpClient and curl);
# and BENCH_OCI_COLD_IMAGE (synthetic/layers5x100m, 5 layers of ~100 MB) is made ahead under BENCH_OCI_COLD_TAGS
# (cold-1,cold-2,cold-3; another tag is another seed, so each pull is cold) and pulled once per tag, the time to the
# manifest split by the host log into each layer's fetch and read. Needs ~4 GB of temporary disk; about 5 minutes.
# CI does not run this script.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$GATEHOUSE_ROOT/scripts/lib/azurite.sh"
cd "$GATEHOUSE_ROOT"

only="hash,archivesafety,index,coldmiss,staging,throughput,memory,scanner,densepickle,hflfs,prefetch,policy,policyindex,osvimport,upload,rescan,console,oci"
build=true
while (($# > 0)); do
  case "$1" in
    --only) only="$2"; shift ;;
    --no-build) build=false ;;
    -h|--help) sed -n '2,50p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
wants() { [[ ",$only," == *",$1,"* ]]; }
# Other work on the machine skews every figure; the 1-minute load average is recorded before each measurement.
note_load() { echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) before $1" >>"$results/load.txt"; }
size_label() { # 1073741824 -> "1 GiB", 50000000 -> "50 MB"
  if (($1 % 1073741824 == 0)); then echo "$(($1 / 1073741824)) GiB"; elif (($1 % 1000000 == 0)); then echo "$(($1 / 1000000)) MB"; else echo "$1 bytes"; fi
}

cold_bytes="${BENCH_COLD_BYTES:-50000000}"
cold_runs="${BENCH_COLD_RUNS:-3}"
cold_big_bytes="${BENCH_COLD_BIG_BYTES:-537000000}"
cold_big_runs="${BENCH_COLD_BIG_RUNS:-1}"
staging_bytes="${BENCH_STAGING_BYTES:-200000000}"
staging_runs="${BENCH_STAGING_RUNS:-3}"
upload_bytes="${BENCH_UPLOAD_BYTES:-100000000}"
upload_runs="${BENCH_UPLOAD_RUNS:-3}"
upload_watch_seconds="${BENCH_UPLOAD_WATCH_SECONDS:-5}"
throughput_bytes="${BENCH_THROUGHPUT_BYTES:-1073741824}"
memory_bytes="${BENCH_MEMORY_BYTES:-2147483648}"
repeat="${BENCH_REPEAT:-3}"
wrk_seconds="${BENCH_WRK_SECONDS:-15}"
hf_lfs_bytes="${BENCH_HF_LFS_BYTES:-5000000000}"
prefetch_pickle_bytes="${BENCH_PREFETCH_PICKLE_BYTES:-12000000}"
prefetch_safetensors_bytes="${BENCH_PREFETCH_SAFETENSORS_BYTES:-30000000}"
policy_calls="${BENCH_POLICY_CALLS:-200000}"
index_versions="${BENCH_INDEX_VERSIONS:-500}"
index_rounds="${BENCH_INDEX_ROUNDS:-2}"
index_requests="${BENCH_INDEX_REQUESTS:-400}"
index_uncached="${BENCH_INDEX_UNCACHED:-15}"
osv_records="${BENCH_OSV_RECORDS:-20000}"
rescan_count="${BENCH_RESCAN_COUNT:-10000}"
console_count="${BENCH_CONSOLE_COUNT:-100000}"
oci_image="${BENCH_OCI_IMAGE:-synthetic/layer1g:1.0}"
oci_repeat="${BENCH_OCI_REPEAT:-5}"
oci_cold_image="${BENCH_OCI_COLD_IMAGE:-synthetic/layers5x100m}"
oci_cold_tags="${BENCH_OCI_COLD_TAGS:-cold-1,cold-2,cold-3}"
pip_accept="application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

results="$GATEHOUSE_ROOT/.gatehouse/bench/$(date -u +%Y%m%dT%H%M%SZ)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")"
mkdir -p "$results"
chmod 755 "$work" # nginx workers (another user when started as root) read the page from here

sim_pid="" host_pid="" nginx_pid=""
stop_pid() { # stop_pid PID: TERM, wait, and KILL after 15 s
  local pid="$1" i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 75; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  trap - INT TERM EXIT
  stop_pid "$nginx_pid"
  stop_pid "$host_pid"
  stop_pid "$sim_pid"
  azurite_stop || true
  cp "$work"/*.log "$results/" 2>/dev/null || true
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "kept temporary data in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports other local jobs use; free_ports hands out ephemeral ports, this only guards against an overlap.
reserved_port() { (($1 == 7171 || $1 == 8090 || $1 == 8190 || ($1 >= 21000 && $1 <= 23002))); }
ports=()
while ((${#ports[@]} < 6)); do
  for p in $(free_ports 6); do
    if ! reserved_port "$p" && [[ " ${ports[*]} " != *" $p "* ]] && ((${#ports[@]} < 6)); then ports+=("$p"); fi
  done
done
blob_port="${ports[0]}" queue_port="${ports[1]}" table_port="${ports[2]}" sim_port="${ports[3]}" host_port="${ports[4]}" nginx_port="${ports[5]}"
gatehouse="http://127.0.0.1:$host_port"
simulator="http://127.0.0.1:$sim_port"

bench=(dotnet tests/Gatehouse.Benchmarks/bin/Release/net10.0/Gatehouse.Benchmarks.dll)
cli=(dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll)

if $build; then
  echo "== building (Release)"
  for project in functions/Gatehouse.Host functions/Gatehouse.Cli tests/Gatehouse.UpstreamSimulator tests/Gatehouse.Benchmarks; do
    dotnet build "$project" -c Release -nologo -v:q -clp:ErrorsOnly
  done
fi
if wants index && ! { command -v wrk && command -v nginx; } >/dev/null; then
  echo "== installing wrk and nginx-light"
  apt-get install -y wrk nginx-light >/dev/null
fi

{
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "dotnet $(dotnet --version); node $(node --version); azurite $(node -p "require('$AZURITE_DIR/package.json').dependencies.azurite")"
  echo "wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); $(nginx -v 2>&1)"
  echo "ports: azurite $blob_port/$queue_port/$table_port, simulator $sim_port, host $host_port, nginx $nginx_port"
} | tee "$results/machine.txt"

if wants hash; then
  note_load hash
  echo "== 4b. SHA-256 micro-benchmark (BenchmarkDotNet), before anything else runs"
  "${bench[@]}" hash --out "$results/hash.json" --artifacts "$work/bdn" >"$results/hash.log" 2>&1 || { tail -40 "$results/hash.log"; exit 1; }
  grep -A8 '^| Method' "$results/hash.log" || true
fi

if wants archivesafety; then
  note_load archivesafety
  echo "== 4c. archive safety over a 50 MB wheel of random data (BenchmarkDotNet): stored, deflate-6, deflate-1"
  "${bench[@]}" archivesafety --out "$results/archivesafety.json" --artifacts "$work/bdn" >"$results/archivesafety.log" 2>&1 || { tail -40 "$results/archivesafety.log"; exit 1; }
  grep -A14 '^| Method' "$results/archivesafety.log" || true
fi

if wants scanner; then
  note_load scanner
  echo "== 5. model scanner (BenchmarkDotNet): the 200,000-entry dict pickle, and a ~122 MB PyTorch checkpoint against sha256"
  fixtures=tests/Gatehouse.Benchmarks/scanner_fixtures.py
  python3 "$fixtures" pickle "$work/b02-dict-200000.pkl" >"$results/scanner-pickle.txt"
  torch_python=""
  if [[ "${BENCH_SCANNER_NO_TORCH:-0}" != 1 ]]; then
    for py in python3 /usr/bin/python3; do
      if command -v "$py" >/dev/null && "$py" -c "import torch" 2>/dev/null; then torch_python="$py"; break; fi
    done
  fi
  if [[ -n "$torch_python" ]]; then
    "$torch_python" "$fixtures" checkpoint "$work/checkpoint.pt" >"$results/scanner-checkpoint.txt"
  else
    python3 "$fixtures" checkpoint "$work/checkpoint.pt" --no-torch >"$results/scanner-checkpoint.txt"
  fi
  cat "$results/scanner-pickle.txt" "$results/scanner-checkpoint.txt"
  scanner_args=(scanner --pickle "$work/b02-dict-200000.pkl" --pickle-opcodes "$(jq -r .opcodes "$results/scanner-pickle.txt")"
    --checkpoint "$work/checkpoint.pt" --checkpoint-source "$(jq -r .source "$results/scanner-checkpoint.txt")"
    --out "$results/scanner.json" --artifacts "$work/bdn")
  printf '%q ' "${bench[@]}" "${scanner_args[@]}" | sed 's/ $/\n/' >"$results/scanner-command.txt"
  "${bench[@]}" "${scanner_args[@]}" >"$results/scanner.log" 2>&1 || { tail -40 "$results/scanner.log"; exit 1; }
  grep -A5 '^| Method' "$results/scanner.log" || true
fi

if wants densepickle; then
  note_load densepickle
  echo "== 5b. gatehouse scan vs picklescan on a dense pickle (whole process; JIT and ReadyToRun)"
  if $build || [[ ! -f "$work/cli-r2r/gatehouse.dll" ]]; then
    dotnet publish functions/Gatehouse.Cli -c Release -r linux-x64 --self-contained false -o "$work/cli-r2r" -nologo -v:q -clp:ErrorsOnly
  fi
  dense_args=(--pickle "$work/dense.pkl" --entries "${BENCH_DENSE_ENTRIES:-1000000}" --runs "${BENCH_DENSE_RUNS:-3}"
    --gatehouse jit "${cli[*]}" --gatehouse r2r "dotnet $work/cli-r2r/gatehouse.dll")
  if [[ -n "${BENCH_PICKLESCAN_SRC:-}" ]]; then dense_args+=(--picklescan-src "$BENCH_PICKLESCAN_SRC"); fi
  printf '%q ' python3 tests/Gatehouse.Benchmarks/dense_pickle_bench.py "${dense_args[@]}" | sed 's/ $/\n/' >"$results/densepickle-command.txt"
  python3 tests/Gatehouse.Benchmarks/dense_pickle_bench.py "${dense_args[@]}" >"$results/densepickle.json" || { cat "$results/densepickle.json"; exit 1; }
  jq -r '.medians | to_entries[] | "\(.key): \(.value.wall_s) s wall, \(.value.cpu_s) s CPU, \(.value.peak_rss_mib) MiB peak RSS (median)"' "$results/densepickle.json"
  jq -r '(.picklescan_over_gatehouse_wall // {}) | to_entries[] | "picklescan / gatehouse \(.key): \(.value)x wall"' "$results/densepickle.json"
fi

if wants policy; then
  note_load policy
  echo "== 8. policy evaluation (BenchmarkDotNet): 200 rules, 50 exceptions, every rule asked"
  policy_args=(policy --calls "$policy_calls" --out "$results/policy.json" --artifacts "$work/bdn")
  printf '%q ' "${bench[@]}" "${policy_args[@]}" | sed 's/ $/\n/' >"$results/policy-command.txt"
  "${bench[@]}" "${policy_args[@]}" >"$results/policy.log" 2>&1 || { tail -40 "$results/policy.log"; exit 1; }
  grep -A5 '^| Method' "$results/policy.log" || true
fi

if wants index || wants coldmiss || wants staging || wants throughput || wants memory || wants hflfs || wants prefetch || wants policyindex || wants osvimport || wants upload \
  || wants rescan || wants console || wants oci; then
  echo "== starting Azurite, the upstream simulator and Gatehouse"
  azurite_install
  azurite_start "$work/azurite" "$blob_port" "$queue_port" "$table_port"
  AzureWebJobsStorage="$(azurite_connection_string "$blob_port" "$queue_port" "$table_port")"
  export AzureWebJobsStorage
  dotnet tests/Gatehouse.UpstreamSimulator/bin/Release/net10.0/Gatehouse.UpstreamSimulator.dll \
    --urls "$simulator" --fixtures tests/fixtures/pypi --data "$work/simulator" >"$work/simulator.log" 2>&1 &
  sim_pid=$!
  wait_http "$simulator/simple/" 60 || { echo "simulator did not start; see $work/simulator.log" >&2; exit 1; }
  token="$("${cli[@]}" token create --storage "$AzureWebJobsStorage" --name bench --scope read --format token)"
  if wants prefetch || wants rescan || wants console; then
    admin_token="$("${cli[@]}" token create --storage "$AzureWebJobsStorage" --name bench-admin --scope admin --format token)"
  fi
  if wants oci; then
    oci_token="$("${cli[@]}" token create --storage "$AzureWebJobsStorage" --name bench-oci --scope oci:read --format token)"
  fi
fi

# start_host NAME [KEY=VALUE...]: a fresh host process logging JSON (with timestamps) to $work/host-NAME.log; extra
# settings (configuration only, e.g. a log level) are passed through the environment.
start_host() {
  local name="$1"
  shift
  host_log="$work/host-$name.log"
  env AzureWebJobsStorage="$AzureWebJobsStorage" \
    Gatehouse__PyPI__IndexUrl="$simulator/simple/" \
    Gatehouse__PyPI__JsonApiUrl="$simulator/pypi/" \
    Gatehouse__PyPI__FileHosts="127.0.0.1:$sim_port" \
    Gatehouse__HuggingFace__Endpoint="$simulator" \
    Gatehouse__HuggingFace__FileHosts="127.0.0.1:$sim_port" \
    Gatehouse__Scan__InlineWaitSeconds=600 \
    Gatehouse__Durable__PartitionCount=1 \
    Gatehouse__Durable__LeaseAcquireIntervalSeconds=1 \
    Gatehouse__Durable__LeaseIntervalSeconds=5 \
    Gatehouse__Durable__LeaseRenewIntervalSeconds=2 \
    Gatehouse__Durable__MaxQueuePollingIntervalSeconds=1 \
    Logging__Console__FormatterName=json \
    Logging__Console__FormatterOptions__TimestampFormat="yyyy-MM-ddTHH:mm:ss.fffZ" \
    Logging__Console__FormatterOptions__UseUtcTimestamp=true \
    "$@" \
    dotnet functions/Gatehouse.Host/bin/Release/net10.0/Gatehouse.Host.dll --urls "$gatehouse" >"$host_log" 2>&1 &
  host_pid=$!
  wait_http "$gatehouse/healthz" 90 || { echo "Gatehouse did not start; see $host_log" >&2; tail -20 "$host_log" >&2; exit 1; }
  # One authenticated request so routing, token validation and the storage clients are warm, as in a running service.
  curl -sS -o /dev/null -H "Authorization: Bearer $token" -H "Accept: $pip_accept" "$gatehouse/pypi/simple/gh-demo/"
  sleep 3
}
stop_host() { stop_pid "$host_pid"; host_pid=""; }

if wants index; then
  note_load index
  echo "== 3. cached project page: Gatehouse vs nginx serving the same bytes (wrk -t2 -c32 -d${wrk_seconds}s)"
  start_host index
  page="$work/www/pypi/simple/gh-demo/index.html"
  mkdir -p "$(dirname "$page")" "$work/nginx"
  content_type="$(curl -sS -o "$page" -w '%{content_type}' -H "Authorization: Bearer $token" -H "Accept: $pip_accept" "$gatehouse/pypi/simple/gh-demo/")"
  cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  types { }
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    index index.html;
    location / { default_type "$content_type"; }
  }
}
NGINX
  basic="$(printf '%s:' "$token" | base64 -w0)" # pip sends the token as the Basic user name
  # run_wrk NAME LABEL URL [HOSTLOG]: a 3 s warm-up, then the recorded run; counts the host log lines it caused.
  run_wrk() {
    local name="$1" label="$2" url="$3" log="${4:-}" before=0 lines=()
    wrk -t2 -c32 -d3s -H "Accept: $pip_accept" -H "Authorization: Basic $basic" "$url" >/dev/null
    if [[ -n "$log" ]]; then sleep 1; before="$(wc -l <"$log")"; fi
    wrk -t2 -c32 "-d${wrk_seconds}s" --latency -H "Accept: $pip_accept" -H "Authorization: Basic $basic" "$url" | tee "$results/wrk-$name.txt"
    if [[ -n "$log" ]]; then sleep 1; lines=(--host-log-lines "$(($(wc -l <"$log") - before))"); fi
    "${bench[@]}" wrk --input "$results/wrk-$name.txt" --label "$label" "${lines[@]}" \
      --command "wrk -t2 -c32 -d${wrk_seconds}s --latency -H 'Accept: $pip_accept' -H 'Authorization: Basic <base64(token:)>' $url" \
      --out "$results/index-$name.json" >/dev/null
  }
  # A page logged per request at Information (the host's default levels) fills the disk; keep the head of each log only.
  trim_log() { head -n 200 "$1" >"$1.head" && mv "$1.head" "$1"; }
  run_wrk 1-gatehouse "Gatehouse (default log levels)" "$gatehouse/pypi/simple/gh-demo/" "$host_log"
  stop_host
  trim_log "$host_log"
  start_host index-quiet "Logging__LogLevel__Microsoft.AspNetCore=Warning"
  run_wrk 2-gatehouse-quiet "Gatehouse, Microsoft.AspNetCore logging at Warning" "$gatehouse/pypi/simple/gh-demo/" "$host_log"
  stop_host
  trim_log "$host_log"
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  wait_http "http://127.0.0.1:$nginx_port/" 10 || { echo "nginx did not start" >&2; cat "$work/nginx/error.log" >&2; exit 1; }
  cmp <(curl -sS "http://127.0.0.1:$nginx_port/pypi/simple/gh-demo/") "$page" || { echo "nginx serves different bytes" >&2; exit 1; }
  run_wrk 3-nginx "nginx-light, the same bytes as a static file" "http://127.0.0.1:$nginx_port/pypi/simple/gh-demo/"
  stop_pid "$nginx_pid"
  nginx_pid=""
fi

if wants staging; then
  note_load staging
  echo "== 4d. staging $staging_bytes bytes into Azurite: 1 block in flight vs 4"
  "${bench[@]}" staging --connection-string "$AzureWebJobsStorage" --size "$staging_bytes" --runs "$staging_runs" --out "$results/staging.json"
fi

# cold_cases TAG LABEL: the small and the big cold misses on the running host, each a fresh wheel.
cold_cases() {
  local tag="$1" label="$2" i
  for ((i = 1; i <= cold_runs; i++)); do
    "${bench[@]}" coldmiss --gatehouse "$gatehouse" --token "$token" --simulator "$simulator" --project "bench-cold-$tag-$i" --version 1.0.0 \
      --size "$cold_bytes" --log "$host_log" --connection-string "$AzureWebJobsStorage" --label "$(size_label "$cold_bytes") #$i, $label" --series "small-$tag" \
      --out "$results/coldmiss-1-$tag-small-$i.json"
  done
  for ((i = 1; i <= cold_big_runs; i++)); do
    "${bench[@]}" coldmiss --gatehouse "$gatehouse" --token "$token" --simulator "$simulator" --project "bench-cold-big-$tag-$i" --version 1.0.0 \
      --size "$cold_big_bytes" --log "$host_log" --connection-string "$AzureWebJobsStorage" --label "$(size_label "$cold_big_bytes") #$i, $label" --series "big-$tag" \
      --out "$results/coldmiss-1-$tag-big-$i.json"
  done
}

if wants coldmiss; then
  note_load coldmiss-off
  echo "== 4. cold miss, the cold path's new parts off: $cold_runs fresh wheels of $cold_bytes bytes, $cold_big_runs of $cold_big_bytes"
  start_host coldmiss-off Gatehouse__Staging__BlocksInFlight=1 Gatehouse__Staging__LocalCopyMaxBytes=0 Gatehouse__Staging__ChecksWithFetch=false
  cold_cases off "new parts off"
  stop_host
fi

if wants coldmiss || wants throughput; then
  start_host main
fi

if wants coldmiss; then
  note_load coldmiss
  echo "== 4. cold miss, default settings: $cold_runs fresh wheels of $cold_bytes bytes, $cold_big_runs of $cold_big_bytes"
  cold_cases on "default"
fi

if wants throughput; then
  note_load throughput
  echo "== 1. cached-file throughput: $throughput_bytes bytes, made allowed by one cold GET"
  "${bench[@]}" coldmiss --gatehouse "$gatehouse" --token "$token" --simulator "$simulator" --project bench-throughput --version 1.0.0 \
    --size "$throughput_bytes" --log "$host_log" --connection-string "$AzureWebJobsStorage" --label "$(size_label "$throughput_bytes") (throughput file)" --out "$results/coldmiss-2-throughput.json" >"$work/throughput-cold.json"
  filename="$(jq -r .filename "$work/throughput-cold.json")" sha256="$(jq -r .sha256 "$work/throughput-cold.json")"
  "${bench[@]}" throughput --gatehouse "$gatehouse" --token "$token" --project bench-throughput --filename "$filename" --sha256 "$sha256" \
    --connection-string "$AzureWebJobsStorage" --repeat "$repeat" --out "$results/throughput.json"
fi

if wants memory; then
  note_load memory
  stop_host
  echo "== 2. memory: a fresh host takes a $memory_bytes-byte cold miss, then another fresh host serves it"
  "${bench[@]}" synthetic --simulator "$simulator" --project bench-memory --version 1.0.0 --size "$memory_bytes" >"$work/memory-wheel.json"
  start_host coldmiss-2g
  "${bench[@]}" rss --pid "$host_pid" --case "cold miss of a $(size_label "$memory_bytes") wheel (fetch, scan, promote, serve)" --phase before --out "$results/rss-1-before.json" >/dev/null
  "${bench[@]}" coldmiss --gatehouse "$gatehouse" --token "$token" --simulator "$simulator" --project bench-memory --version 1.0.0 \
    --size "$memory_bytes" --log "$host_log" --connection-string "$AzureWebJobsStorage" --label "$(size_label "$memory_bytes") (memory case, fresh host)" --out "$results/coldmiss-3-memory.json" >/dev/null
  "${bench[@]}" rss --pid "$host_pid" --case "cold miss of a $(size_label "$memory_bytes") wheel (fetch, scan, promote, serve)" --phase after --out "$results/rss-1-after.json"
  stop_host
  start_host serve-2g
  filename="$(jq -r .filename "$work/memory-wheel.json")" sha256="$(jq -r .sha256 "$work/memory-wheel.json")"
  "${bench[@]}" rss --pid "$host_pid" --case "serving the cached $(size_label "$memory_bytes") wheel" --phase before --out "$results/rss-2-before.json" >/dev/null
  "${bench[@]}" download --url "$gatehouse/pypi/files/bench-memory/$sha256/$filename" --token "$token" --label "$(size_label "$memory_bytes") cached" --out "$results/download-memory.json"
  "${bench[@]}" rss --pid "$host_pid" --case "serving the cached $(size_label "$memory_bytes") wheel" --phase after --out "$results/rss-2-after.json"
  stop_host
fi

if wants hflfs; then
  note_load hflfs
  stop_host
  echo "== 6. Hugging Face: a $(size_label "$hf_lfs_bytes") synthetic safetensors file through /hf resolve on a fresh host, cold then warm"
  start_host hflfs
  "${bench[@]}" hflfs --gatehouse "$gatehouse" --token "$token" --simulator "$simulator" --pid "$host_pid" --log "$host_log" \
    --repo bench/big --path model.safetensors --size "$hf_lfs_bytes" --simulator-pid "$sim_pid" --samples "$results/hflfs-rss.csv" --out "$results/hflfs.json" >/dev/null
  stop_host
fi

if wants prefetch; then
  note_load prefetch
  stop_host
  echo "== 7. Hugging Face prefetch: 20 files one at a time through /hf resolve, then 20 others through POST /admin/prefetch/hf"
  start_host prefetch
  "${bench[@]}" prefetch --gatehouse "$gatehouse" --token "$token" --admin-token "$admin_token" --simulator "$simulator" \
    --pid "$host_pid" --log "$host_log" --pickle-bytes "$prefetch_pickle_bytes" --safetensors-bytes "$prefetch_safetensors_bytes" \
    --samples "$results/prefetch-rss.csv" --out "$results/prefetch.json" >/dev/null
  stop_host
fi

if wants policyindex; then
  note_load policyindex
  stop_host
  echo "== 9. a $index_versions-release project's page, filtered (default policy + OSV) vs unfiltered (no rules), on a fresh host"
  "${bench[@]}" policyindex --step setup --simulator "$simulator" --connection-string "$AzureWebJobsStorage" --versions "$index_versions" \
    | tee "$results/policyindex-setup.txt"
  printf 'version: 1\nrules: []\n' >"$work/policy.yaml"
  # The mirror was loaded above; the host's own refresh is kept from replacing it (no export URLs it can reach, a yearly schedule).
  start_host policyindex "Logging__LogLevel__Microsoft.AspNetCore=Warning" Gatehouse__Policy__File="$work/policy.yaml" Gatehouse__Policy__ReloadSeconds=1 \
    Gatehouse__Osv__ExportUrl="$simulator/osv/none/all.zip" Gatehouse__Osv__ExtraExportUrls="$simulator/osv/none/Debian/all.zip $simulator/osv/none/Alpine/all.zip" \
    Gatehouse__Osv__RefreshSchedule="0 0 0 1 1 *"
  "${bench[@]}" policyindex --step measure --gatehouse "$gatehouse" --token "$token" --policy-file "$work/policy.yaml" --versions "$index_versions" \
    --rounds "$index_rounds" --requests "$index_requests" --uncached "$index_uncached" --reload-seconds 1 --out "$results/policyindex.json" \
    | grep -v '^ \|^[{}]' || true
  [[ -s "$results/policyindex.json" ]] || { echo "policyindex failed; see $host_log" >&2; exit 1; }
  stop_host
fi

if wants osvimport; then
  note_load osvimport
  stop_host
  echo "== 10. OSV import of a synthetic $osv_records-record export into Azurite: first import, then the same file again"
  "${bench[@]}" osvimport --connection-string "$AzureWebJobsStorage" --records "$osv_records" --dir "$work" \
    --samples "$results/osvimport-rss.csv" --out "$results/osvimport.json" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/osvimport.json" ]] || { echo "osvimport failed" >&2; exit 1; }
fi

if wants upload; then
  note_load upload
  stop_host
  echo "== 11. direct upload: $upload_runs files of $upload_bytes bytes written into uploads with the SDK, to their verdict (watcher every ${upload_watch_seconds}s)"
  start_host upload Gatehouse__Uploads__WatchSeconds="$upload_watch_seconds"
  upload_args=(upload --connection-string "$AzureWebJobsStorage" --size "$upload_bytes" --runs "$upload_runs"
    --label "$(size_label "$upload_bytes"), watcher every ${upload_watch_seconds}s" --out "$results/upload.json")
  printf '%q ' "${bench[@]}" "${upload_args[@]}" | sed 's/ $/\n/; s/--connection-string [^ ]*/--connection-string <azurite>/' >"$results/upload-command.txt"
  "${bench[@]}" "${upload_args[@]}" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/upload.json" ]] || { echo "upload failed; see $host_log" >&2; exit 1; }
  stop_host
fi

if wants rescan; then
  note_load rescan
  stop_host
  echo "== 12. rescan of $rescan_count cached verdicts (seeded into Azurite) after a policy change, through POST /admin/rescan"
  start_host rescan "Logging__LogLevel__Gatehouse=Warning"
  "${bench[@]}" rescan --gatehouse "$gatehouse" --admin-token "$admin_token" --connection-string "$AzureWebJobsStorage" --count "$rescan_count" \
    --out "$results/rescan.json" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/rescan.json" ]] || { echo "rescan failed; see $host_log" >&2; exit 1; }
  stop_host
fi

if wants console; then
  note_load console
  stop_host
  echo "== 13. console admin API over $console_count references (seeded into Azurite): /admin/stats, /admin/quarantine, /admin/artifacts"
  start_host console "Logging__LogLevel__Gatehouse=Warning"
  console_args=(console --gatehouse "$gatehouse" --admin-token "$admin_token" --connection-string "$AzureWebJobsStorage" --count "$console_count"
    --out "$results/console.json")
  printf '%q ' "${bench[@]}" "${console_args[@]}" | sed 's/ $/\n/; s/--connection-string [^ ]*/--connection-string <azurite>/; s/--admin-token [^ ]*/--admin-token <admin>/' \
    >"$results/console-command.txt"
  "${bench[@]}" "${console_args[@]}" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/console.json" ]] || { echo "console failed; see $host_log" >&2; exit 1; }
  stop_host
fi

if wants oci; then
  stop_host
  echo "== 14-15. container images through /v2/: the simulator as Docker Hub, Basic auth with an oci:read token"
  start_host oci Gatehouse__Oci__Registries__0__Prefix= Gatehouse__Oci__Registries__0__Url="$simulator" \
    Gatehouse__Oci__Registries__0__OfficialImagesUnderLibrary=true Gatehouse__Oci__Registries__0__AuthHosts="127.0.0.1:$sim_port" \
    Gatehouse__Oci__Registries__0__BlobHosts="127.0.0.1:$sim_port"
  note_load oci-coldpull
  echo "== 15. cold pulls of $oci_cold_image under $oci_cold_tags (made ahead): time to the manifest, split by the host log"
  oci_cold_args=(oci --case coldpull --gatehouse "$gatehouse" --token "$oci_token" --simulator "$simulator" --log "$host_log"
    --image "$oci_cold_image" --tags "$oci_cold_tags" --out "$results/oci-2-coldpull.json")
  printf '%q ' "${bench[@]}" "${oci_cold_args[@]}" | sed 's/ $/\n/; s/--token [^ ]*/--token <oci:read>/' >"$results/oci-coldpull-command.txt"
  "${bench[@]}" "${oci_cold_args[@]}" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/oci-2-coldpull.json" ]] || { echo "oci coldpull failed; see $host_log" >&2; exit 1; }
  note_load oci-throughput
  echo "== 14. a cached layer of $oci_image through /v2/ vs straight from Azurite, $oci_repeat times each, alternating"
  oci_args=(oci --case throughput --gatehouse "$gatehouse" --token "$oci_token" --simulator "$simulator" --connection-string "$AzureWebJobsStorage"
    --image "${oci_image%:*}" --tag "${oci_image##*:}" --repeat "$oci_repeat" --out "$results/oci-1-throughput.json")
  printf '%q ' "${bench[@]}" "${oci_args[@]}" | sed 's/ $/\n/; s/--token [^ ]*/--token <oci:read>/; s/--connection-string [^ ]*/--connection-string <azurite>/' \
    >"$results/oci-throughput-command.txt"
  "${bench[@]}" "${oci_args[@]}" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/oci-1-throughput.json" ]] || { echo "oci throughput failed; see $host_log" >&2; exit 1; }
  stop_host
  echo "== 14 (Sas). the same layer on a host in serving mode Sas (the Azure default): a 302 to a read-only SAS, followed by both clients"
  start_host oci-sas Gatehouse__Serving__Mode=Sas Gatehouse__Oci__Registries__0__Prefix= Gatehouse__Oci__Registries__0__Url="$simulator" \
    Gatehouse__Oci__Registries__0__OfficialImagesUnderLibrary=true Gatehouse__Oci__Registries__0__AuthHosts="127.0.0.1:$sim_port" \
    Gatehouse__Oci__Registries__0__BlobHosts="127.0.0.1:$sim_port"
  note_load oci-throughput-sas
  oci_sas_args=("${oci_args[@]}" --serving Sas)
  oci_sas_args[$((${#oci_args[@]} - 1))]="$results/oci-3-throughput-sas.json"
  printf '%q ' "${bench[@]}" "${oci_sas_args[@]}" | sed 's/ $/\n/; s/--token [^ ]*/--token <oci:read>/; s/--connection-string [^ ]*/--connection-string <azurite>/' \
    >"$results/oci-throughput-sas-command.txt"
  "${bench[@]}" "${oci_sas_args[@]}" | grep -v '^ \|^[{}]' || true
  [[ -s "$results/oci-3-throughput-sas.json" ]] || { echo "oci throughput (Sas) failed; see $host_log" >&2; exit 1; }
  stop_host
fi

echo
echo "== results ($results)"
cat "$results/machine.txt"
note_load report
cat "$results/load.txt"
echo
"${bench[@]}" report --dir "$results" | tee "$results/report.md"

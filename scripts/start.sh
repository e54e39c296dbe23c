#!/usr/bin/env bash
# Starts Gatehouse on this machine: Azurite (data under .azurite/, git-ignored) and the standalone host on
# http://127.0.0.1:7071. The first time it creates an admin and a read token and prints them once.
#   scripts/start.sh          # upstreams are the real PyPI
#   scripts/start.sh --demo   # also starts the offline upstream simulator with sample packages (one malicious)
# Ctrl-C stops everything this script started.
# Ports: GATEHOUSE_PORT (7071), GATEHOUSE_SIMULATOR_PORT (8081), AZURITE_BLOB_PORT/QUEUE/TABLE (10000-10002).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$GATEHOUSE_ROOT/scripts/lib/azurite.sh"
cd "$GATEHOUSE_ROOT"

demo=false
for arg in "$@"; do
  case "$arg" in
    --demo) demo=true ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

port="${GATEHOUSE_PORT:-7071}"
sim_port="${GATEHOUSE_SIMULATOR_PORT:-8081}"
blob="${AZURITE_BLOB_PORT:-10000}" queue="${AZURITE_QUEUE_PORT:-10001}" table="${AZURITE_TABLE_PORT:-10002}"
state="$GATEHOUSE_ROOT/.gatehouse"
mkdir -p "$state" "$GATEHOUSE_ROOT/.azurite/data"

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "Stopping Gatehouse..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  azurite_stop || true
}
trap stop_all INT TERM EXIT

echo "== installing Azurite (npm, pinned in scripts/azurite) and building"
azurite_install
dotnet build functions/Gatehouse.Host -c Release -nologo -v:q
dotnet build functions/Gatehouse.Cli -c Release -nologo -v:q
if $demo; then dotnet build tests/Gatehouse.UpstreamSimulator -c Release -nologo -v:q; fi

echo "== starting Azurite on $blob/$queue/$table"
azurite_start "$GATEHOUSE_ROOT/.azurite/data" "$blob" "$queue" "$table"
AzureWebJobsStorage="$(azurite_connection_string "$blob" "$queue" "$table")"
export AzureWebJobsStorage

if $demo; then
  echo "== starting the upstream simulator on 127.0.0.1:$sim_port"
  dotnet tests/Gatehouse.UpstreamSimulator/bin/Release/net10.0/Gatehouse.UpstreamSimulator.dll \
    --urls "http://127.0.0.1:$sim_port" --fixtures tests/fixtures/pypi --data "$state/simulator" >"$state/simulator.log" 2>&1 &
  pids+=("$!")
  wait_http "http://127.0.0.1:$sim_port/simple/" 30 || { echo "simulator did not start; see $state/simulator.log" >&2; exit 1; }
  export Gatehouse__PyPI__IndexUrl="http://127.0.0.1:$sim_port/simple/"
  export Gatehouse__PyPI__JsonApiUrl="http://127.0.0.1:$sim_port/pypi/"
  export Gatehouse__PyPI__FileHosts="127.0.0.1:$sim_port"
  # The simulator is also the Hub (API, resolve, and its LFS CDN path on the same host).
  export Gatehouse__HuggingFace__Endpoint="http://127.0.0.1:$sim_port"
  # And Docker Hub: its token flow and its blobs' CDN redirect are on the same host.
  export Gatehouse__Oci__Registries__0__Prefix="" Gatehouse__Oci__Registries__0__Url="http://127.0.0.1:$sim_port"
  export Gatehouse__Oci__Registries__0__OfficialImagesUnderLibrary=true
  export Gatehouse__Oci__Registries__0__AuthHosts="127.0.0.1:$sim_port" Gatehouse__Oci__Registries__0__BlobHosts="127.0.0.1:$sim_port"
fi

cli=(dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll)
if [[ "$("${cli[@]}" token list --storage "$AzureWebJobsStorage" --format json | tr -d '[:space:]')" == "[]" ]]; then
  admin_token="$("${cli[@]}" token create --storage "$AzureWebJobsStorage" --name "admin (scripts/start.sh)" --scope admin --format token)"
  read_token="$("${cli[@]}" token create --storage "$AzureWebJobsStorage" --name "read (scripts/start.sh)" --scope read --scope oci:read --format token)"
  first_run=true
else
  admin_token="<your admin token>"
  read_token="<your read token>"
  first_run=false
fi

echo "== starting Gatehouse.Host on http://127.0.0.1:$port"
dotnet functions/Gatehouse.Host/bin/Release/net10.0/Gatehouse.Host.dll --urls "http://127.0.0.1:$port" >"$state/host.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$port/healthz" 60 || { echo "Gatehouse did not start; see $state/host.log" >&2; exit 1; }

cat <<INFO

Gatehouse is running on http://127.0.0.1:$port (log: .gatehouse/host.log).
INFO
if $first_run; then
  cat <<INFO
Tokens were created for you. They are shown only this once; store them now.
  admin token: $admin_token
  read token:  $read_token
INFO
else
  echo "Tokens exist already (list them with: dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll token list --storage \"\$AzureWebJobsStorage\")."
fi
cat <<INFO

pip / uv:
  pip install --index-url http://$read_token@127.0.0.1:$port/pypi/simple/ <package>
  export PIP_INDEX_URL=http://$read_token@127.0.0.1:$port/pypi/simple/
  export UV_INDEX_URL=http://$read_token@127.0.0.1:$port/pypi/simple/
Hugging Face (huggingface_hub, transformers, hf CLI, @huggingface/hub with hubUrl=\$HF_ENDPOINT):
  export HF_ENDPOINT=http://127.0.0.1:$port/hf HF_TOKEN=$read_token
  dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll prefetch hf <namespace/name>[@revision] --url http://127.0.0.1:$port --admin-token $admin_token
Container images (podman, skopeo, docker; plain http on loopback):
  echo "$read_token" | podman login --tls-verify=false 127.0.0.1:$port --username any --password-stdin
  podman pull --tls-verify=false 127.0.0.1:$port/library/<image>:<tag>
Tokens:
  dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll token create --url http://127.0.0.1:$port --admin-token $admin_token --name ci
INFO
if $demo; then
  cat <<INFO

Demo upstream (offline) on http://127.0.0.1:$sim_port with gh-demo (needs gh-dep), gh-dep, gh-yanked, and gh-evil (malicious .pth):
  python3 -m venv /tmp/gatehouse-demo && /tmp/gatehouse-demo/bin/pip install --index-url http://$read_token@127.0.0.1:$port/pypi/simple/ gh-demo
  /tmp/gatehouse-demo/bin/pip install --index-url http://$read_token@127.0.0.1:$port/pypi/simple/ gh-evil    # refused, with the reason
and the Hugging Face model gatehouse-demo/tiny-model (config.json, model.safetensors, pytorch_model.bin, and the malicious
evil.bin) and dataset gatehouse-demo/tiny-dataset:
  hf download gatehouse-demo/tiny-model config.json model.safetensors    # with the HF_ENDPOINT/HF_TOKEN above
  hf download gatehouse-demo/tiny-model evil.bin                         # refused: 403 GatedRepo with the reason
  curl -sS -H "Authorization: Bearer $read_token" -o config.json http://127.0.0.1:$port/hf/gatehouse-demo/tiny-model/resolve/main/config.json
  dotnet functions/Gatehouse.Cli/bin/Release/net10.0/gatehouse.dll prefetch hf gatehouse-demo/tiny-model --url http://127.0.0.1:$port --admin-token $admin_token
and container images as Docker Hub would serve them: library/clean:1.0, library/evil-pickle:1.0 (a malicious pickle in
a layer), library/vuln-py:1.0 (a vulnerable Python package), library/whiteout:1.0, library/multiarch:1.0:
  skopeo inspect --tls-verify=false docker://127.0.0.1:$port/library/clean:1.0          # after the podman login above
  skopeo inspect --tls-verify=false docker://127.0.0.1:$port/library/evil-pickle:1.0    # refused: denied: Blocked by Gatehouse: …
INFO
fi
echo
echo "Press Ctrl-C to stop."
wait "${pids[-1]}"

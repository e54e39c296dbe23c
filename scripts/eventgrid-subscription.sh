#!/usr/bin/env bash
# Phase 2 of a Gatehouse deployment: subscribes the app's blob trigger to blobs created in `uploads`.
#
# The Event Grid webhook needs the Functions host's `blobs_extension` system key, which exists only once code with a
# blob trigger runs, so this cannot be part of infra/main.bicep. The script waits until the deployed app lists the
# trigger and has the key, then deploys infra/eventgrid.bicep, which reads the key with listKeys inside Azure (the key
# never passes through this shell) and creates the system-topic subscription. Running it again changes nothing.
#
#   scripts/eventgrid-subscription.sh --resource-group rg-gatehouse --deployment gatehouse   # names from phase 1
#   scripts/eventgrid-subscription.sh                          # inside azd: names come from the azd environment
#
# Options (each falls back to the environment variable named after it, which azd sets from main.bicep's outputs):
#   --resource-group NAME    AZURE_RESOURCE_GROUP
#   --deployment NAME        read the names below from this resource-group deployment of main.bicep
#   --function-app NAME      AZURE_FUNCTION_APP_NAME
#   --system-topic NAME      AZURE_EVENTGRID_SYSTEM_TOPIC_NAME
#   --storage-account NAME   AZURE_STORAGE_ACCOUNT_NAME
#   --function-name NAME     GATEHOUSE_BLOB_TRIGGER_FUNCTION (default ScanUpload): the blob-trigger function
#   --wait SECONDS           how long to wait for the trigger and its key (default 300)
#   --if-trigger-deployed    if the running app has functions but not this one, warn and exit 0 (azd's hook uses this
#                            so `azd up` works while the app has no blob trigger yet)
#   --what-if                show what the deployment would change; change nothing
# Exit codes: 0 done (or skipped with --if-trigger-deployed), 2 usage or missing names, 3 trigger or key never
# appeared, other: the failing az command's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/lib/bicep.sh"

log() { printf '[eventgrid] %s\n' "$*" >&2; }
die() {
  local code="$1"
  shift
  log "error: $*"
  exit "$code"
}
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit 0
}

resource_group="${AZURE_RESOURCE_GROUP:-}"
deployment=""
function_app="${AZURE_FUNCTION_APP_NAME:-}"
system_topic="${AZURE_EVENTGRID_SYSTEM_TOPIC_NAME:-}"
storage_account="${AZURE_STORAGE_ACCOUNT_NAME:-}"
function_name="${GATEHOUSE_BLOB_TRIGGER_FUNCTION:-ScanUpload}"
wait_seconds=300
poll_seconds="${GATEHOUSE_EVENTGRID_POLL_SECONDS:-10}"
if_trigger_deployed=0
what_if=0

while (($# > 0)); do
  case "$1" in
    --resource-group | --deployment | --function-app | --system-topic | --storage-account | --function-name | --wait)
      (($# >= 2)) || die 2 "$1 needs a value"
      case "$1" in
        --resource-group) resource_group="$2" ;;
        --deployment) deployment="$2" ;;
        --function-app) function_app="$2" ;;
        --system-topic) system_topic="$2" ;;
        --storage-account) storage_account="$2" ;;
        --function-name) function_name="$2" ;;
        --wait) wait_seconds="$2" ;;
      esac
      shift 2
      ;;
    --if-trigger-deployed) if_trigger_deployed=1 && shift ;;
    --what-if) what_if=1 && shift ;;
    -h | --help) usage ;;
    *) die 2 "unknown argument $1 (see --help)" ;;
  esac
done
[[ "$wait_seconds" =~ ^[0-9]+$ ]] || die 2 "--wait takes a number of seconds"
[[ "$function_name" =~ ^[A-Za-z][A-Za-z0-9_]*$ ]] || die 2 "--function-name '$function_name' is not a function name"

command -v az >/dev/null || die 2 "the Azure CLI (az) is not installed"
[[ -n "$resource_group" ]] || die 2 "no resource group: pass --resource-group or set AZURE_RESOURCE_GROUP"
az account show --output none 2>/dev/null || die 2 "the Azure CLI is not signed in: run az login"

if [[ -n "$deployment" ]]; then
  log "reading names from deployment $deployment in $resource_group"
  output() {
    az deployment group show --resource-group "$resource_group" --name "$deployment" \
      --query "properties.outputs.$1.value" --output tsv
  }
  function_app="$(output AZURE_FUNCTION_APP_NAME)"
  system_topic="$(output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME)"
  storage_account="$(output AZURE_STORAGE_ACCOUNT_NAME)"
  AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME="$(output AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME)"
  export AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME
fi
missing=()
[[ -n "$function_app" ]] || missing+=("AZURE_FUNCTION_APP_NAME (--function-app)")
[[ -n "$system_topic" ]] || missing+=("AZURE_EVENTGRID_SYSTEM_TOPIC_NAME (--system-topic)")
[[ -n "$storage_account" ]] || missing+=("AZURE_STORAGE_ACCOUNT_NAME (--storage-account)")
if ((${#missing[@]} > 0)); then
  die 2 "missing: ${missing[*]}; deploy infra/main.bicep first and pass its outputs, or --deployment <its name>"
fi

# Wait until the deployed app lists the trigger and the host has created the blobs_extension key. Right after a code
# deployment the function list can be empty for a while (the host is starting and syncing its triggers).
log "waiting up to ${wait_seconds}s for $function_app to list $function_name and have its blobs_extension key"
deadline=$((SECONDS + wait_seconds))
state="the app lists no functions yet"
while :; do
  functions="$(az functionapp function list --resource-group "$resource_group" --name "$function_app" \
    --query "[].name" --output tsv 2>/dev/null || true)"
  if grep -qE "(^|/)${function_name}\$" <<<"$functions"; then
    # Only whether the key exists is looked at; its value is never printed or kept.
    if [[ -n "$(az functionapp keys list --resource-group "$resource_group" --name "$function_app" \
      --query "systemKeys.blobs_extension" --output tsv 2>/dev/null || true)" ]]; then
      break
    fi
    state="$function_name is listed but the host has no blobs_extension key yet"
  elif [[ -n "$functions" ]]; then
    state="the app's functions do not include $function_name"
    if ((if_trigger_deployed)); then
      log "WARNING: $function_app has no function named $function_name, so there is nothing to subscribe yet."
      log "WARNING: blobs written to 'uploads' are not scanned until a blob trigger with that name is deployed;"
      log "WARNING: then run scripts/eventgrid-subscription.sh again (azd: azd deploy runs it)."
      exit 0
    fi
  fi
  if ((SECONDS >= deadline)); then
    die 3 "gave up after ${wait_seconds}s: $state. Is the code deployed and started (az functionapp function list -g $resource_group -n $function_app)?"
  fi
  sleep "$poll_seconds"
done
log "found $function_name and its key"

export AZURE_FUNCTION_APP_NAME="$function_app" AZURE_EVENTGRID_SYSTEM_TOPIC_NAME="$system_topic" \
  AZURE_STORAGE_ACCOUNT_NAME="$storage_account" GATEHOUSE_BLOB_TRIGGER_FUNCTION="$function_name"
template_args=()
if bicep="$(bicep_path 2>/dev/null)"; then
  # The pinned Bicep CLI compiles both files, so az does not need (or download) a Bicep of its own.
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "$bicep" build "$root/infra/eventgrid.bicep" --outfile "$work/eventgrid.json"
  "$bicep" build-params "$root/infra/eventgrid.bicepparam" --outfile "$work/eventgrid.parameters.json"
  template_args=(--template-file "$work/eventgrid.json" --parameters "@$work/eventgrid.parameters.json")
else
  log "no restored Bicep CLI (scripts/lib/bicep.sh); az compiles the templates with its own"
  template_args=(--parameters "$root/infra/eventgrid.bicepparam")
fi

if ((what_if)); then
  az deployment group what-if --resource-group "$resource_group" --name gatehouse-eventgrid "${template_args[@]}"
  exit 0
fi
log "deploying infra/eventgrid.bicep to $resource_group (deployment gatehouse-eventgrid)"
subscription="$(az deployment group create --resource-group "$resource_group" --name gatehouse-eventgrid \
  "${template_args[@]}" --query "properties.outputs.subscriptionName.value" --output tsv)"
log "Event Grid subscription $system_topic/$subscription delivers BlobCreated in 'uploads' to $function_name"

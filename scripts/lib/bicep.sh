# shellcheck shell=bash
# The Bicep CLI for Gatehouse scripts. Source this file; do not execute it.
#
#   source scripts/lib/bicep.sh
#   bicep_path                      # prints the path of the bicep binary, or explains how to get it and fails
#   "$(bicep_path)" build infra/main.bicep --stdout
#
# The binary comes from the NuGet package Azure.Bicep.CommandLine.linux-x64, at the version pinned in
# Directory.Packages.props, restored by `dotnet restore`/`dotnet build` of tests/Gatehouse.Infra.Tests (it is
# never downloaded at run time). GATEHOUSE_BICEP=/path/to/bicep overrides the lookup (another OS, another build).
#
# Snapshot context: every committed infra/*.snapshot.json was made with these fixed values, so that a snapshot only
# changes when the templates do. bicep_snapshot_env runs a command with exactly this environment.

if [[ -n "${_GATEHOUSE_BICEP_SH:-}" ]]; then
  return 0
fi
_GATEHOUSE_BICEP_SH=1

_BICEP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BICEP_PACKAGE_ID="Azure.Bicep.CommandLine.linux-x64"

BICEP_SNAPSHOT_TENANT="00000000-0000-0000-0000-000000000000"
BICEP_SNAPSHOT_SUBSCRIPTION="00000000-0000-0000-0000-000000000001"
BICEP_SNAPSHOT_RESOURCE_GROUP="rg-gatehouse-snapshot"
BICEP_SNAPSHOT_LOCATION="swedencentral"
BICEP_SNAPSHOT_DEPLOYMENT="gatehouse"

_bicep_log() { printf '[bicep] %s\n' "$*" >&2; }

# bicep_version: the version pinned in Directory.Packages.props.
bicep_version() {
  sed -nE "s/.*<PackageVersion Include=\"${BICEP_PACKAGE_ID//./\\.}\" Version=\"([^\"]+)\".*/\\1/p" \
    "$_BICEP_ROOT/Directory.Packages.props" | head -n 1
}

# bicep_path: prints the path of the restored bicep binary; fails with instructions when it is missing.
bicep_path() {
  if [[ -n "${GATEHOUSE_BICEP:-}" ]]; then
    if [[ -x "$GATEHOUSE_BICEP" ]]; then
      printf '%s\n' "$GATEHOUSE_BICEP"
      return 0
    fi
    _bicep_log "GATEHOUSE_BICEP=$GATEHOUSE_BICEP is not an executable file"
    return 1
  fi
  local version packages binary
  version="$(bicep_version)"
  if [[ -z "$version" ]]; then
    _bicep_log "no <PackageVersion Include=\"$BICEP_PACKAGE_ID\"> in Directory.Packages.props"
    return 1
  fi
  if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    _bicep_log "the pinned package $BICEP_PACKAGE_ID is for Linux x64; on $(uname -s)-$(uname -m) set GATEHOUSE_BICEP to a bicep $version binary"
    return 1
  fi
  packages="${NUGET_PACKAGES:-}"
  if [[ -z "$packages" ]]; then
    packages="$(dotnet nuget locals global-packages --list 2>/dev/null | sed -nE 's/^global-packages: (.*)$/\1/p')"
  fi
  packages="${packages%/}"
  binary="$packages/${BICEP_PACKAGE_ID,,}/$version/tools/bicep"
  if [[ -z "$packages" || ! -f "$binary" ]]; then
    _bicep_log "bicep $version is not restored (looked for ${binary:-the NuGet global packages folder})."
    _bicep_log "restore it with: dotnet restore $_BICEP_ROOT/tests/Gatehouse.Infra.Tests"
    return 1
  fi
  [[ -x "$binary" ]] || chmod u+x "$binary"
  printf '%s\n' "$binary"
}

# bicep_snapshot_env COMMAND...: runs COMMAND without the variables the .bicepparam files read (so a developer's azd
# environment cannot leak into a snapshot) and with the phase-2 names set to those the main snapshot predicts.
bicep_snapshot_env() {
  env -u AZURE_ENV_NAME -u AZURE_PRINCIPAL_ID -u AZURE_PRINCIPAL_TYPE -u GATEHOUSE_OPERATOR_GROUP_ID -u GATEHOUSE_BLOB_TRIGGER_FUNCTION -u GATEHOUSE_OCI_TOKEN_SIGNING_KEY \
    -u AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME \
    AZURE_FUNCTION_APP_NAME="func-snapshot" \
    AZURE_EVENTGRID_SYSTEM_TOPIC_NAME="egst-snapshot" \
    AZURE_STORAGE_ACCOUNT_NAME="stsnapshot" \
    "$@"
}

# bicep_snapshot_args: the fixed --tenant-id/--subscription-id/... arguments, one per line.
bicep_snapshot_args() {
  printf '%s\n' --tenant-id "$BICEP_SNAPSHOT_TENANT" --subscription-id "$BICEP_SNAPSHOT_SUBSCRIPTION" \
    --resource-group "$BICEP_SNAPSHOT_RESOURCE_GROUP" --location "$BICEP_SNAPSHOT_LOCATION" \
    --deployment-name "$BICEP_SNAPSHOT_DEPLOYMENT"
}

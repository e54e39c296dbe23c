#!/usr/bin/env bash
# Offline checks of the Bicep templates in infra/, with the Bicep CLI restored from NuGet (scripts/lib/bicep.sh):
#   1. bicep lint     every .bicep file (infra/bicepconfig.json makes the important rules errors); any diagnostic,
#                     warning or error, fails
#   2. bicep build    every .bicep file (modules too); any diagnostic fails
#   3. build-params   every .bicepparam file
#   4. snapshot       every .bicepparam file against its committed <name>.snapshot.json (--mode validate)
#
#   scripts/infra-check.sh                      # what scripts/test.sh runs
#   scripts/infra-check.sh --update-snapshots   # rewrite the committed snapshots after a deliberate template change
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$GATEHOUSE_ROOT/scripts/lib/bicep.sh"
cd "$GATEHOUSE_ROOT"

mode="validate"
case "${1:-}" in
  "") ;;
  --update-snapshots) mode="overwrite" ;;
  *)
    echo "usage: scripts/infra-check.sh [--update-snapshots]" >&2
    exit 2
    ;;
esac

bicep="$(bicep_path)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mapfile -t snapshot_args < <(bicep_snapshot_args)
mapfile -t templates < <(find infra -name '*.bicep' | sort)
mapfile -t params < <(find infra -maxdepth 1 -name '*.bicepparam' | sort)
failed=0

# run LABEL COMMAND...: runs a bicep command; fails the check on a non-zero exit or on any diagnostic it prints.
run() {
  local label="$1" log="$out/log"
  shift
  if ! bicep_snapshot_env "$@" >"$log" 2>&1; then
    echo "!! $label failed:" >&2
    sed -E 's/\x1b\[[0-9;]*m//g' "$log" >&2 # the snapshot diff is coloured even when not on a terminal
    failed=1
    return 0
  fi
  if grep -qE ' : (Error|Warning|Info) ' "$log"; then
    echo "!! $label printed diagnostics:" >&2
    grep -E ' : (Error|Warning|Info) ' "$log" >&2
    failed=1
    return 0
  fi
  echo "   ok  $label"
}

echo "   bicep $("$bicep" --version | sed -nE 's/.*version ([0-9.]+).*/\1/p') ($bicep)"
# One process per step for lint, build and build-params (--pattern): each bicep start costs about a second.
run "lint ${#templates[@]} templates: ${templates[*]}" "$bicep" lint --pattern 'infra/**/*.bicep'
run "build ${#templates[@]} templates" "$bicep" build --pattern 'infra/**/*.bicep' --outdir "$out/build"
run "build-params ${#params[@]} parameter files: ${params[*]}" "$bicep" build-params --pattern 'infra/*.bicepparam' --outdir "$out/params"
for p in "${params[@]}"; do
  snapshot="${p%.bicepparam}.snapshot.json"
  if [[ "$mode" == "validate" && ! -f "$snapshot" ]]; then
    echo "!! $snapshot is missing: run scripts/infra-check.sh --update-snapshots and commit it" >&2
    failed=1
    continue
  fi
  run "snapshot --mode $mode $snapshot" "$bicep" snapshot "$p" --mode "$mode" "${snapshot_args[@]}"
done

if ((failed)); then
  echo "!! infra checks failed (after a deliberate template change: scripts/infra-check.sh --update-snapshots)" >&2
  exit 1
fi
echo "   infra: ${#templates[@]} templates linted and built, ${#params[@]} parameter files built, ${#params[@]} snapshots ($mode)"

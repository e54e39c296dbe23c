#!/usr/bin/env bash
# Runs every Gatehouse test: installs with apt the Debian packages the real Python clients need, builds the solution
# (warnings are errors), installs the npm client the end-to-end tests drive (tests/hf-js, from its lock file), starts a
# private Azurite on free ports, runs each test project in turn against it, and stops Azurite again. Exit code 0 only if
# every test passed. The real pip and huggingface_hub sources come from GATEHOUSE_CLIENTS (default ../shared/clients).
#   scripts/test.sh                 # everything
#   scripts/test.sh Core Host       # only tests/Gatehouse.{Core,Host}.Tests
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$GATEHOUSE_ROOT/scripts/lib/azurite.sh"
cd "$GATEHOUSE_ROOT"

configuration="${CONFIGURATION:-Release}"
results="$GATEHOUSE_ROOT/.gatehouse/test-results/run-$$"
data="$GATEHOUSE_ROOT/.azurite/test-$$"
rm -rf "$results"
mkdir -p "$results" "$data"

cleanup() {
  azurite_stop || true
  rm -rf "$data"
}
trap cleanup EXIT

echo "== real Python clients (Debian's python3 and packages; pip and huggingface_hub from $GATEHOUSE_CLIENTS)"
ensure_debian_packages python3-venv python3-httpx python3-requests python3-tqdm python3-yaml python3-fsspec \
  python3-packaging python3-typing-extensions
# The console's browser tests: Debian's chromium and its chromedriver (nothing downloads a browser).
ensure_debian_packages chromium chromium-driver
# The container tests: Debian's skopeo, podman and docker (dockerd with its client) pull images through Gatehouse.
ensure_debian_packages skopeo podman docker.io
for client in pip/pip huggingface_hub-1.x/huggingface_hub huggingface_hub-0.26.5/huggingface_hub filelock/filelock; do
  if [[ ! -d "$GATEHOUSE_CLIENTS/$client" ]]; then
    echo "!! $GATEHOUSE_CLIENTS/$client is missing: set GATEHOUSE_CLIENTS to the folder of the real clients (see README, Tests)" >&2
    exit 1
  fi
done
export GATEHOUSE_CLIENTS

echo "== fixtures are what their generator makes"
python3 scripts/fixtures/make_pypi_fixtures.py --check
python3 scripts/fixtures/make_model_fixtures.py --check
python3 scripts/fixtures/make_hf_fixtures.py --check
python3 scripts/fixtures/make_osv_fixtures.py --check

echo "== build ($configuration)"
dotnet build Gatehouse.slnx -c "$configuration" -nologo -v:q

echo "== infra (bicep lint, build, build-params, snapshot validate; offline, Bicep CLI from the NuGet restore)"
scripts/infra-check.sh

echo "== npm ci (tests/hf-js)"
(cd tests/hf-js && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
echo "== npm ci (tests/console-axe) and the console's type check"
(cd tests/console-axe && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null && npx --no-install tsc -p tsconfig.json)
# Every console page's PNG, for a reviewer to look at.
export GATEHOUSE_CONSOLE_SCREENSHOTS="$results/console-screenshots"

echo "== azurite"
azurite_install
mapfile -t ports < <(free_ports 3)
azurite_start "$data" "${ports[0]}" "${ports[1]}" "${ports[2]}"
GATEHOUSE_TEST_STORAGE="$(azurite_connection_string "${ports[0]}" "${ports[1]}" "${ports[2]}")"
export GATEHOUSE_TEST_STORAGE

projects=()
if (($# > 0)); then
  for name in "$@"; do projects+=("tests/Gatehouse.$name.Tests"); done
else
  for dir in tests/*.Tests; do projects+=("$dir"); done
fi

passed=0 failed=0 status=0
for project in "${projects[@]}"; do
  name="$(basename "$project")"
  echo "== $name"
  log="$results/$name.log"
  if dotnet test "$project" -c "$configuration" --no-build -nologo 2>&1 | tee "$log"; then :; else status=1; fi
  # vstest's summary: "Passed!  - Failed:     0, Passed:    27, Skipped: ..." or "Failed!  - Failed: 1, ..."
  summary="$(grep -E '^(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -n 1 || true)"
  if [[ -z "$summary" ]]; then
    echo "!! $name printed no test summary" >&2
    status=1
    continue
  fi
  f="$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summary")"
  p="$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$summary")"
  passed=$((passed + p)) failed=$((failed + f))
done

echo
# The failures again, last, so that the tail of a CI log names each failed test and its message.
for project in "${projects[@]}"; do
  log="$results/$(basename "$project").log"
  [[ -f "$log" ]] || continue
  awk '/^ +Failed [^ ]+ \[/ { show = 1; lines = 0 } /^ +Stack Trace:/ { show = 0 } show && lines++ < 20 { print }' "$log"
done
echo "tests: $passed passed, $failed failed"
if ((failed > 0 || passed == 0)); then status=1; fi
exit "$status"

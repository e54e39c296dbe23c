#!/usr/bin/env bash
# Coverage-guided fuzzing of the scanner's readers with AFL++ and SharpFuzz (tests/Gatehouse.Fuzz).
#   scripts/fuzz.sh <target> <seconds>   # fuzz one target from its corpus tests/fuzz/<target>/, record the row in
#                                        # tests/fuzz/RESULTS.md; GATEHOUSE_FUZZ_EXECS=N stops after about N executions
#   scripts/fuzz.sh --list               # the targets and what each reads
#   scripts/fuzz.sh --results            # the results table (tests/fuzz/RESULTS.md)
#   scripts/fuzz.sh --save <target>      # after a run: the corpus becomes afl-cmin(corpus + new queue entries), and each
#                                        # crash or hang (the first GATEHOUSE_FUZZ_SAVE_CRASHES, 3) is minimised
#                                        # (afl-tmin) into tests/fuzz/crashes/<target>/
#   scripts/fuzz.sh --seed <target>      # a fresh corpus from the fixtures the model scanner tells as that target's
#                                        # formats (files under 64 KiB), minimised with afl-cmin
# The harness is published to $GATEHOUSE_FUZZ_DIR (.gatehouse/fuzz) and a copy of it is instrumented with the sharpfuzz
# tool; the build output the tests use is never instrumented. Installs afl++ with apt-get when afl-fuzz is missing.
# Run one target at a time on a shared machine. CI does not run AFL++: it replays the corpus in Gatehouse.Scanning.Tests.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# Not under /tmp: afl-cmin refuses to work there.
work="${GATEHOUSE_FUZZ_DIR:-$root/.gatehouse/fuzz}"
corpora="$root/tests/fuzz"
results="$corpora/RESULTS.md"
targets=(pickle torch-zip safetensors npy gguf onnx keras joblib legacy-torch archive)

die() { echo "fuzz.sh: $*" >&2; exit 2; }

known_target() {
  local t
  for t in "${targets[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  die "unknown target '$1' (--list shows them)"
}

ensure_afl() {
  command -v afl-fuzz >/dev/null && return
  echo "Installing afl++ with apt-get" >&2
  local sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  # apt-get reads a trailing '+' as "install": name the package with its version.
  $sudo apt-get update -qq
  local version
  version="$(apt-cache policy afl++ | awk '/Candidate:/ {print $2}')"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "afl++=$version" >/dev/null
}

# Publishes the harness and instruments our two assemblies in the published copy.
ensure_harness() {
  local tools="$work/tools"
  if [[ ! -x "$tools/sharpfuzz" ]]; then
    dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
  fi
  if [[ "${GATEHOUSE_FUZZ_NO_BUILD:-0}" == 1 && -f "$work/bin/.instrumented" ]]; then
    return
  fi
  rm -rf "$work/bin" "$work/plain"
  dotnet publish "$root/tests/Gatehouse.Fuzz" -c Release -o "$work/plain" -nologo -v:q >/dev/null
  cp -r "$work/plain" "$work/bin"
  local dll
  for dll in Gatehouse.Scanning.dll Gatehouse.Core.dll; do
    "$tools/sharpfuzz" "$work/bin/$dll" >/dev/null
  done
  touch "$work/bin/.instrumented"
}

afl_env() {
  export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
  # The first input of a run waits for the .NET start and JIT; later ones are held to the 1000 ms hang timeout.
  export AFL_FORKSRV_INIT_TMOUT=30000
}

harness() { echo "$(command -v dotnet)" "$work/bin/Gatehouse.Fuzz.dll" "$1"; }

# Which formats (as the model scanner reports them) seed which target.
seed_formats() {
  case "$1" in
    pickle) echo "pickle" ;;
    torch-zip) echo "pytorch-zip torchserve-mar zip" ;;
    safetensors) echo "safetensors" ;;
    npy) echo "npy npz" ;;
    gguf) echo "gguf" ;;
    onnx) echo "onnx" ;;
    keras) echo "keras keras-h5 hdf5" ;;
    joblib) echo "joblib" ;;
    legacy-torch) echo "pytorch-legacy inert" ;;
    archive) echo "zip gzip nemo torchserve-mar 7z" ;;
  esac
}

seed() {
  local target="$1" formats candidates
  candidates="$work/seed/$target"
  formats=" $(seed_formats "$target") "
  rm -rf "$candidates" && mkdir -p "$candidates"
  local files
  mapfile -t files < <(find "$root/tests/fixtures" -type f -size -64k ! -name '*.md' ! -name '*.json' | sort)
  local format file n=0
  while IFS=$'\t' read -r format file; do
    if [[ "$formats" == *" $format "* ]]; then
      n=$((n + 1))
      cp "$file" "$candidates/$(printf '%03d' "$n")-$(basename "$file")"
    fi
  done < <(dotnet "$work/plain/Gatehouse.Fuzz.dll" --formats "${files[@]}")
  [[ "$target" == archive ]] && cp "$root"/tests/fixtures/pypi/*.whl "$root"/tests/fixtures/pypi/*.tar.gz "$candidates/"
  echo "$target: $(ls "$candidates" | wc -l) fixture files" >&2
  minimise_into "$target" "$candidates"
}

# afl-cmin over a folder of inputs, into the target's corpus.
minimise_into() {
  local target="$1" from="$2" min="$work/cmin/$target"
  rm -rf "$min"
  afl-cmin -i "$from" -o "$min" -t 5000 -m none -- $(harness "$target") >/dev/null
  rm -rf "${corpora:?}/$target" && mkdir -p "$corpora/$target"
  cp "$min"/* "$corpora/$target/"
  echo "$target: corpus of $(ls "$corpora/$target" | wc -l) files, $(du -sh "$corpora/$target" | cut -f1)" >&2
}

stat_of() { awk -F' *: *' -v k="$2" '$1 == k {print $2}' "$1"; }

record() {
  local target="$1" stats="$2" command="$3" load="$4"
  local execs seconds rate crashes hangs
  execs="$(stat_of "$stats" execs_done)"
  seconds="$(( $(stat_of "$stats" last_update) - $(stat_of "$stats" start_time) ))"
  rate="$(awk -v e="$execs" -v s="$seconds" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')"
  crashes="$(stat_of "$stats" saved_crashes)"
  hangs="$(stat_of "$stats" saved_hangs)"
  local row="| $target | $execs | $seconds | $rate | $crashes | $hangs | $(date -u +%Y-%m-%d) | \`$command\` | $load |"
  if [[ ! -f "$results" ]]; then
    cat > "$results" <<'EOF'
# Fuzzing results

AFL++ (Debian's afl++) with SharpFuzz 2.3.0 on the instrumented Gatehouse.Scanning and Gatehouse.Core, one target at a
time, hang timeout 1000 ms. A crash is an exception outside the reader's documented outcomes (tests/Gatehouse.Fuzz/FuzzTargets.cs).
Rows are written by `scripts/fuzz.sh <target> <seconds>`; the load is /proc/loadavg (1, 5, 15 min) when the run ended,
on a 2-core machine shared with other work.

| target | executions | seconds | execs/s | crashes | hangs | date | command | load |
|---|---|---|---|---|---|---|---|---|
EOF
  fi
  local kept
  # The target's row replaces its old one inside the table (right under the header), not after the notes below it.
  kept="$(grep -v "^| $target |" "$results")"
  awk -v row="$row" '{ print } /^\|---/ && !done { print row; done = 1 }' <<<"$kept" > "$results"
  echo "$row"
}

run() {
  local target="$1" seconds="$2"
  local out="$work/out/$target"
  [[ "$seconds" =~ ^[0-9]+$ ]] || die "seconds must be a whole number, not '$seconds'"
  [[ -n "$(ls -A "$corpora/$target" 2>/dev/null)" ]] || die "no corpus in tests/fuzz/$target (scripts/fuzz.sh --seed $target)"
  rm -rf "$out" && mkdir -p "$work/out"
  local limit=()
  [[ -n "${GATEHOUSE_FUZZ_EXECS:-}" ]] && limit=(-E "$GATEHOUSE_FUZZ_EXECS")
  local command="scripts/fuzz.sh $target $seconds"
  [[ -n "${GATEHOUSE_FUZZ_EXECS:-}" ]] && command="GATEHOUSE_FUZZ_EXECS=$GATEHOUSE_FUZZ_EXECS $command"
  echo "Fuzzing $target for up to $seconds s${GATEHOUSE_FUZZ_EXECS:+ or $GATEHOUSE_FUZZ_EXECS executions}; output in $out" >&2
  afl-fuzz -i "$corpora/$target" -o "$out" -t 1000 -m none -V "$seconds" "${limit[@]}" -- $(harness "$target") > "$work/$target.log" 2>&1 \
    || { tail -30 "$work/$target.log" >&2; die "afl-fuzz failed (log: $work/$target.log)"; }
  local load
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  record "$target" "$out/default/fuzzer_stats" "$command" "$load"
}

save() {
  local target="$1"
  local out="$work/out/$target/default"
  [[ -d "$out/queue" ]] || die "no run of $target in $work/out to save"
  local union="$work/union/$target"
  rm -rf "$union" && mkdir -p "$union"
  cp "$corpora/$target"/* "$union/" 2>/dev/null || true
  find "$out/queue" -maxdepth 1 -type f -exec cp {} "$union/" \;
  # AFL's queue names hold ':' and ',', which some file systems and tools dislike.
  local f
  for f in "$union"/*; do mv "$f" "$union/$(basename "$f" | tr ':,' '__')" 2>/dev/null || true; done
  minimise_into "$target" "$union"
  local kind kept
  for kind in crashes hangs; do
    kept=0
    for f in "$out/$kind"/id*; do
      [[ -f "$f" ]] || continue
      # afl-tmin takes tens of seconds per input on a slow target, and one bug tends to make many crashes.
      kept=$((kept + 1))
      ((kept <= ${GATEHOUSE_FUZZ_SAVE_CRASHES:-3})) || break
      mkdir -p "$corpora/crashes/$target"
      local name
      name="$(basename "$f" | cut -d, -f1 | tr ':' '-')"
      afl-tmin -i "$f" -o "$corpora/crashes/$target/$kind-$name" -t 5000 -m none -- $(harness "$target") >/dev/null 2>&1 \
        || cp "$f" "$corpora/crashes/$target/$kind-$name"
      echo "$target: saved $kind input $corpora/crashes/$target/$kind-$name" >&2
    done
  done
}

case "${1:-}" in
  --list)
    for t in "${targets[@]}"; do echo "$t"; done
    ;;
  --results)
    [[ -f "$results" ]] && cat "$results" || echo "no results yet ($results)"
    ;;
  --save)
    known_target "${2:-}"; ensure_afl; afl_env; ensure_harness; save "$2"
    ;;
  --seed)
    known_target "${2:-}"; ensure_afl; afl_env; ensure_harness; seed "$2"
    ;;
  ""|-h|--help)
    sed -n '2,15p' "$0"
    ;;
  *)
    [[ $# -eq 2 ]] || die "usage: scripts/fuzz.sh <target> <seconds> (or --list, --results, --save <target>, --seed <target>)"
    known_target "$1"; ensure_afl; afl_env; ensure_harness; run "$1" "$2"
    ;;
esac

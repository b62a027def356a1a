#!/usr/bin/env bash
# Runs every fuzz target of the module briefly: usage fuzz.sh [FUZZTIME].
# A crash fails the run and leaves the input under the package's testdata/fuzz.
#
# Each package's fuzz-instrumented test binary is built once (go test -c
# -fuzz, the build `go test -fuzz` makes) and run for each of its targets with
# the flags `go test -fuzz` passes it (its fuzz cache dir, FUZZTIME), from the
# package's folder: the same fuzzing per target without a link per target.
set -euo pipefail
fuzztime=${1:-5s}
go=${GO:-go}
fail=0 n=0
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
module=$("$go" list -m)
fuzzcache="$("$go" env GOCACHE)/fuzz"
bins=$(mktemp -d "${TMPDIR:-/tmp}/agentkeeper-fuzz.XXXXXX")
trap 'rm -rf "$bins"' EXIT
built="" bin=""
while IFS=: read -r dir name; do
  pkg=./$dir
  n=$((n + 1))
  start=$(date +%s)
  if [ "$built" != "$dir" ]; then
    built=$dir bin="$bins/${dir//\//_}.test"
    if ! out=$("$go" test -c -fuzz=. -o "$bin" "$pkg" 2>&1); then
      echo "fuzz FAIL $pkg: go test -c -fuzz failed"; echo "$out" | tail -20
      bin=""
    fi
  fi
  if [ -z "$bin" ]; then
    fail=$((fail + 1))
    continue
  fi
  # A short minimisation budget: the fuzzer's default (60s per new input) can
  # outlast -fuzztime and end in "context deadline exceeded" with no crash.
  fz=("$bin" -test.paniconexit0 -test.run='^$' -test.fuzz="^${name}\$" -test.fuzztime="$fuzztime"
    -test.fuzzminimizetime=100x -test.fuzzcachedir="$fuzzcache/$module/$dir")
  out=$(cd "$dir" && "${fz[@]}" 2>&1) && ok=1 || ok=0
  if [ "$ok" = 0 ] && ! grep -q 'Failing input written' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
    echo "fuzz      $pkg $name: deadline hit while minimising (no crash input); running it once more"
    out=$(cd "$dir" && "${fz[@]}" 2>&1) && ok=1 || ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "fuzz ok   $pkg $name ($(( $(date +%s) - start ))s)"
  else
    echo "fuzz FAIL $pkg $name"; echo "$out" | tail -20
    fail=$((fail + 1))
  fi
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . |
  sed -E 's/^\.\///; s/:func /:/; s/^[^/:]*:/.\/&/; s/\/[^/:]*:/:/' | sort)
echo "fuzz: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]

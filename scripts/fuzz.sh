#!/usr/bin/env bash
# Runs every fuzz target of the module briefly: usage fuzz.sh [FUZZTIME].
# A crash fails the run and leaves the input under the package's testdata/fuzz.
set -euo pipefail
fuzztime=${1:-5s}
go=${GO:-go}
fail=0 n=0
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  n=$((n + 1))
  start=$(date +%s)
  # A short minimisation budget: the fuzzer's default (60s per new input) can
  # outlast -fuzztime and end in "context deadline exceeded" with no crash.
  fz=("$go" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=100x "$pkg")
  out=$("${fz[@]}" 2>&1) && ok=1 || ok=0
  if [ "$ok" = 0 ] && ! grep -q 'Failing input written' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
    echo "fuzz      $pkg $name: deadline hit while minimising (no crash input); running it once more"
    out=$("${fz[@]}" 2>&1) && ok=1 || ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "fuzz ok   $pkg $name ($(( $(date +%s) - start ))s)"
  else
    echo "fuzz FAIL $pkg $name"; echo "$out" | tail -20
    fail=$((fail + 1))
  fi
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's/^\.\///; s/:func /:/' | sort)
echo "fuzz: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]

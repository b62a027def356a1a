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
  if out=$("$go" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" 2>&1); then
    echo "fuzz ok   $pkg $name ($(( $(date +%s) - start ))s)"
  else
    echo "fuzz FAIL $pkg $name"; echo "$out" | tail -20
    fail=$((fail + 1))
  fi
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's/^\.\///; s/:func /:/' | sort)
echo "fuzz: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]

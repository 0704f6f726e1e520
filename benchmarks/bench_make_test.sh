#!/usr/bin/env bash
# Wall time of `make test` with a warm venv (the install is excluded: `make venv` first).
# Prints one line and appends it to runs/benchmarks/make_test.tsv:
#   date  seconds  exit-status  cpus  python
# Usage: benchmarks/bench_make_test.sh [extra make args, e.g. PY=python3.12]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
make venv "$@" >/dev/null
log=$(mktemp)
start=$(date +%s.%N)
status=0
make test "$@" >"$log" 2>&1 || status=$?
end=$(date +%s.%N)
secs=$(.venv/bin/python -c "print(f'{$end - $start:.1f}')")
summary=$(grep -E '^=+ .*(passed|failed|error).* =+$' "$log" | sed -E 's/=+ ?//g' | paste -sd ';' -)
line="$(date -u +%Y-%m-%dT%H:%M:%SZ)	${secs}	${status}	$(nproc)	$(.venv/bin/python -V 2>&1)"
mkdir -p runs/benchmarks
echo "$line" >>runs/benchmarks/make_test.tsv
echo "make test (warm venv): ${secs} s, exit ${status}, $(nproc) CPUs  [${summary}]"
echo "full log: $log"
exit "$status"

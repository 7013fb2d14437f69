#!/usr/bin/env bash
# Runs a libFuzzer binary for a fixed time over its seed corpus and reports
# the outcome as KTAP (one case), so the matrix counts it like any suite.
#   tools/run-fuzz.sh FUZZER SECONDS CORPUS_DIR...
set -uo pipefail
fuzzer=$1 seconds=$2
shift 2
name=$(basename "$fuzzer")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
    "$work" "$@" > "$work/log" 2>&1
status=$?
echo "KTAP version 1"
echo "1..1"
echo "  KTAP version 1"
echo "  # Subtest: fuzz"
echo "  1..1"
grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/log" | sed 's/^/  # /'
if [ $status -eq 0 ]; then
    echo "  ok 1 $name"
    echo "ok 1 fuzz"
    echo "# totals: pass=1 fail=0 skip=0 error=0"
    echo "mmulab: done pass=1 fail=0 skip=0 error=0 verdict=pass"
else
    grep -E "ERROR|SUMMARY|artifact" "$work/log" | head -20 | sed 's/^/  # /'
    echo "  not ok 1 $name"
    echo "not ok 1 fuzz"
    echo "# failed: fuzz.$name"
    echo "# totals: pass=0 fail=1 skip=0 error=0"
    echo "mmulab: done pass=0 fail=1 skip=0 error=0 verdict=fail"
fi
exit $status

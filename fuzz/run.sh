#!/usr/bin/env bash
# fuzz/run.sh SECONDS TARGET...: run each libFuzzer target (build/fuzz/T)
# for SECONDS from the seeds in fuzz/corpus/T and what earlier runs found
# (build/fuzz/corpus/T, which takes the new inputs: the seeds stay as they
# are).  Prints one summary line per target; fails if any target found a
# crash, a sanitizer report, a leak or a timeout (the input is saved as
# build/fuzz/artifacts/T-*, and the log's tail is shown).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=$1
shift
status=0
mkdir -p build/fuzz/artifacts
for t in "$@"; do
	mkdir -p "build/fuzz/corpus/$t"
	log="build/fuzz/$t.log"
	ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
		"./build/fuzz/$t" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/artifacts/$t-" \
		"build/fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ${seconds} s, ${execs:-?} execs (${rate:-?}/s), $cov: ok"
	else
		echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} execs; log: $log"
		tail -40 "$log"
		status=1
	fi
done
exit $status

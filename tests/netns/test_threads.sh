#!/usr/bin/env bash
# tests/netns/test_threads.sh - the hostile and rekey tests again, with
# capshim's crypto in one thread (--threads=1), and the rekey test with
# every batch, however small, spread over two workers (--threads=2
# --test-spread-always); their plain runs use the default (one thread
# per online CPU, spreading batches when that pays). Topologies: those of
# test_hostile.sh and test_rekey.sh.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# (the spread variant runs the rekey test only: make check's time)
for run in "--threads=1:test_hostile.sh" "--threads=1:test_rekey.sh" \
	"--threads=2 --test-spread-always:test_rekey.sh"; do
	variant=${run%%:*}
	for t in ${run#*:}; do
		echo "# $t with $variant"
		out=$(CAPLAB_SHIM_ARGS="$variant" bash "$HERE/$t" 2>&1)
		last=$(echo "$out" | tail -n 1)
		if [[ $last =~ ^([0-9]+)\ passed,\ 0\ failed$ ]]; then
			ok "$t with $variant: $last"
		else
			echo "$out" | grep -E '^not ok' | head -n 20
			not_ok "$t with $variant: $last"
		fi
	done
done
finish

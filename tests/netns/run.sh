#!/usr/bin/env bash
# tests/netns/run.sh [BUILD_DIR] - runs every tests/netns/test_*.sh with
# CAPTUN_BIN=BUILD_DIR (default build), and again on each mesh its header
# names (# meshes: ...), sums their "N passed, N failed[, N skipped]"
# lines, prints one such line last and exits non-zero on any failure.
# Needs root (network namespaces, TUN devices).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
if ! CAPTUN_BIN=$(cd "$BUILD" 2>/dev/null && pwd) || [ ! -x "$CAPTUN_BIN/capshim" ]; then
	echo "run.sh: no capshim in $BUILD (build it first)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
export CAPTUN_BIN
if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the netns tests need root" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
skipped=0
start=$(date +%s)
out=$(mktemp /tmp/captun-netns-run.XXXXXX)
trap 'rm -f "$out"' EXIT

# A test whose header has a line "# meshes: wireguard-go nebula" runs once
# with capshim's own tunnel and once per mesh with capshim attached
# (CAPLAB_MESH); NETNS_MESHES="..." narrows the meshes ("none": none).
runs() {
	local t m
	for t in "$HERE"/test_*.sh; do
		echo "$t -"
		for m in $(sed -n 's/^# meshes: *//p' "$t" | head -n 1); do
			[ -z "${NETNS_MESHES:-}" ] || [[ " $NETNS_MESHES " == *" $m "* ]] || continue
			echo "$t $m"
		done
	done
}

while read -r t mesh; do
	name=$(basename "$t")
	[ "$mesh" = - ] || name="$name@$mesh"
	echo "# $name (CAPTUN_BIN=$CAPTUN_BIN)"
	t0=$(date +%s)
	# stdin is the list of runs: the tests get none
	if [ "$mesh" = - ]; then
		bash "$t" </dev/null 2>&1 | tee "$out"
	else
		CAPLAB_MESH=$mesh bash "$t" </dev/null 2>&1 | tee "$out"
	fi
	rc=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	s=0
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
		s=${BASH_REMATCH[4]:-0}
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			echo "not ok - $name exited $rc with no failure counted"
			f=1
		fi
	else
		echo "not ok - $name ended without its summary line (exit $rc)"
		p=0
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	echo "# $name: $p passed, $f failed, $s skipped in $(($(date +%s) - t0)) s"
done < <(runs)

echo "# netns tests took $(($(date +%s) - start)) s"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]

#!/bin/sh
# fuzz-all.sh: run every fuzz target of the repository for a given time.
#
#   sh bench/fuzz-all.sh            # 10m per target, 2 at a time
#   FUZZTIME=30s sh bench/fuzz-all.sh
#   JOBS=1 sh bench/fuzz-all.sh ./procnet   # only these packages
#   TARGETS='FuzzWalkBatch|FuzzSAMessage' sh bench/fuzz-all.sh
#
# Targets are found with `go test -list '^Fuzz'`, so new ones are picked up.
# Each runs with -parallel=1 (one worker: JOBS targets use JOBS cores).
# Results (execs, new corpus, failures) go to $OUT (default /tmp/tunnelstat-fuzz),
# one log per target; a crasher is written by go test to the package's
# testdata/fuzz/<Target>/ and the script exits 1.
set -eu
FUZZTIME=${FUZZTIME:-10m}
JOBS=${JOBS:-2}
OUT=${OUT:-/tmp/tunnelstat-fuzz}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
if [ $# -gt 0 ]; then pkgs="$*"; else
	# Root module packages plus the examples module's (a workspace).
	pkgs=$(go list ./... ./examples/... 2>/dev/null)
fi
list="$OUT/targets"
: > "$list"
for p in $pkgs; do
	for t in $(go test -list '^Fuzz' "$p" 2>/dev/null | grep '^Fuzz' || true); do
		echo "$p $t" >> "$list"
	done
done
if [ -n "${TARGETS:-}" ]; then
	grep -E " ($TARGETS)\$" "$list" > "$list.sel" || true
	mv "$list.sel" "$list"
fi
echo "fuzz-all: $(wc -l < "$list") targets, $FUZZTIME each, $JOBS at a time, logs in $OUT"
fail=0
# xargs runs JOBS at once; each line prints its own result.
export FUZZTIME OUT
while read -r p t; do echo "$p $t"; done < "$list" |
	xargs -P "$JOBS" -L 1 sh -c '
		p=$0 t=$1
		log="$OUT/$(echo "$p" | tr / _)-$t.log"
		if go test -run "^\$" -fuzz "^$t\$" -fuzztime "$FUZZTIME" -parallel 1 "$p" > "$log" 2>&1; then res=ok; else res=FAIL; fi
		last=$(grep -E "fuzz: elapsed" "$log" | tail -1 | sed "s/.*fuzz: //")
		echo "$res $p $t: $last"
	' | tee "$OUT/summary" || fail=1
if grep -q '^FAIL' "$OUT/summary"; then fail=1; fi
exit $fail

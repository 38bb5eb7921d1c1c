#!/bin/bash
# run-fuzz.sh TARGET CORPUS_DIR: fuzz TARGET for FUZZ_SECONDS (default 25)
# starting from the checked-in seeds in CORPUS_DIR, which are only read: new
# inputs go to a scratch directory. Fails on any finding (crash, leak, UB,
# a timeout of one input); the input that caused it is kept under
# $FUZZ_ARTIFACTS (default: the build's fuzz-artifacts/) for a regression seed.
set -u
target=$1 seeds=$2
name=$(basename "$target")
secs=${FUZZ_SECONDS:-25}
artifacts=${FUZZ_ARTIFACTS:-$(dirname "$target")/fuzz-artifacts}/$name
mkdir -p "$artifacts"
[ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || { echo "no seed corpus in $seeds"; exit 1; }
scratch=$(mktemp -d /tmp/metald-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# UBSan findings must stop the run, not just print.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
"$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "$seeds"
rc=$?
# 77 would read as "skipped" to meson: any finding is a failure.
[ $rc -ne 0 ] && rc=1
echo "$name: exit $rc after ${secs}s (seeds: $(ls "$seeds" | wc -l))"
exit $rc

#!/usr/bin/env bash
# Acceptance of the txlog tool: gen + verify, a flipped byte named, a SIGKILLed gen recovered clean,
# and bad arguments exit 2 with one sentence.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=bin/txlog
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

$T gen "$w/x" --records 100000 --size 1024 --quiet
out=$($T verify "$w/x") || fail "verify of a fresh log: $out"
grep -q "^100000 good records" <<<"$out" || fail "expected 100000 good records: $out"
echo "ok: $out"

seg=$(ls "$w/x"/*.seg | head -1)
printf '\x55' | dd of="$seg" bs=1 seek=3000000 conv=notrunc status=none
set +e; out=$($T verify "$w/x"); rc=$?; set -e
[ $rc -eq 1 ] || fail "verify after a flipped byte exited $rc: $out"
grep -q "bad record: recno [0-9]*, segment $(basename "$seg"), offset [0-9]*" <<<"$out" || fail "verify did not name the record: $out"
echo "ok: flipped byte -> $(tail -1 <<<"$out")"

$T gen "$w/k" --records 5000000 --size 1024 --quiet & pid=$!
sleep 3
kill -9 $pid; wait $pid 2>/dev/null || true
$T recover "$w/k"
out=$($T verify "$w/k") || fail "verify after SIGKILL + recover: $out"
echo "ok: after SIGKILL: $out"

for args in "verify $w/missing" "verify /" "nonsense" "gen $w/g --records x" "dump $w/x --from"; do
  set +e; msg=$($T $args 2>&1); rc=$?; set -e
  [ $rc -eq 2 ] || fail "txlog $args exited $rc (want 2): $msg"
  [ $(wc -l <<<"$msg") -eq 1 ] || fail "txlog $args printed more than one line: $msg"
done
echo "ok: bad arguments exit 2 with one sentence"

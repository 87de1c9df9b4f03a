#!/usr/bin/env bash
# Acceptance of mcp_server / mcp_stat: a config with only the guide's names starts, listens, writes its
# pid file, survives random bytes on its port, answers mcp_stat in the guide's shapes, stops on SIGTERM;
# a bad value names file, line and setting.
set -euo pipefail
cd "$(dirname "$0")/../.."
w=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$w/mcp.log" ] && tail -20 "$w/mcp.log"; exit 1; }
port=$(( 20000 + RANDOM % 20000 ))

cat > "$w/mcp_server.conf" <<CONF
mcp_listen_address = 127.0.0.1
mcp_listen_port = $port
mcp_authkey = 'smoke-test-key'
mcp_max_slaves = 5
mcp_echo_timeout = 15
mcp_master_address = 127.0.0.1
mcp_slave_addresses = '0:127.0.0.1,1:127.0.0.1'
mcp_queue_min_size = 64MB
mcp_queue_max_size = 1GB
mcp_txlog_path = '$w/queue'
mcp_require_ssl = 0
mcp_log_level = LOG
mcp_promote_allow = '0'
CONF

bin/mcp_server -c "$w/mcp_server.conf" -l "$w/mcp.log" &
pid=$!
for i in $(seq 1 100); do
  grep -q "listening on" "$w/mcp.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "listening on 127.0.0.1:$port" "$w/mcp.log" || fail "not listening"
[ "$(cat "$w/queue/mcp_server.pid")" = "$pid" ] || fail "pid file does not hold $pid"
echo "ok: listening on $port, pid file $pid"

for i in $(seq 1 20); do
  head -c $(( (RANDOM % 5000) + 1 )) /dev/urandom > "/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
done
sleep 0.5
grep -q "^State:.*[RS]" /proc/$pid/status || fail "mcp_server died after random bytes"
echo "ok: survived random bytes ($(grep -c COMERROR "$w/mcp.log") connections refused)"

out=$(bin/mcp_stat "$w/queue")
for line in "Global TransactionLog statistics:" "sync: 0 (DESYNC)" "txlog queue size: 0" "txlog data size: 0" "Slaves status:" "max slaves: 5"; do
  grep -qxF "$line" <<<"$out" || fail "mcp_stat lacks \"$line\": $out"
done
grep -qE '^rec nums: +base +1 last +0$' <<<"$out" || fail "mcp_stat rec nums line: $out"
grep -qE '^ +first +1 ack +0$' <<<"$out" || fail "mcp_stat first/ack line: $out"
grep -qE '^Slave0 -- DUMP  first record: 1  ack record: 0  time: --$' <<<"$out" || fail "mcp_stat slave line: $out"
bin/mcp_stat "$w/queue" --json | grep -q '"max_slaves": 5' || fail "mcp_stat --json"
echo "ok: mcp_stat prints the guide's lines"

set +e; msg=$(bin/mcp_server -c "$w/mcp_server.conf" 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && grep -q "already running" <<<"$msg" || fail "a second server on the same path: rc $rc: $msg"
echo "ok: a second server refuses: $msg"

kill -TERM $pid
for i in $(seq 1 100); do
  grep -q "^State:.*[RS]" /proc/$pid/status 2>/dev/null || break
  sleep 0.1
done
grep -q "mcp_server stopped" "$w/mcp.log" || fail "no clean stop on SIGTERM"
[ ! -f "$w/queue/mcp_server.pid" ] || fail "pid file left behind"
pid=""
echo "ok: stopped on SIGTERM"

sed -i 's/^mcp_max_slaves = 5/mcp_max_slaves = many/' "$w/mcp_server.conf"
set +e; msg=$(bin/mcp_server -c "$w/mcp_server.conf" 2>&1); rc=$?; set -e
[ $rc -eq 2 ] || fail "bad config exited $rc"
grep -q "mcp_server.conf line 4: mcp_max_slaves" <<<"$msg" || fail "bad config message does not name file, line and setting: $msg"
echo "ok: $msg"

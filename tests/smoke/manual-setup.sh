#!/usr/bin/env bash
# Acceptance of the README's "Deploying for real": a master and two slaves wired by hand with the bin/ tools
# only (init-mammoth-database -D, mcp_server, mammoth-node, mammoth sql, mcp_stat, slave_stat), the way an
# administrator would, on three throwaway clusters from the local PostgreSQL binaries. Rows written on the
# master must arrive on the slaves that should get them (a table enabled ON SLAVE 0 stays off slave 1),
# row by row identical.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pgbin/initdb" ] || { echo "FAIL: no PostgreSQL server binaries (set PGBIN)"; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

w=$(mktemp -d /tmp/mammoth-manual-XXXXXX)
chmod 755 "$w"
[ "$(id -u)" = 0 ] && chown postgres "$w"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in master slave0 slave1; do
    [ -f "$w/$n/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$w/$n" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$w"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$w"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done
  exit 1
}
free_port() { while :; do p=$(( 20000 + RANDOM % 30000 )); (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }

# 1. Three clusters; the master with wal_level = logical (README step 2).
declare -A port
for n in master slave0 slave1; do
  port[$n]=$(free_port)
  as_pg "$pgbin/initdb" -D "$w/$n" -U postgres -A trust >/dev/null
  {
    echo "port = ${port[$n]}"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$w'"
    echo "fsync = off"
    [ $n = master ] && echo "wal_level = logical"
  } >> "$w/$n/postgresql.conf"
  as_pg "$pgbin/pg_ctl" -D "$w/$n" -l "$w/$n.pg.log" -w start >/dev/null
  as_pg "$pgbin/createdb" -h "$w" -p "${port[$n]}" -U postgres app
done
psql_on() { local n=$1; shift; "$pgbin/psql" -X -q -h 127.0.0.1 -p "${port[$n]}" -U postgres -d app -v ON_ERROR_STOP=1 "$@"; }
echo "ok: clusters master:${port[master]} slave0:${port[slave0]} slave1:${port[slave1]} [${SECONDS}s]"

# The schema exists on every node before replication (the guide: pg_dump -s of the master).
psql_on master -c "CREATE TABLE accounts (id int8 PRIMARY KEY, owner text NOT NULL, balance numeric, tags text[]);
                   CREATE TABLE readings (sensor int, at timestamptz, value float8, PRIMARY KEY (sensor, at));
                   CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
                   CREATE TABLE things (id uuid PRIMARY KEY, doc jsonb, blob bytea, m mood, f float4, n numeric(20,4), ids int[], at timestamp, big text);"
"$pgbin/pg_dump" -s -h 127.0.0.1 -p "${port[master]}" -U postgres app > "$w/schema.sql"
for n in slave0 slave1; do psql_on $n -f "$w/schema.sql" >/dev/null; done

# 3. The catalog, through -D (postmaster.pid), on every node.
for n in master slave0 slave1; do
  bin/init-mammoth-database -D "$w/$n" app >> "$w/init.log" || fail "init-mammoth-database -D $w/$n app"
done
echo "ok: catalog installed with init-mammoth-database -D [${SECONDS}s]"

# 4. The MCP.
mport=$(free_port)
cat > "$w/mcp_server.conf" <<CONF
mcp_listen_address = '127.0.0.1'
mcp_listen_port = $mport
mcp_authkey = 'manual setup secret'
mcp_max_slaves = 2
mcp_echo_timeout = 15s
mcp_master_address = '127.0.0.1'
mcp_slave_addresses = '0:127.0.0.1,1:127.0.0.1'
mcp_promote_allow = '0'
mcp_txlog_path = '$w/queue'
mcp_queue_min_size = 64MB
mcp_queue_max_size = 1GB
mcp_require_ssl = 0
mcp_log_level = LOG
CONF
bin/mcp_server -c "$w/mcp_server.conf" -l "$w/mcp.log" &
pids+=($!)

# 5. One agent per database.
for n in master slave0 slave1; do
  mode=slave; no=${n#slave}
  [ $n = master ] && { mode=master; no=0; }
  cat > "$w/$n-node.conf" <<CONF
replication_enable = on
replication_mode = $mode
replication_slave_no = $no
replication_database = 'app'
replication_mcp_address = '127.0.0.1'
replication_mcp_port = $mport
replication_mcp_authkey = 'manual setup secret'
replication_mcp_require_ssl = off
replication_data_path = '$w/$n-rlog'
replication_conninfo = 'host=127.0.0.1 port=${port[$n]} user=postgres'
replication_log_level = LOG
CONF
  bin/mammoth-node -c "$w/$n-node.conf" -l "$w/$n-agent.log" &
  pids+=($!)
done

# 6. Enable tables with the guide's statements.
bin/mammoth sql -d "host=127.0.0.1 port=${port[master]} dbname=app user=postgres" -c "ALTER TABLE accounts ENABLE REPLICATION" >/dev/null \
  || fail "ALTER TABLE accounts ENABLE REPLICATION"
bin/mammoth sql -d "host=127.0.0.1 port=${port[master]} dbname=app user=postgres" -c "ALTER TABLE readings ENABLE REPLICATION ON SLAVE 0" >/dev/null \
  || fail "ALTER TABLE readings ENABLE REPLICATION ON SLAVE 0"
bin/mammoth sql -d "host=127.0.0.1 port=${port[master]} dbname=app user=postgres" -c "ALTER TABLE things ENABLE REPLICATION" >/dev/null \
  || fail "ALTER TABLE things ENABLE REPLICATION"
echo "ok: enabled with mammoth sql [${SECONDS}s]"

# Writes on the master: inserts, updates, deletes, awkward values, one larger transaction.
psql_on master -c "INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5, ARRAY['a', NULL, 'b c'] FROM generate_series(1, 2000) g;
                   UPDATE accounts SET balance = 'NaN' WHERE id % 7 = 0;
                   DELETE FROM accounts WHERE id % 11 = 0;
                   INSERT INTO things SELECT md5(g::text)::uuid, jsonb_build_object('g', g, 's', 'ü\"', 'a', jsonb_build_array(1, NULL, 2.5)),
                          decode(md5(g::text), 'hex'), (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood,
                          CASE g % 4 WHEN 0 THEN 'Infinity' WHEN 1 THEN '-Infinity' WHEN 2 THEN 'NaN' ELSE g::float4 END,
                          CASE g % 3 WHEN 0 THEN 'NaN'::numeric ELSE g / 7.0 END, ARRAY[g, NULL], 'infinity', repeat(md5(g::text), 4000)
                   FROM generate_series(1, 200) g;
                   UPDATE things SET m = 'ok' WHERE m = 'sad';
                   INSERT INTO readings SELECT g % 10, timestamptz '2026-01-01' + g * interval '1 second', g / 3.0 FROM generate_series(1, 3000) g;"
for i in $(seq 1 50); do psql_on master -c "UPDATE accounts SET owner = owner || '.' WHERE id = $i"; done

# 7. Watch until the slaves have what the master has.
want=$(psql_on master -Atc "SELECT count(*) FROM accounts")
dots=$(psql_on master -Atc "SELECT count(*) FROM accounts WHERE owner LIKE '%.'")
for i in $(seq 1 120); do
  a0=$(psql_on slave0 -Atc "SELECT count(*) FROM accounts"); a1=$(psql_on slave1 -Atc "SELECT count(*) FROM accounts")
  o0=$(psql_on slave0 -Atc "SELECT count(*) FROM accounts WHERE owner LIKE '%.'")
  o1=$(psql_on slave1 -Atc "SELECT count(*) FROM accounts WHERE owner LIKE '%.'")
  [ "$a0" = "$want" ] && [ "$a1" = "$want" ] && [ "$o0" = "$dots" ] && [ "$o1" = "$dots" ] && break
  sleep 0.5
done
sleep 1

digest() { psql_on $1 -Atc "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM $2 t"; }
for t in accounts readings things; do
  m=$(digest master $t); s0=$(digest slave0 $t)
  [ "$m" = "$s0" ] || fail "$t differs on slave0: master $m, slave0 $s0"
done
[ "$(digest master accounts)" = "$(digest slave1 accounts)" ] || fail "accounts differs on slave1"
[ "$(digest master things)" = "$(digest slave1 things)" ] || fail "things differs on slave1"
[ "$(psql_on slave1 -Atc 'SELECT count(*) FROM readings')" = 0 ] || fail "readings (ON SLAVE 0) reached slave1"
echo "ok: accounts and things (awkward types, TOASTed text) identical on both slaves, readings on slave0 only ($(digest master readings | cut -d' ' -f1) rows) [${SECONDS}s]"

out=$(bin/mcp_stat "$w/queue")
grep -qE "^Slave0 -- SYNC" <<<"$out" || fail "mcp_stat does not show Slave0 in SYNC: $out"
grep -qE "^Slave1 -- SYNC" <<<"$out" || fail "mcp_stat does not show Slave1 in SYNC: $out"
s=$(bin/slave_stat "$w/slave0-rlog")
grep -q "^records restored: " <<<"$s" || fail "slave_stat: $s"
echo "ok: mcp_stat shows both slaves in SYNC; slave_stat: $(grep '^records restored' <<<"$s") [${SECONDS}s]"

# A slave refuses ordinary writes to a replicated table.
if psql_on slave1 -c "INSERT INTO accounts VALUES (999999, 'x', 1, NULL)" 2>"$w/refused.txt"; then
  fail "slave1 accepted a local write to a replicated table"
fi
grep -q "replicated" "$w/refused.txt" || fail "unexpected refusal: $(cat "$w/refused.txt")"
echo "ok: slave1 refuses local writes: $(head -1 "$w/refused.txt") [${SECONDS}s]"
echo "manual setup: PASS"

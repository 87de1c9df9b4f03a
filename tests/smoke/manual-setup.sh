#!/usr/bin/env bash
# Acceptance of the README's "Deploying for real": a master and two slaves wired by hand with the bin/ tools
# only (init-mammoth-database -D, mcp_server, mammoth-node, mammoth sql, mcp_stat, slave_stat), the way an
# administrator would, on three throwaway clusters from the local PostgreSQL binaries. Rows written on the
# master must arrive on the slaves that should get them (a table enabled ON SLAVE 0 stays off slave 1),
# row by row identical.
set -euo pipefail
cd "$(dirname "$0")/../.."
w_prefix=mammoth-manual
source tests/smoke/lib.sh

# 1. Three clusters; the master with wal_level = logical (README step 2).
for n in master slave0 slave1; do new_cluster $n; done
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

# 4. The MCP; 5. one agent per database.
start_mcp 2
for n in master slave0 slave1; do start_agent $n; done

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

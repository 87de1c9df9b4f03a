#!/usr/bin/env bash
# End-to-end benchmark of a table dump (issue 5): a 1M-row table (id int8 primary key, 50-byte text) is
# enabled on the master and dumped through the MCP to one slave; beside it, in the same run and between the
# same two clusters, the reference: psql -c "COPY t TO STDOUT (FORMAT binary)" | psql -c "COPY t2 FROM STDIN (FORMAT binary)".
# Usage: bench/e2e/dump.sh [ROWS] [RUNS]     (defaults 1000000 and 3; needs ./build.sh first)
#        DUMP_WORKERS=N bench/e2e/dump.sh …   (the master's replication_dump_workers; default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
runs=${2:-3}
w_prefix=mammoth-dump-bench
source bench/e2e/lib.sh
since() { echo "$(now) - $1" | bc -l; }

new_cluster master "${tune[@]}"
new_cluster slave0 "${tune[@]}"
schema="CREATE TABLE t (id int8 PRIMARY KEY, v text NOT NULL); CREATE TABLE t2 (id int8 PRIMARY KEY, v text NOT NULL);"
psql_on master -c "$schema"
psql_on slave0 -c "$schema"
psql_on master -c "INSERT INTO t SELECT g, left(md5(g::text) || md5((g + 1)::text), 50) FROM generate_series(1, $rows) g;"
psql_on master -c "VACUUM ANALYZE t"
for n in master slave0; do bin/init-mammoth-database --dsn "$(conninfo $n)" >/dev/null; done
start_mcp 1
AGENT_EXTRA="replication_dump_workers = ${DUMP_WORKERS:-2}" start_agent master
start_agent slave0
for i in $(seq 1 100); do bin/mcp_stat "$w/queue" 2>/dev/null | grep -q "^Slave0 -- SYNC" && break; sleep 0.2; done
echo "rows: $rows; runs: $runs; replication_dump_workers = ${DUMP_WORKERS:-2}; machine: $(nproc) cores"

ref_best=0; dump_best=0
for run in $(seq 1 "$runs"); do
  # Reference: the direct binary COPY pipe.
  psql_on slave0 -c "TRUNCATE t2; CHECKPOINT" >/dev/null
  t0=$(now)
  psql_on master -c "COPY t TO STDOUT (FORMAT binary)" | psql_on slave0 -c "COPY t2 FROM STDIN (FORMAT binary)"
  ref=$(since "$t0")
  [ "$(psql_on slave0 -Atc 'SELECT count(*) FROM t2')" = "$rows" ] || fail "the reference pipe did not copy $rows rows"

  # MammothFast: enable (the first run) or MCP-less re-dump by disable + enable; time until the slave committed it.
  psql_on master -c "SELECT mammoth.disable_replication('t')" >/dev/null 2>&1 || true
  psql_on slave0 -c "CHECKPOINT" >/dev/null
  # From the enable's commit to the slave's log line for the loaded table (the load commits right after it):
  # both stamped by this machine's clock, so the script's own polling costs nothing.
  loaded=$(grep -c "loaded the dump of public.t:" "$w/slave0-agent.log" || true)
  t0=$(psql_on master -Atc "SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT mammoth.enable_replication('t', NULL)) e")
  until [ "$(grep -c "loaded the dump of public.t:" "$w/slave0-agent.log" || true)" -gt "$loaded" ]; do sleep 0.05; done
  t1=$(date -d "$(grep "loaded the dump of public.t:" "$w/slave0-agent.log" | tail -1 | cut -c1-27)" +%s.%N)
  while [ "$(psql_on master -Atc 'SELECT count(*) FROM mammoth.table_dumps')" != 0 ]; do sleep 0.05; done
  sleep 0.5
  dump=$(echo "$t1 - $t0" | bc -l)
  ts=$(date -d "$(grep "dumping public.t " "$w/master-agent.log" | tail -1 | cut -c1-27)" +%s.%N)
  te=$(date -d "$(grep "dump .* shipped" "$w/master-agent.log" | tail -1 | cut -c1-27)" +%s.%N)
  printf "       (enable to COPY start %.2f s, master COPY and shipping %.2f s, slave done %.2f s after the master)\n" \
    "$(echo "$ts - $t0" | bc -l)" "$(echo "$te - $ts" | bc -l)" "$(echo "$t1 - $te" | bc -l)"
  [ "$(digest master t)" = "$(digest slave0 t)" ] || fail "t differs on the slave after the dump"

  r1=$(echo "$rows / $ref" | bc); r2=$(echo "$rows / $dump" | bc)
  printf "run %d: COPY pipe %.2f s (%d rows/s)   MammothFast dump %.2f s (%d rows/s)   ratio %.0f%%\n" \
    "$run" "$ref" "$r1" "$dump" "$r2" "$(echo "100 * $r2 / $r1" | bc -l)"
  [ "$r1" -gt "$ref_best" ] && ref_best=$r1
  [ "$r2" -gt "$dump_best" ] && dump_best=$r2
done
printf "best: COPY pipe %d rows/s, MammothFast dump %d rows/s: %.0f%% of the reference\n" "$ref_best" "$dump_best" "$(echo "100 * $dump_best / $ref_best" | bc -l)"
grep -h "dump .* shipped" "$w/master-agent.log" | tail -"$runs" || true

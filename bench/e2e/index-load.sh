#!/usr/bin/env bash
# Why the slave drops a table's indexes for a large dump (docs/dumps.md, "Indexes"), and why dumps split
# tables by block range rather than key range (docs/dumps.md, "Parallel dumps"). Between two throwaway
# clusters, a 1M-row table (id int8 primary key, 50-byte text):
#   - the COPY pipe into a table with its primary key (TRUNCATE in the same transaction, as the slave does),
#     against the pipe into a table without it followed by ALTER TABLE … ADD PRIMARY KEY;
#   - COPY of the first half of the table selected by block range (ctid) against by key range.
# Usage: bench/e2e/index-load.sh [ROWS] [RUNS]    (defaults 1000000 and 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
runs=${2:-3}
w_prefix=mammoth-index-bench
source bench/e2e/lib.sh
secs() { echo "$2 - $1" | bc -l; }
new_cluster master "${tune[@]}"
new_cluster slave0 "${tune[@]}"
psql_on master -c "CREATE TABLE t (id int8 PRIMARY KEY, v text NOT NULL)"
psql_on master -c "INSERT INTO t SELECT g, left(md5(g::text) || md5((g + 1)::text), 50) FROM generate_series(1, $rows) g"
psql_on master -c "VACUUM ANALYZE t"
half_blocks=$(( $(psql_on master -Atc "SELECT pg_relation_size('t') / 8192") / 2 ))
psql_on slave0 -c "CREATE TABLE t2 (id int8 PRIMARY KEY, v text NOT NULL)"
echo "rows: $rows; runs: $runs; machine: $(nproc) cores"
for run in $(seq 1 "$runs"); do
  psql_on slave0 -c "TRUNCATE t2; DROP TABLE IF EXISTS t3; CREATE TABLE t3 (id int8 NOT NULL, v text NOT NULL); CHECKPOINT" >/dev/null
  t0=$(now)
  psql_on master -c "COPY t TO STDOUT (FORMAT binary)" | psql_on slave0 -c "BEGIN; TRUNCATE t2; COPY t2 FROM STDIN (FORMAT binary); COMMIT"
  t1=$(now)
  psql_on master -c "COPY t TO STDOUT (FORMAT binary)" | psql_on slave0 -c "COPY t3 FROM STDIN (FORMAT binary)"
  t2=$(now)
  psql_on slave0 -c "ALTER TABLE t3 ADD PRIMARY KEY (id)"
  t3=$(now)
  psql_on master -c "COPY (SELECT id, v FROM t WHERE ctid < '($half_blocks,0)'::tid) TO STDOUT (FORMAT binary)" >/dev/null
  t4=$(now)
  psql_on master -c "COPY (SELECT id, v FROM t WHERE id <= $rows / 2) TO STDOUT (FORMAT binary)" >/dev/null
  t5=$(now)
  printf "run %d: load with the key %.2f s; load without it %.2f s + ADD PRIMARY KEY %.2f s = %.2f s (%.0f%%)   half by block range %.2f s, by key range %.2f s\n" \
    "$run" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$(secs "$t2" "$t3")" "$(secs "$t1" "$t3")" "$(echo "100 * ($t3 - $t1) / ($t1 - $t0)" | bc -l)" \
    "$(secs "$t3" "$t4")" "$(secs "$t4" "$t5")"
done

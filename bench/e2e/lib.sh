# Sourced by the end-to-end benchmarks (from the repository root): the throwaway clusters, MCP and agents of
# tests/smoke/lib.sh, the settings both clusters get for bulk loads, and a clock.
source tests/smoke/lib.sh
tune=("shared_buffers = 512MB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" "synchronous_commit = off" "maintenance_work_mem = 256MB")
now() { date +%s.%N; }

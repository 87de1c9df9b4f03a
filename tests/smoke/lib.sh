# Shared by tests/smoke/*.sh and bench/e2e/*.sh: throwaway clusters from the local PostgreSQL binaries, an
# MCP and agents wired with the bin/ tools, exactly as the README's "Deploying for real" says.
# Source it after `cd` to the repository root; set $w_prefix first to name the work folder.

pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pgbin/initdb" ] || { echo "FAIL: no PostgreSQL server binaries (set PGBIN)"; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

w=$(mktemp -d "/tmp/${w_prefix:-mammoth-smoke}-XXXXXX")
chmod 755 "$w"
if [ "$(id -u)" = 0 ]; then chown postgres "$w"; fi
pids=()
nodes=()
declare -A port

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in "${nodes[@]}"; do
    if [ -f "$w/$n/postmaster.pid" ]; then as_pg "$pgbin/pg_ctl" -D "$w/$n" -m immediate stop >/dev/null 2>&1 || true; fi
  done
  [ -n "${KEEP:-}" ] || rm -rf "$w"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$w"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done
  exit 1
}

free_port() { while :; do p=$(( 20000 + RANDOM % 30000 )); (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }

# new_cluster NAME [extra postgresql.conf lines...]: initdb, start, createdb app. The master gets wal_level = logical.
new_cluster() {
  local n=$1; shift
  port[$n]=$(free_port)
  nodes+=("$n")
  as_pg "$pgbin/initdb" -D "$w/$n" -U postgres -A trust >/dev/null
  {
    echo "port = ${port[$n]}"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$w'"
    echo "fsync = off"
    [ "$n" = master ] && echo "wal_level = logical"
    for line in "$@"; do echo "$line"; done
  } >> "$w/$n/postgresql.conf"
  as_pg "$pgbin/pg_ctl" -D "$w/$n" -l "$w/$n.pg.log" -w start >/dev/null
  as_pg "$pgbin/createdb" -h "$w" -p "${port[$n]}" -U postgres app
}

psql_on() { local n=$1; shift; "$pgbin/psql" -X -q -h 127.0.0.1 -p "${port[$n]}" -U postgres -d app -v ON_ERROR_STOP=1 "$@"; }
conninfo() { echo "host=127.0.0.1 port=${port[$1]} dbname=app user=postgres"; }

# start_mcp SLAVES: mcp_server with slaves 0..SLAVES-1 on loopback; sets $mport.
start_mcp() {
  local slaves=$1 addrs="" i
  for ((i = 0; i < slaves; i++)); do addrs+="${addrs:+,}$i:127.0.0.1"; done
  mport=$(free_port)
  cat > "$w/mcp_server.conf" <<CONF
mcp_listen_address = '127.0.0.1'
mcp_listen_port = $mport
mcp_authkey = 'smoke secret'
mcp_max_slaves = $slaves
mcp_echo_timeout = 15s
mcp_master_address = '127.0.0.1'
mcp_slave_addresses = '$addrs'
mcp_promote_allow = '0'
mcp_txlog_path = '$w/queue'
mcp_queue_min_size = 64MB
mcp_queue_max_size = ${MCP_QUEUE_MAX:-4GB}
mcp_require_ssl = 0
mcp_log_level = LOG
CONF
  bin/mcp_server -c "$w/mcp_server.conf" -l "$w/mcp.log" &
  pids+=($!)
}

# start_agent NODE: mammoth-node for a cluster made by new_cluster (master, or slaveN).
start_agent() {
  local n=$1 mode=slave no=${1#slave}
  if [ "$n" = master ]; then mode=master; no=0; fi
  cat > "$w/$n-node.conf" <<CONF
replication_enable = on
replication_mode = $mode
replication_slave_no = $no
replication_database = 'app'
replication_mcp_address = '127.0.0.1'
replication_mcp_port = $mport
replication_mcp_authkey = 'smoke secret'
replication_mcp_require_ssl = off
replication_data_path = '$w/$n-rlog'
replication_conninfo = 'host=127.0.0.1 port=${port[$n]} user=postgres'
replication_log_level = LOG
${AGENT_EXTRA:-}
CONF
  bin/mammoth-node -c "$w/$n-node.conf" -l "$w/$n-agent.log" &
  pids+=($!)
}

# digest NODE TABLE: row count and an md5 over the rows in a stable order.
digest() { psql_on "$1" -Atc "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM $2 t"; }

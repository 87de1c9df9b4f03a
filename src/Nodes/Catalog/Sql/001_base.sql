-- MammothFast catalog, migration 1: schema mammoth, the settings tables, the agent's local state.
--
-- Run by CatalogInstaller inside its transaction, after pg_advisory_xact_lock, only on a database
-- that has no mammoth.node_info yet. Functions live in functions.sql (re-applied whenever it changes);
-- the publication is created afterwards by mammoth.sync_publication().
--
-- Which tables travel in the stream (publication mammoth): replicated_tables, lo_columns, requests.
-- Which are local to each node and must never be published: node_info, slave_progress, table_sync.

CREATE SCHEMA mammoth;
COMMENT ON SCHEMA mammoth IS 'MammothFast replication catalog (installed by init-mammoth-database)';
REVOKE ALL ON SCHEMA mammoth FROM PUBLIC;
GRANT USAGE ON SCHEMA mammoth TO PUBLIC;

-- Local facts about this node: catalog_version and catalog_functions_sha256 (written by the installer),
-- role ('master' | 'slave') and slave_no (written by the agent at start through mammoth.set_node_role).
CREATE TABLE mammoth.node_info (
    key   text PRIMARY KEY,
    value text,
    CONSTRAINT node_info_role_check CHECK (key <> 'role' OR value IN ('master', 'slave')),
    CONSTRAINT node_info_slave_no_check CHECK (key <> 'slave_no' OR value ~ '^([0-9]|[1-5][0-9]|6[0-3])$')
);

-- One row per table that is, or was, replicated; by name, because OIDs differ between nodes.
-- slaves NULL means every slave; disabling keeps the list so that enabling again restores it.
CREATE TABLE mammoth.replicated_tables (
    schema_name name        NOT NULL,
    table_name  name        NOT NULL,
    slaves      integer[],
    enabled     boolean     NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name),
    CONSTRAINT replicated_tables_slaves_check CHECK (
        slaves IS NULL
        OR (array_ndims(slaves) = 1
            AND array_position(slaves, NULL) IS NULL
            AND 0 <= ALL (slaves) AND 63 >= ALL (slaves)))
);

-- Columns whose values are large object OIDs (ALTER TABLE foo ALTER bar ENABLE LO).
CREATE TABLE mammoth.lo_columns (
    schema_name name        NOT NULL,
    table_name  name        NOT NULL,
    column_name name        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name, column_name)
);

-- Commands for the local agent (MCP REFRESH, MCP BATCHUPDATE, PROMOTE ...). Every insert NOTIFYs
-- channel mammoth_requests (trigger in functions.sql); the agent sets done_at and result.
CREATE TABLE mammoth.requests (
    id           bigserial   PRIMARY KEY,
    kind         text        NOT NULL
        CONSTRAINT requests_kind_check CHECK (kind IN ('refresh', 'batchupdate', 'promote', 'promote_force', 'promote_back')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by name        NOT NULL DEFAULT session_user,
    done_at      timestamptz,
    result       text
);

-- The slave agent's position, updated in the same transaction as each applied record, so a record is
-- applied exactly once across any crash. One row, always present.
CREATE TABLE mammoth.slave_progress (
    singleton          boolean     PRIMARY KEY DEFAULT true CONSTRAINT slave_progress_singleton CHECK (singleton),
    applied_recno      bigint      NOT NULL DEFAULT 0,
    epoch              integer     NOT NULL DEFAULT 0,
    applied_at         timestamptz,
    master_commit_lsn  pg_lsn,
    master_commit_time timestamptz,
    last_error         text,
    last_error_recno   bigint,
    last_error_at      timestamptz
);
INSERT INTO mammoth.slave_progress DEFAULT VALUES;

-- Per-table dump state on a slave (TABLE_DUMP_BEGIN/CHUNK/END); the state values belong to the agent.
CREATE TABLE mammoth.table_sync (
    schema_name name        NOT NULL,
    table_name  name        NOT NULL,
    state       text        NOT NULL,
    dump_recno  bigint,
    rows_loaded bigint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    detail      jsonb,
    PRIMARY KEY (schema_name, table_name)
);

REVOKE ALL ON ALL TABLES IN SCHEMA mammoth FROM PUBLIC;
GRANT SELECT ON mammoth.node_info, mammoth.replicated_tables, mammoth.lo_columns TO PUBLIC;

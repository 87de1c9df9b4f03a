-- MammothFast catalog, migration 4: table dumps the master agent owes the slaves (local, never published).
--
-- enable_replication() on a table that has rows inserts a row here in the same transaction; the master
-- agent dumps the table at a snapshot ordered against the change stream (docs/dumps.md) and deletes the
-- row once the MCP has the whole dump durable. A row that survives an agent crash is dumped again.

CREATE TABLE mammoth.table_dumps (
    id           bigserial   PRIMARY KEY,
    schema_name  name        NOT NULL,
    table_name   name        NOT NULL,
    slaves       integer[],               -- NULL: every slave the table is enabled for
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by name        NOT NULL DEFAULT session_user,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text
);

REVOKE ALL ON mammoth.table_dumps FROM PUBLIC;
GRANT SELECT ON mammoth.table_dumps TO PUBLIC;

-- MammothFast catalog, migration 2: state of the slave agent's apply (local, never published).
--
-- slave_relations: the master's RELATION records as this slave last applied them (table id -> schema,
-- name, columns, key), written in the same transaction as the record, so that an agent restarted in
-- the middle of the stream knows the table ids that earlier records introduced.
-- slave_progress.mcp_id: the identity of the MCP queue whose record numbers applied_recno counts; a
-- slave that meets another queue (a replaced txlog) with applied_recno > 0 needs a full dump.

CREATE TABLE mammoth.slave_relations (
    table_id    bigint      PRIMARY KEY,   -- the master's table id (its pg_class OID), 0 .. 2^32-1
    schema_name text        NOT NULL,
    table_name  text        NOT NULL,
    columns     text[]      NOT NULL,      -- column names in the master's order, for people
    key_columns text[]      NOT NULL,      -- the key columns, for people
    relation    bytea       NOT NULL,      -- the relation as the RELATION record encodes it (the agent reads this)
    recno       bigint      NOT NULL,      -- record that carried it
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE mammoth.slave_progress ADD COLUMN mcp_id uuid;

REVOKE ALL ON mammoth.slave_relations FROM PUBLIC;

-- MammothFast catalog, migration 3: the slave's state of a full dump (local, never published).
--
-- From a DUMP_START naming this slave until its DUMP_END the slave applies only dump records (docs/dumps.md).
-- The agent writes these columns in the same local transaction as the applied recno, so an agent restarted
-- in the middle of a full dump knows it is inside one (and skips data records) and how far it got.
-- dump_id is NULL outside a full dump. last_dump is the summary line of the last finished dump.

ALTER TABLE mammoth.slave_progress
    ADD COLUMN dump_id          bigint,       -- the running full dump's dump_id (DUMP_START), NULL outside one
    ADD COLUMN dump_start_recno bigint,       -- record of its DUMP_START
    ADD COLUMN dump_tables      integer,      -- tables it announced
    ADD COLUMN dump_tables_done integer,      -- tables loaded and committed so far
    ADD COLUMN dump_rows        bigint,       -- rows loaded and committed so far
    ADD COLUMN dump_bytes       bigint,       -- bytes of rows loaded and committed so far
    ADD COLUMN dump_started_at  timestamptz,  -- when this slave applied the DUMP_START
    ADD COLUMN last_dump        text;         -- summary of the last finished dump, for slave_stat

-- MammothFast catalog functions. Re-applied by CatalogInstaller whenever this file changes (its SHA-256
-- is kept in mammoth.node_info), so everything here must be CREATE OR REPLACE or drop-and-create.
-- Changing a function's argument or result types needs a numbered migration that drops it first.
--
-- Conventions
--   * Functions that write are SECURITY DEFINER (owned by the installing superuser: they alter the
--     publication and may create the replication slot) with search_path pinned to
--     pg_catalog, mammoth, pg_temp. EXECUTE is revoked from PUBLIC; GRANT it to delegate.
--   * Functions that take a table or schema *name* are small SECURITY INVOKER wrappers without a pinned
--     search_path, so the name resolves in the caller's search_path; they hand a regclass to the definer.
--     Names are text, not NAME: NAME silently cuts at 63 bytes, and a quoted, schema-qualified name can
--     be longer. Every call written for NAME works unchanged.
--   * Errors are one sentence naming the object and how to fix it.

-- ---------------------------------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth.node_role() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$ SELECT value FROM mammoth.node_info WHERE key = 'role' $$;
COMMENT ON FUNCTION mammoth.node_role() IS 'master, slave, or NULL when the agent has never started on this node';

CREATE OR REPLACE FUNCTION mammoth._require_master(p_command text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_no text;
BEGIN
    IF mammoth.node_role() = 'slave' THEN
        SELECT value INTO v_no FROM mammoth.node_info WHERE key = 'slave_no';
        RAISE EXCEPTION '% is a master-only command and this node is slave %; run it on the master',
            p_command, coalesce(v_no, '(number not recorded)')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION mammoth._require_slave(p_command text, p_where text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    IF mammoth.node_role() = 'master' THEN
        RAISE EXCEPTION '% is a slave-only command and this node is the master; %', p_command, p_where
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

-- A slave list as the user gave it -> sorted, without duplicates; NULL stays NULL (all slaves).
CREATE OR REPLACE FUNCTION mammoth._normalize_slaves(p_slaves integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_bad integer;
BEGIN
    IF p_slaves IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(p_slaves) = 0 THEN
        RAISE EXCEPTION 'the slave list is empty; give slave numbers such as ''{0,2}'', or NULL for all slaves'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position(p_slaves, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'the slave list % holds a NULL; give slave numbers 0 to 63, or NULL instead of the list for all slaves', p_slaves
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s INTO v_bad FROM unnest(p_slaves) AS s WHERE s NOT BETWEEN 0 AND 63 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'slave number % is out of range; slave numbers are 0 to 63 (the replication_slave_no of each slave)', v_bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ARRAY(SELECT DISTINCT s FROM unnest(p_slaves) AS s ORDER BY s);
END
$$;

CREATE OR REPLACE FUNCTION mammoth._slaves_text(p_slaves integer[]) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
    SELECT CASE
        WHEN p_slaves IS NULL THEN 'all slaves'
        WHEN cardinality(p_slaves) = 1 THEN 'slave ' || p_slaves[1]
        ELSE 'slaves ' || array_to_string(p_slaves, ',')
    END
$$;

-- The checks every table must pass before it is replicated. Returns its schema and name.
CREATE OR REPLACE FUNCTION mammoth._check_table(p_rel regclass, OUT schema_name name, OUT table_name name)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_kind char;
    v_persistence char;
    v_partition boolean;
    v_owner oid;
    v_qname text;
BEGIN
    SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.relispartition, c.relowner
      INTO schema_name, table_name, v_kind, v_persistence, v_partition, v_owner
      FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = p_rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table with OID % does not exist; it was probably dropped', p_rel::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    v_qname := format('%I.%I', schema_name, table_name);
    IF schema_name = 'mammoth' THEN
        RAISE EXCEPTION '% belongs to MammothFast itself; the settings tables travel to the slaves without being enabled', v_qname
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_persistence = 't' THEN
        RAISE EXCEPTION '% is a temporary table; only permanent tables can be replicated', v_qname
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF schema_name IN ('pg_catalog', 'information_schema') OR schema_name LIKE 'pg\_toast%' THEN
        RAISE EXCEPTION '% is a system table; only user tables can be replicated', v_qname
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF v_kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is %, not a table; only tables can be replicated', v_qname,
            CASE v_kind WHEN 'v' THEN 'a view' WHEN 'm' THEN 'a materialized view' WHEN 'S' THEN 'a sequence'
                        WHEN 'f' THEN 'a foreign table' WHEN 'i' THEN 'an index' WHEN 'I' THEN 'an index'
                        WHEN 'c' THEN 'a composite type' ELSE 'not a plain table' END
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF v_partition THEN
        RAISE EXCEPTION '% is a partition; enable replication on its partitioned table % instead', v_qname,
            (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
              WHERE c.oid = pg_partition_root(p_rel))
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF v_persistence = 'u' THEN
        RAISE EXCEPTION '% is unlogged, and logical decoding cannot see unlogged tables; make it logged (ALTER TABLE % SET LOGGED) before enabling replication', v_qname, v_qname
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index WHERE indrelid = p_rel AND indisprimary) THEN
        RAISE EXCEPTION 'table % has no primary key; add one (ALTER TABLE % ADD PRIMARY KEY (…)) before enabling replication', v_qname, v_qname
            USING ERRCODE = 'invalid_table_definition';
    END IF;
    IF NOT pg_has_role(session_user, v_owner, 'USAGE') THEN
        RAISE EXCEPTION 'only the owner of % (role %) or a superuser can change its replication; connect as that role', v_qname, v_owner::regrole
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- Makes sure logical decoding will capture every transaction that commits after the caller's transaction:
-- wal_level is logical, publication mammoth exists, and slot mammoth (pgoutput) exists. Must run before the
-- caller writes anything: PostgreSQL refuses to create a logical slot in a transaction that has an xid.
-- The slot is not transactional: it stays even if the caller rolls back, and later calls find it.
CREATE OR REPLACE FUNCTION mammoth._ensure_capture(p_command text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_wal text := current_setting('wal_level');
    v_slot record;
BEGIN
    IF v_wal <> 'logical' THEN
        RAISE EXCEPTION 'wal_level is % on this server and replication needs logical; set wal_level = logical in postgresql.conf, restart PostgreSQL, and run % again', v_wal, p_command
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'mammoth') THEN
        RAISE EXCEPTION 'publication mammoth is missing; run init-mammoth-database on this database again, which recreates it'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT slot_type, plugin, database INTO v_slot FROM pg_replication_slots WHERE slot_name = 'mammoth';
    IF FOUND THEN
        IF v_slot.slot_type <> 'logical' OR v_slot.plugin <> 'pgoutput' THEN
            RAISE EXCEPTION 'replication slot mammoth exists but is not a logical pgoutput slot; drop it (SELECT pg_drop_replication_slot(''mammoth'')) and run % again', p_command
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF v_slot.database <> current_database() THEN
            RAISE EXCEPTION 'replication slot mammoth belongs to database %, and MammothFast replicates one database per cluster; disable replication there and drop the slot, or replicate that database instead', v_slot.database
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RETURN;
    END IF;
    IF current_setting('max_replication_slots')::integer = 0 THEN
        RAISE EXCEPTION 'max_replication_slots is 0 on this server; set it to at least 1 in postgresql.conf, restart PostgreSQL, and run % again', p_command
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'replication slot mammoth does not exist yet, and PostgreSQL cannot create it in a transaction that has already written; run % outside an explicit transaction block (or before any write in it), or start the master agent first, which creates the slot', p_command
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    BEGIN
        PERFORM pg_create_logical_replication_slot('mammoth', 'pgoutput');
        RAISE NOTICE 'created logical replication slot mammoth; it keeps WAL on this server until the master agent reads it';
    EXCEPTION WHEN duplicate_object THEN
        NULL;  -- a concurrent caller created it first
    END;
END
$$;

CREATE OR REPLACE FUNCTION mammoth._in_publication(p_rel regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM pg_publication_rel AS pr JOIN pg_publication AS p ON p.oid = pr.prpubid
                    WHERE p.pubname = 'mammoth' AND pr.prrelid = p_rel)
$$;

CREATE OR REPLACE FUNCTION mammoth._publication_add(p_rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    IF NOT mammoth._in_publication(p_rel) THEN
        EXECUTE format('ALTER PUBLICATION mammoth ADD TABLE ONLY %s', p_rel);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION mammoth._publication_drop(p_rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    IF mammoth._in_publication(p_rel) THEN
        EXECUTE format('ALTER PUBLICATION mammoth DROP TABLE ONLY %s', p_rel);
    END IF;
END
$$;

-- The write part of enabling one checked table. p_mode: 'set' (slaves := p_slaves), 'keep' (the list kept
-- from before, or all slaves for a new table), 'add' (p_slaves added to the current list).
-- Returns true when the settings row changed.
CREATE OR REPLACE FUNCTION mammoth._enable_checked(p_rel regclass, p_schema name, p_table name, p_slaves integer[], p_mode text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_old_slaves integer[];
    v_old_enabled boolean;
    v_new integer[];
    v_found boolean;
    v_has_rows boolean;
    v_qname text := format('%I.%I', p_schema, p_table);
BEGIN
    SELECT slaves, enabled INTO v_old_slaves, v_old_enabled
      FROM mammoth.replicated_tables WHERE schema_name = p_schema AND table_name = p_table FOR UPDATE;
    v_found := FOUND;
    IF NOT v_found THEN
        v_new := p_slaves;
    ELSIF p_mode = 'set' THEN
        v_new := p_slaves;
    ELSIF p_mode = 'keep' THEN
        v_new := v_old_slaves;
        IF NOT v_old_enabled AND v_old_slaves IS NOT NULL THEN
            RAISE NOTICE '% is replicated to % again, as before it was disabled; call mammoth.enable_replication(''%'', NULL) to replicate it to all slaves',
                v_qname, mammoth._slaves_text(v_new), v_qname;
        END IF;
    ELSIF v_old_slaves IS NULL THEN  -- 'add' to a table configured for all slaves
        v_new := NULL;
        RAISE NOTICE '% is configured for all slaves, which includes %; to replicate it to % only, call mammoth.enable_replication(''%'', ''%'')',
            v_qname, mammoth._slaves_text(p_slaves), mammoth._slaves_text(p_slaves), v_qname, p_slaves;
    ELSE
        v_new := ARRAY(SELECT DISTINCT s FROM unnest(v_old_slaves || p_slaves) AS s ORDER BY s);
    END IF;

    PERFORM mammoth._publication_add(p_rel);
    IF v_found AND v_old_enabled AND v_old_slaves IS NOT DISTINCT FROM v_new THEN
        RETURN false;
    END IF;
    INSERT INTO mammoth.replicated_tables AS r (schema_name, table_name, slaves, enabled, changed_at)
    VALUES (p_schema, p_table, v_new, true, now())
    ON CONFLICT (schema_name, table_name) DO UPDATE
        SET slaves = EXCLUDED.slaves, enabled = true, changed_at = EXCLUDED.changed_at;
    -- A table with rows is dumped to its slaves (an empty one is not: the guide); the master agent takes
    -- the request from mammoth.table_dumps (docs/dumps.md).
    EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)', p_schema, p_table) INTO v_has_rows;
    IF v_has_rows THEN
        INSERT INTO mammoth.table_dumps (schema_name, table_name, slaves) VALUES (p_schema, p_table, v_new);
        PERFORM pg_notify('mammoth_requests', 'table_dump');  -- wakes the master agent at commit
        RAISE NOTICE '% has rows: the master agent dumps it to %', v_qname, mammoth._slaves_text(v_new);
    END IF;
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- Enabling and disabling (master-only)
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth._enable_table(p_rel regclass, p_slaves integer[], p_mode text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_command text := CASE p_mode WHEN 'add' THEN 'ALTER TABLE … ENABLE REPLICATION ON SLAVE (mammoth.enable_replication_on_slave)'
                                  ELSE 'ALTER TABLE … ENABLE REPLICATION (mammoth.enable_replication)' END;
    v_slaves integer[];
    v_t record;
BEGIN
    PERFORM mammoth._require_master(v_command);
    SELECT * INTO v_t FROM mammoth._check_table(p_rel);
    v_slaves := mammoth._normalize_slaves(p_slaves);
    PERFORM mammoth._ensure_capture(v_command);
    -- Nothing has been written before this point (see _ensure_capture).
    IF NOT mammoth._enable_checked(p_rel, v_t.schema_name, v_t.table_name, v_slaves, p_mode) THEN
        RAISE NOTICE '%.% is already replicated to %', quote_ident(v_t.schema_name), quote_ident(v_t.table_name),
            mammoth._slaves_text((SELECT slaves FROM mammoth.replicated_tables
                                   WHERE schema_name = v_t.schema_name AND table_name = v_t.table_name));
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION mammoth._resolve_table(p_name text) RETURNS regclass
LANGUAGE plpgsql STABLE
AS $$
-- No pinned search_path on purpose: the name resolves in the caller's search_path.
DECLARE
    v_rel regclass;
BEGIN
    IF p_name IS NULL OR p_name = '' THEN
        RAISE EXCEPTION 'no table name given; pass a table name such as ''public.foo''' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_rel := pg_catalog.to_regclass(p_name);
    IF v_rel IS NULL THEN
        RAISE EXCEPTION 'table % does not exist; check the spelling, schema-qualify it (myschema.%) or fix search_path (now %), and quote mixed-case names ("MyTable")',
            p_name, p_name, pg_catalog.current_setting('search_path')
            USING ERRCODE = 'undefined_table';
    END IF;
    RETURN v_rel;
END
$$;

CREATE OR REPLACE FUNCTION mammoth.enable_replication(p_table text, p_slaves integer[]) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM mammoth._enable_table(mammoth._resolve_table(p_table), p_slaves, 'set');
END
$$;
COMMENT ON FUNCTION mammoth.enable_replication(text, integer[]) IS
    'Replicate the table to exactly these slaves (NULL = all slaves). The guide''s enable_replication(NAME, INTEGER[]).';

CREATE OR REPLACE FUNCTION mammoth.enable_replication(p_table text) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM mammoth._enable_table(mammoth._resolve_table(p_table), NULL, 'keep');
END
$$;
COMMENT ON FUNCTION mammoth.enable_replication(text) IS
    'ALTER TABLE name ENABLE REPLICATION: replicate the table to the slaves it had before it was disabled, or to all slaves.';

CREATE OR REPLACE FUNCTION mammoth.enable_replication_on_slave(p_table text, p_slave integer) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF p_slave IS NULL THEN
        RAISE EXCEPTION 'no slave number given; pass one from 0 to 63' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mammoth._enable_table(mammoth._resolve_table(p_table), ARRAY[p_slave], 'add');
END
$$;
COMMENT ON FUNCTION mammoth.enable_replication_on_slave(text, integer) IS
    'ALTER TABLE name ENABLE REPLICATION ON SLAVE n: add slave n to the slaves the table is replicated to.';

-- Every table of one schema (p_schema NULL: of every user schema) that can be replicated; keyless,
-- unlogged and extension-owned tables are skipped with a NOTICE each. Returns how many were enabled.
CREATE OR REPLACE FUNCTION mammoth._enable_many(p_schema oid, p_slaves integer[], p_command text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_slaves integer[];
    v_count integer := 0;
    v_t record;
    v_qname text;
BEGIN
    PERFORM mammoth._require_master(p_command);
    v_slaves := mammoth._normalize_slaves(p_slaves);
    IF p_schema IS NOT NULL AND (SELECT nspname FROM pg_namespace WHERE oid = p_schema) IN ('mammoth', 'pg_catalog', 'information_schema') THEN
        RAISE EXCEPTION 'schema % holds system or MammothFast tables, which cannot be enabled; pick a schema of your own', p_schema::regnamespace
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mammoth._ensure_capture(p_command);
    FOR v_t IN
        SELECT c.oid::regclass AS rel, n.nspname, c.relname, c.relpersistence, c.relowner,
               EXISTS (SELECT FROM pg_index AS i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
               EXISTS (SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AS in_extension
          FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
           AND n.nspname NOT IN ('mammoth', 'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
           AND (p_schema IS NULL OR n.oid = p_schema)
         ORDER BY n.nspname, c.relname
    LOOP
        v_qname := format('%I.%I', v_t.nspname, v_t.relname);
        IF v_t.in_extension THEN
            RAISE NOTICE 'skipping %: it belongs to an extension; enable it by name if it must be replicated', v_qname;
        ELSIF v_t.relpersistence = 'u' THEN
            RAISE NOTICE 'skipping %: it is unlogged, and logical decoding cannot see it; make it logged (ALTER TABLE % SET LOGGED) and enable it then', v_qname, v_qname;
        ELSIF NOT v_t.has_pk THEN
            RAISE NOTICE 'skipping %: it has no primary key; add one (ALTER TABLE % ADD PRIMARY KEY (…)) and enable it then', v_qname, v_qname;
        ELSIF NOT pg_has_role(session_user, v_t.relowner, 'USAGE') THEN
            RAISE NOTICE 'skipping %: only its owner (role %) or a superuser can enable it', v_qname, v_t.relowner::regrole;
        ELSE
            PERFORM mammoth._enable_checked(v_t.rel, v_t.nspname, v_t.relname, v_slaves, 'set');
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END
$$;

CREATE OR REPLACE FUNCTION mammoth.enable_replication_by_schema(p_schema text, p_slaves integer[]) RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_nsp regnamespace;
BEGIN
    v_nsp := pg_catalog.to_regnamespace(p_schema);
    IF v_nsp IS NULL THEN
        RAISE EXCEPTION 'schema % does not exist; check the spelling, and quote mixed-case names ("MySchema")', p_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    RETURN mammoth._enable_many(v_nsp, p_slaves, 'mammoth.enable_replication_by_schema');
END
$$;
COMMENT ON FUNCTION mammoth.enable_replication_by_schema(text, integer[]) IS
    'Replicate every table of the schema that has a primary key to these slaves (NULL = all); returns how many.';

CREATE OR REPLACE FUNCTION mammoth.enable_replication_global(p_slaves integer[]) RETURNS integer
LANGUAGE sql VOLATILE
AS $$ SELECT mammoth._enable_many(NULL, p_slaves, 'mammoth.enable_replication_global') $$;
COMMENT ON FUNCTION mammoth.enable_replication_global(integer[]) IS
    'Replicate every user table that has a primary key to these slaves (NULL = all); returns how many.';

-- Disables the rows matching p_rel (one table), or p_schema (a schema), or everything (both NULL).
CREATE OR REPLACE FUNCTION mammoth._disable_many(p_rel regclass, p_schema name, p_command text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_t record;
    v_count integer := 0;
    v_rel regclass;
    v_schema name := p_schema;
    v_table name;
BEGIN
    PERFORM mammoth._require_master(p_command);
    IF p_rel IS NOT NULL THEN
        SELECT n.nspname, c.relname INTO v_schema, v_table
          FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = p_rel;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'table with OID % does not exist; it was probably dropped', p_rel::oid USING ERRCODE = 'undefined_table';
        END IF;
        IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = p_rel), 'USAGE') THEN
            RAISE EXCEPTION 'only the owner of % or a superuser can change its replication; connect as that role', p_rel
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    FOR v_t IN
        UPDATE mammoth.replicated_tables SET enabled = false, changed_at = now()
         WHERE enabled
           AND (v_schema IS NULL OR schema_name = v_schema)
           AND (v_table IS NULL OR table_name = v_table)
        RETURNING schema_name, table_name
    LOOP
        v_count := v_count + 1;
        v_rel := to_regclass(format('%I.%I', v_t.schema_name, v_t.table_name));
        IF v_rel IS NOT NULL THEN
            PERFORM mammoth._publication_drop(v_rel);
        END IF;
    END LOOP;
    IF p_rel IS NOT NULL THEN
        PERFORM mammoth._publication_drop(p_rel);  -- also repairs a table left in the publication by hand
        IF v_count = 0 THEN
            RAISE NOTICE '% is not replicated; nothing to disable', p_rel;
        END IF;
    END IF;
    RETURN v_count;
END
$$;

CREATE OR REPLACE FUNCTION mammoth.disable_replication(p_table regclass) RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT FROM mammoth._disable_many(p_table, NULL, 'ALTER TABLE … DISABLE REPLICATION (mammoth.disable_replication)') $$;
COMMENT ON FUNCTION mammoth.disable_replication(regclass) IS
    'ALTER TABLE name DISABLE REPLICATION: stop replicating the table, keeping its slave list for a later enable.';

CREATE OR REPLACE FUNCTION mammoth.disable_replication_by_schema(p_schema text) RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_nsp name;
BEGIN
    SELECT nspname INTO v_nsp FROM pg_catalog.pg_namespace WHERE oid = pg_catalog.to_regnamespace(p_schema);
    IF v_nsp IS NULL THEN
        RAISE EXCEPTION 'schema % does not exist; check the spelling, and quote mixed-case names ("MySchema")', p_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    RETURN mammoth._disable_many(NULL, v_nsp, 'mammoth.disable_replication_by_schema');
END
$$;
COMMENT ON FUNCTION mammoth.disable_replication_by_schema(text) IS
    'Stop replicating every table of the schema (slave lists kept); returns how many.';

CREATE OR REPLACE FUNCTION mammoth.disable_replication_global() RETURNS integer
LANGUAGE sql VOLATILE
AS $$ SELECT mammoth._disable_many(NULL, NULL, 'mammoth.disable_replication_global') $$;
COMMENT ON FUNCTION mammoth.disable_replication_global() IS
    'Stop replicating every table (slave lists kept); returns how many.';

-- ---------------------------------------------------------------------------------------------------
-- Large objects (master-only)
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth.enable_lo(p_table regclass, p_column name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_command text := 'ALTER TABLE … ALTER … ENABLE LO (mammoth.enable_lo)';
    v_schema name;
    v_table name;
    v_qname text;
    v_type oid;
    v_base oid;
BEGIN
    PERFORM mammoth._require_master(v_command);
    SELECT n.nspname, c.relname INTO v_schema, v_table
      FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    v_qname := format('%I.%I', v_schema, v_table);
    SELECT a.atttypid INTO v_type FROM pg_attribute AS a
     WHERE a.attrelid = p_table AND a.attname = p_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column % does not exist in table %; give the column name as stored (case-sensitive, e.g. ''Img'' for a column created as "Img")', quote_ident(p_column), v_qname
            USING ERRCODE = 'undefined_column';
    END IF;
    SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END INTO v_base FROM pg_type AS t WHERE t.oid = v_type;
    IF v_base <> 'oid'::regtype THEN
        RAISE EXCEPTION 'column %.% is %, not oid or lo; ENABLE LO applies only to columns that hold large object OIDs', v_qname, quote_ident(p_column), format_type(v_type, NULL)
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = p_table), 'USAGE') THEN
        RAISE EXCEPTION 'only the owner of % or a superuser can change its replication; connect as that role', v_qname
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM mammoth._ensure_capture(v_command);
    INSERT INTO mammoth.lo_columns (schema_name, table_name, column_name) VALUES (v_schema, v_table, p_column)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE NOTICE 'large objects of %.% are already replicated', v_qname, quote_ident(p_column);
    END IF;
    IF NOT EXISTS (SELECT FROM mammoth.replicated_tables WHERE schema_name = v_schema AND table_name = v_table AND enabled) THEN
        RAISE NOTICE '% is not replicated yet; its large objects travel once you enable replication on it (ALTER TABLE % ENABLE REPLICATION)', v_qname, v_qname;
    END IF;
END
$$;
COMMENT ON FUNCTION mammoth.enable_lo(regclass, name) IS
    'ALTER TABLE foo ALTER bar ENABLE LO: replicate the large objects whose OIDs column bar holds.';

CREATE OR REPLACE FUNCTION mammoth.disable_lo(p_table regclass, p_column name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_schema name;
    v_table name;
BEGIN
    PERFORM mammoth._require_master('ALTER TABLE … ALTER … DISABLE LO (mammoth.disable_lo)');
    SELECT n.nspname, c.relname INTO v_schema, v_table
      FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = p_table), 'USAGE') THEN
        RAISE EXCEPTION 'only the owner of % or a superuser can change its replication; connect as that role', p_table
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM mammoth.lo_columns WHERE schema_name = v_schema AND table_name = v_table AND column_name = p_column;
    IF NOT FOUND THEN
        RAISE NOTICE 'large objects of %.% are not replicated; nothing to disable', format('%I.%I', v_schema, v_table), quote_ident(p_column);
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- Status (anyone may call these)
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth.is_replicated(p_table regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
    SELECT coalesce((SELECT r.enabled
                       FROM pg_class AS c
                       JOIN pg_namespace AS n ON n.oid = c.relnamespace
                       JOIN mammoth.replicated_tables AS r ON r.schema_name = n.nspname AND r.table_name = c.relname
                      WHERE c.oid = p_table), false)
$$;
COMMENT ON FUNCTION mammoth.is_replicated(regclass) IS 'Whether the table is replicated (enabled) now.';

CREATE OR REPLACE FUNCTION mammoth.get_replication_status(p_table regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
    SELECT CASE
               WHEN r.enabled IS NULL THEN 'not replicated'
               WHEN r.enabled THEN 'replicated to ' || mammoth._slaves_text(r.slaves)
               ELSE 'not replicated (' || mammoth._slaves_text(r.slaves) || ' kept)'
           END
           || coalesce('; large objects in '
                       || (SELECT string_agg(quote_ident(l.column_name), ', ' ORDER BY l.column_name)
                             FROM mammoth.lo_columns AS l WHERE l.schema_name = n.nspname AND l.table_name = c.relname), '')
      FROM pg_class AS c
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
      LEFT JOIN mammoth.replicated_tables AS r ON r.schema_name = n.nspname AND r.table_name = c.relname
     WHERE c.oid = p_table
$$;
COMMENT ON FUNCTION mammoth.get_replication_status(regclass) IS
    'replicated to all slaves | replicated to slaves 0,2 | not replicated (slaves 0,2 kept) | not replicated, plus its LO columns';

CREATE OR REPLACE VIEW mammoth.replication_status AS
SELECT r.schema_name,
       r.table_name,
       r.enabled,
       r.slaves,
       CASE WHEN r.enabled THEN 'replicated to ' || mammoth._slaves_text(r.slaves)
            ELSE 'not replicated (' || mammoth._slaves_text(r.slaves) || ' kept)' END AS status,
       ARRAY(SELECT l.column_name FROM mammoth.lo_columns AS l
              WHERE l.schema_name = r.schema_name AND l.table_name = r.table_name ORDER BY l.column_name) AS lo_columns,
       c.oid IS NOT NULL AS table_exists,
       coalesce(mammoth._in_publication(c.oid), false) AS in_publication,
       r.changed_at
  FROM mammoth.replicated_tables AS r
  LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = r.schema_name
  LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = r.table_name;

-- ---------------------------------------------------------------------------------------------------
-- Requests for the local agent
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth._notify_request() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    -- Payload "<id> <kind>"; delivered when the inserting transaction commits.
    PERFORM pg_notify('mammoth_requests', NEW.id || ' ' || NEW.kind);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER mammoth_requests_notify
    AFTER INSERT ON mammoth.requests
    FOR EACH ROW EXECUTE FUNCTION mammoth._notify_request();

CREATE OR REPLACE FUNCTION mammoth._request(p_kind text) RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$ INSERT INTO mammoth.requests (kind) VALUES (p_kind) RETURNING id $$;

CREATE OR REPLACE FUNCTION mammoth.mcp_refresh() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    PERFORM mammoth._require_master('MCP REFRESH (mammoth.mcp_refresh)');
    RETURN mammoth._request('refresh');
END
$$;
COMMENT ON FUNCTION mammoth.mcp_refresh() IS 'MCP REFRESH: ask the master agent to resync all slaves; returns the request id.';

CREATE OR REPLACE FUNCTION mammoth.mcp_batchupdate() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    PERFORM mammoth._require_slave('MCP BATCHUPDATE (mammoth.mcp_batchupdate)', 'run it on the batch-replicated slave that should fetch a batch');
    RETURN mammoth._request('batchupdate');
END
$$;
COMMENT ON FUNCTION mammoth.mcp_batchupdate() IS 'MCP BATCHUPDATE: ask this batch-mode slave''s agent to fetch a batch; returns the request id.';

CREATE OR REPLACE FUNCTION mammoth.promote() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    PERFORM mammoth._require_slave('PROMOTE (mammoth.promote)', 'run it on the slave that should become the master');
    RETURN mammoth._request('promote');
END
$$;
COMMENT ON FUNCTION mammoth.promote() IS 'PROMOTE: ask the MCP to make this slave the master; returns the request id.';

CREATE OR REPLACE FUNCTION mammoth.promote_force() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    PERFORM mammoth._require_slave('PROMOTE FORCE (mammoth.promote_force)', 'run it on the slave that should become the master');
    RETURN mammoth._request('promote_force');
END
$$;
COMMENT ON FUNCTION mammoth.promote_force() IS 'PROMOTE FORCE: make this slave the master while the master is away (no PROMOTE BACK afterwards).';

CREATE OR REPLACE FUNCTION mammoth.promote_back() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    -- Valid on the promoted slave (now master) and on the demoted master (now slave): no role check.
    RETURN mammoth._request('promote_back');
END
$$;
COMMENT ON FUNCTION mammoth.promote_back() IS 'PROMOTE BACK: undo the last PROMOTE; returns the request id.';

-- ---------------------------------------------------------------------------------------------------
-- Slave write protection
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth._refuse_slave_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- An ordinary trigger: it does not fire under session_replication_role = replica, which the slave agent uses.
    RAISE EXCEPTION 'table %.% is being replicated; write to it on the master (or set replication_slave_allow_writes = on)',
        quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME)
        USING ERRCODE = 'read_only_sql_transaction';
END
$$;

CREATE OR REPLACE FUNCTION mammoth.protect_table(p_table regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_rel regclass;
BEGIN
    IF mammoth.node_role() = 'master' THEN
        RAISE EXCEPTION 'mammoth.protect_table makes a table read-only on a slave, and this node is the master; call it on a slave'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- The table and, if it is partitioned, its partitions (a write may name a partition directly).
    FOR v_rel IN SELECT p_table UNION SELECT relid FROM pg_partition_tree(p_table) WHERE isleaf
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER mammoth_slave_protect BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION mammoth._refuse_slave_write()', v_rel);
    END LOOP;
END
$$;
COMMENT ON FUNCTION mammoth.protect_table(regclass) IS 'Slave agent: refuse local writes to a replicated table.';

CREATE OR REPLACE FUNCTION mammoth.unprotect_table(p_table regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_rel regclass;
BEGIN
    FOR v_rel IN SELECT p_table UNION SELECT relid FROM pg_partition_tree(p_table) WHERE isleaf
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS mammoth_slave_protect ON %s', v_rel);
    END LOOP;
END
$$;
COMMENT ON FUNCTION mammoth.unprotect_table(regclass) IS 'Slave agent: let local sessions write to the table again.';

-- ---------------------------------------------------------------------------------------------------
-- For the agent
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth.set_node_role(p_role text, p_slave_no integer) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
BEGIN
    IF p_role IS NULL OR p_role NOT IN ('master', 'slave') THEN
        RAISE EXCEPTION 'role % is not valid; use master or slave', coalesce(p_role, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_role = 'slave' AND (p_slave_no IS NULL OR p_slave_no NOT BETWEEN 0 AND 63) THEN
        RAISE EXCEPTION 'a slave needs a slave number from 0 to 63, not %', coalesce(p_slave_no::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO mammoth.node_info (key, value) VALUES ('role', p_role)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    IF p_role = 'slave' THEN
        INSERT INTO mammoth.node_info (key, value) VALUES ('slave_no', p_slave_no::text)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    ELSE
        DELETE FROM mammoth.node_info WHERE key = 'slave_no';
    END IF;
END
$$;
COMMENT ON FUNCTION mammoth.set_node_role(text, integer) IS 'Agent at start: record this node''s role (and slave number).';

-- Slave agent: the last statement of every apply transaction. Moves mammoth.slave_progress from the
-- record the agent believes was applied last to the one it just applied, and fails (rolling the whole
-- transaction back) when the row says otherwise: another agent applying into this database, or a hand
-- edit, can never make a record apply twice.
CREATE OR REPLACE FUNCTION mammoth._slave_advance(p_from bigint, p_to bigint, p_epoch integer,
                                                   p_commit_lsn pg_lsn, p_commit_time timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_now bigint;
BEGIN
    UPDATE mammoth.slave_progress
       SET applied_recno = p_to, epoch = p_epoch, applied_at = now(),
           master_commit_lsn = p_commit_lsn, master_commit_time = p_commit_time,
           -- a halt's error goes once its record is applied (not when records before it are)
           last_error       = CASE WHEN last_error_recno <= p_to THEN NULL ELSE last_error END,
           last_error_at    = CASE WHEN last_error_recno <= p_to THEN NULL ELSE last_error_at END,
           last_error_recno = CASE WHEN last_error_recno <= p_to THEN NULL ELSE last_error_recno END
     WHERE applied_recno = p_from;
    IF NOT FOUND THEN
        SELECT applied_recno INTO v_now FROM mammoth.slave_progress;
        RAISE EXCEPTION 'mammoth.slave_progress says record % was applied last, but this slave agent applied up to record %; another agent is applying into this database, or the row was changed by hand',
            coalesce(v_now::text, '(no row)'), p_from
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

-- Makes publication mammoth hold exactly the three published settings tables plus every enabled table
-- that exists here. Creates it when missing. Used by the installer and after a promotion.
CREATE OR REPLACE FUNCTION mammoth.sync_publication() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_rel regclass;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'mammoth') THEN
        CREATE PUBLICATION mammoth FOR TABLE mammoth.replicated_tables, mammoth.lo_columns, mammoth.requests
            WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true);
    END IF;
    FOR v_rel IN
        SELECT rel FROM (
            SELECT x::regclass AS rel FROM unnest(ARRAY['mammoth.replicated_tables', 'mammoth.lo_columns', 'mammoth.requests']) AS x
            UNION
            SELECT to_regclass(format('%I.%I', schema_name, table_name)) FROM mammoth.replicated_tables WHERE enabled
        ) AS wanted WHERE rel IS NOT NULL
    LOOP
        PERFORM mammoth._publication_add(v_rel);
    END LOOP;
    FOR v_rel IN
        SELECT pr.prrelid::regclass FROM pg_publication_rel AS pr JOIN pg_publication AS p ON p.oid = pr.prpubid
         WHERE p.pubname = 'mammoth'
           AND pr.prrelid NOT IN ('mammoth.replicated_tables'::regclass, 'mammoth.lo_columns'::regclass, 'mammoth.requests'::regclass)
           AND NOT EXISTS (SELECT FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                             JOIN mammoth.replicated_tables AS r ON r.schema_name = n.nspname AND r.table_name = c.relname
                            WHERE c.oid = pr.prrelid AND r.enabled)
    LOOP
        PERFORM mammoth._publication_drop(v_rel);
    END LOOP;
END
$$;
COMMENT ON FUNCTION mammoth.sync_publication() IS 'Make publication mammoth match the enabled tables (creating it if missing).';

-- ---------------------------------------------------------------------------------------------------
-- Dropped tables and columns leave the catalog with them (on the master; a slave mirrors the master's rows)
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mammoth._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, mammoth, pg_temp
AS $$
DECLARE
    v_o record;
BEGIN
    IF to_regclass('mammoth.node_info') IS NULL OR mammoth.node_role() = 'slave' THEN
        RETURN;
    END IF;
    FOR v_o IN SELECT object_type, address_names FROM pg_event_trigger_dropped_objects()
                WHERE object_type IN ('table', 'table column') AND NOT is_temporary
    LOOP
        IF v_o.address_names[1] = 'mammoth' THEN
            CONTINUE;
        END IF;
        IF v_o.object_type = 'table' THEN
            DELETE FROM mammoth.replicated_tables WHERE schema_name = v_o.address_names[1] AND table_name = v_o.address_names[2];
            DELETE FROM mammoth.lo_columns WHERE schema_name = v_o.address_names[1] AND table_name = v_o.address_names[2];
        ELSE
            DELETE FROM mammoth.lo_columns
             WHERE schema_name = v_o.address_names[1] AND table_name = v_o.address_names[2] AND column_name = v_o.address_names[3];
        END IF;
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS mammoth_sql_drop;
CREATE EVENT TRIGGER mammoth_sql_drop ON sql_drop EXECUTE FUNCTION mammoth._on_sql_drop();

-- ---------------------------------------------------------------------------------------------------
-- Privileges: status functions for everyone, everything else for superusers and whoever is granted it.
-- ---------------------------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mammoth FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mammoth.is_replicated(regclass), mammoth.get_replication_status(regclass),
                          mammoth.node_role(), mammoth._slaves_text(integer[]), mammoth._in_publication(regclass)
    TO PUBLIC;
GRANT SELECT ON mammoth.replication_status TO PUBLIC;

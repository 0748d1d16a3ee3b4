\echo Use "CREATE EXTENSION redis_wrapper" to load this file. \quit

-- The foreign data wrapper itself is created by the user, as in the spec:
--   create foreign data wrapper redis_wrapper
--     handler redis_fdw_handler validator redis_fdw_validator;

CREATE FUNCTION redis_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION redis_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

-- This backend's cached Redis connections, and closing them (like postgres_fdw's).
CREATE FUNCTION redis_wrapper_get_connections(
    OUT server_name text, OUT user_name text, OUT address text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL RESTRICTED;

CREATE FUNCTION redis_wrapper_disconnect(server_name text)
RETURNS bool
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL RESTRICTED;

CREATE FUNCTION redis_wrapper_disconnect_all()
RETURNS bool
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL RESTRICTED;

-- Column shapes are checked when DDL gives a foreign table its columns, not
-- only when it is first scanned.
CREATE FUNCTION redis_wrapper_check_table(regclass)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

-- The trigger runs as whoever issues the DDL, often a superuser, so nothing in
-- it may resolve to an object another role could create: the search_path is
-- fixed, every name is qualified and every argument has the exact type.
--
-- pg_event_trigger_ddl_commands() reports one pg_class row per command: the
-- foreign table itself for CREATE FOREIGN TABLE (also PARTITION OF and
-- INHERITS) and for ALTER [FOREIGN] TABLE on it (object_type 'foreign table',
-- or 'foreign table column' for RENAME COLUMN), but only the parent for
-- ALTER TABLE on a partitioned or inheritance parent (ADD COLUMN, RENAME
-- COLUMN, ALTER COLUMN TYPE, ATTACH PARTITION), which changes or adds its
-- foreign inheritors too.  So every foreign table among the reported relations
-- and their inheritors is checked.
CREATE FUNCTION redis_wrapper_ddl_check()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel pg_catalog.oid;
BEGIN
    FOR rel IN
        WITH RECURSIVE affected(relid) AS (
            SELECT objid FROM pg_catalog.pg_event_trigger_ddl_commands()
             WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
          UNION
            SELECT i.inhrelid FROM pg_catalog.pg_inherits i, affected a
             WHERE i.inhparent OPERATOR(pg_catalog.=) a.relid
        )
        SELECT a.relid FROM affected a, pg_catalog.pg_class c
         WHERE c.oid OPERATOR(pg_catalog.=) a.relid
           AND c.relkind OPERATOR(pg_catalog.=) 'f'::pg_catalog."char"
    LOOP
        PERFORM @extschema@.redis_wrapper_check_table(rel::pg_catalog.regclass);
    END LOOP;
END;
$$;

CREATE EVENT TRIGGER redis_wrapper_ddl_check ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION @extschema@.redis_wrapper_ddl_check();

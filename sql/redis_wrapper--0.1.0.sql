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

-- Column shapes are checked when a foreign table is created or altered, not
-- only when it is first scanned.
CREATE FUNCTION redis_wrapper_check_table(regclass)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION redis_wrapper_ddl_check()
RETURNS event_trigger
LANGUAGE plpgsql
AS $$
DECLARE
    cmd record;
BEGIN
    FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands()
               WHERE object_type = 'foreign table'
    LOOP
        PERFORM @extschema@.redis_wrapper_check_table(cmd.objid);
    END LOOP;
END;
$$;

CREATE EVENT TRIGGER redis_wrapper_ddl_check ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE')
    EXECUTE FUNCTION redis_wrapper_ddl_check();

/*
 * Options: the validator, and the lookup of one foreign table's effective
 * options (table, server and user mapping), in the manner of postgres_fdw.
 */
#include "redis_wrapper.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(redis_fdw_validator);

typedef struct RwOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
} RwOption;

static const RwOption valid_options[] = {
	{"conn_url", ForeignServerRelationId},
	{"conn_url_id", ForeignServerRelationId},
	{"connect_timeout", ForeignServerRelationId},
	{"command_timeout", ForeignServerRelationId},
	{"tls_ca_file", ForeignServerRelationId},
	{"tls_cert_file", ForeignServerRelationId},
	{"tls_key_file", ForeignServerRelationId},
	{"tls_verify", ForeignServerRelationId},
	{"max_value_size", ForeignServerRelationId},
	{"cluster", ForeignServerRelationId},
	{"read_from", ForeignServerRelationId},
	{"user", UserMappingRelationId},
	{"password", UserMappingRelationId},
	{"password_required", UserMappingRelationId},
	/* redis+sentinel URLs: the sentinels' credentials, the password a secret */
	{"sentinel_user", ForeignServerRelationId},
	{"sentinel_user", UserMappingRelationId},
	{"sentinel_password", UserMappingRelationId},
	{"src_type", ForeignTableRelationId},
	{"src_key", ForeignTableRelationId},
	{"fetch", ForeignTableRelationId},
	{"default_ttl", ForeignTableRelationId},
	/* a field column's field, where it is not the column's name */
	{"field", AttributeRelationId},
	/* writes: the server's, unless the table says otherwise */
	{"batch_size", ForeignServerRelationId},
	{"batch_size", ForeignTableRelationId},
	{"transactional", ForeignServerRelationId},
	{"transactional", ForeignTableRelationId},
	/* planning: the server's, unless the table says otherwise */
	{"use_remote_estimate", ForeignServerRelationId},
	{"use_remote_estimate", ForeignTableRelationId},
	/* async Append: the partitions of a partitioned table read at once */
	{"async_capable", ForeignServerRelationId},
	{"async_capable", ForeignTableRelationId},
	{NULL, InvalidOid}
};

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_BATCH_SIZE 100
#define MAX_BATCH_SIZE 10000

static int
src_type_from_name(const char *name)
{
	const RwSourceInfo *source;

	for (int i = 0; (source = rw_source_info(i)) != NULL; i++)
		if (strcmp(name, source->name) == 0)
			return i;
	return -1;
}

/* The names of the options valid in context or, for InvalidOid, of the source types. */
static char *
joined_names(Oid context)
{
	StringInfoData buf;
	const RwSourceInfo *source;

	initStringInfo(&buf);
	if (!OidIsValid(context))
		for (int i = 0; (source = rw_source_info(i)) != NULL; i++)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", source->name);
	else
		for (const RwOption *o = valid_options; o->name; o++)
			if (o->context == context)
				appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", o->name);
	return buf.data;
}

static bool
is_path_option(const char *name)
{
	return strcmp(name, "tls_ca_file") == 0 || strcmp(name, "tls_cert_file") == 0 ||
		strcmp(name, "tls_key_file") == 0;
}

static int
parse_timeout(DefElem *def)
{
	int			ms;
	const char *hint = NULL;

	if (!parse_int(defGetString(def), &ms, GUC_UNIT_MS, &hint) || ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->defname, defGetString(def)),
				 errhint("%s", hint ? hint : "Use a non-negative number of milliseconds, or a value with a unit such as \"5s\"; 0 means no timeout.")));
	return ms;
}

/* A size in bytes, with an optional unit (kB, MB, GB), up to what a Datum holds. */
static int64
parse_size(DefElem *def)
{
	int			bytes;
	const char *hint = NULL;

	if (!parse_int(defGetString(def), &bytes, GUC_UNIT_BYTE, &hint) ||
		bytes < 1 || bytes > RW_DEFAULT_MAX_VALUE_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->defname, defGetString(def)),
				 errhint("%s", hint ? hint : psprintf("Use a number of bytes from 1 to %lld, or a value with a unit such as \"64MB\".",
													  (long long) RW_DEFAULT_MAX_VALUE_SIZE))));
	return bytes;
}

/* read_from: whether a cluster's reads go to replicas. */
static bool
parse_read_from(DefElem *def)
{
	const char *value = defGetString(def);

	if (strcmp(value, "primary") != 0 && strcmp(value, "replica") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"read_from\": \"%s\"", value),
				 errhint("Valid values are: primary, replica")));
	return strcmp(value, "replica") == 0;
}

/* A whole number of what (rows, keys) from min to max: parse_int would round "1.5". */
int
rw_option_whole(DefElem *def, int min, int max, const char *what)
{
	const char *value = defGetString(def);
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->defname, defGetString(def)),
				 errhint("Use a whole number of %s from %d to %d.", what, min, max)));
	return (int) n;
}

/* Rows handed to the core per call of a batched INSERT. */
static int
parse_batch_size(DefElem *def)
{
	return rw_option_whole(def, 1, MAX_BATCH_SIZE, "rows");
}

/* Whether a source type's rows are keys with an expiry (a ttl column). */
static bool
has_expiry(const RwSourceInfo *source)
{
	for (int c = 0; c < source->ncolumns; c++)
		if (source->columns[c].kind == RW_KIND_INTERVAL_MS)
			return true;
	return false;
}

/* The expiry of keys a write creates, an interval's text ('1 hour'): positive milliseconds. */
static int64
parse_default_ttl(DefElem *def)
{
	Datum		span = DirectFunctionCall3(interval_in, CStringGetDatum(defGetString(def)),
										   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	int64		ms = rw_interval_ms(DatumGetIntervalP(span), "option \"default_ttl\"");

	if (ms <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"default_ttl\": \"%s\"", defGetString(def)),
				 errhint("Use a positive interval of at least a millisecond, such as '1 hour'.")));
	return ms;
}

static void
check_url(const char *url)
{
	RwError		err;

	rw_python_start();
	RW_CORE_CALL(rw_core_check_url(url, &err), &err, NULL, NULL);
}

Datum
redis_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *cell;
	bool		have_url = false,
				have_url_id = false,
				have_type = false,
				have_key = false,
				have_user = false,
				have_password = false,
				have_sentinel_user = false,
				have_sentinel_password = false,
				have_cert = false,
				have_key_file = false;
	int			src_type = -1;
	const char *fetch = NULL;
	bool		have_default_ttl = false;

	foreach(cell, options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		const RwOption *o;

		for (o = valid_options; o->name; o++)
			if (o->context == catalog && strcmp(o->name, def->defname) == 0)
				break;
		if (o->name == NULL)
		{
			char	   *valid = joined_names(catalog);

			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 valid[0] ? errhint("Valid options in this context are: %s", valid)
					 : errhint("There are no valid options in this context.")));
		}

		if (strcmp(def->defname, "src_type") == 0)
		{
			src_type = src_type_from_name(defGetString(def));
			if (src_type < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"src_type\": \"%s\"", defGetString(def)),
						 errhint("Valid source types are: %s", joined_names(InvalidOid))));
			have_type = true;
		}
		else if (strcmp(def->defname, "src_key") == 0)
		{
			if (defGetString(def)[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"src_key\" must not be empty")));
			have_key = true;
		}
		else if (strcmp(def->defname, "fetch") == 0)
		{
			fetch = defGetString(def);
			if (strcmp(fetch, "all") != 0 && strcmp(fetch, "scan") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"fetch\": \"%s\"", fetch),
						 errhint("Valid values are: all, scan")));
		}
		else if (strcmp(def->defname, "conn_url") == 0)
		{
			check_url(defGetString(def));
			have_url = true;
		}
		else if (strcmp(def->defname, "conn_url_id") == 0)
			have_url_id = true;
		else if (strcmp(def->defname, "connect_timeout") == 0 ||
				 strcmp(def->defname, "command_timeout") == 0)
			(void) parse_timeout(def);
		else if (strcmp(def->defname, "max_value_size") == 0)
			(void) parse_size(def);
		else if (strcmp(def->defname, "batch_size") == 0)
			(void) parse_batch_size(def);
		else if (strcmp(def->defname, "default_ttl") == 0)
		{
			(void) parse_default_ttl(def);
			have_default_ttl = true;
		}
		else if (strcmp(def->defname, "read_from") == 0)
			(void) parse_read_from(def);
		else if (strcmp(def->defname, "tls_verify") == 0 ||
				 strcmp(def->defname, "cluster") == 0 ||
				 strcmp(def->defname, "transactional") == 0 ||
				 strcmp(def->defname, "use_remote_estimate") == 0 ||
				 strcmp(def->defname, "async_capable") == 0)
			(void) defGetBoolean(def);
		else if (is_path_option(def->defname))
		{
			/* Like postgres_fdw's sslcert and sslkey: the backend's files are not everyone's. */
			if (!superuser())
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("only a superuser may set option \"%s\"", def->defname),
						 errhint("Options that name files on the database server are superuser-only.")));
			if (!is_absolute_path(defGetString(def)))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"%s\" must be an absolute path", def->defname)));
			have_cert |= strcmp(def->defname, "tls_cert_file") == 0;
			have_key_file |= strcmp(def->defname, "tls_key_file") == 0;
		}
		else if (strcmp(def->defname, "user") == 0)
			have_user = true;
		else if (strcmp(def->defname, "password") == 0)
			have_password = true;
		else if (strcmp(def->defname, "sentinel_user") == 0)
			have_sentinel_user = true;
		else if (strcmp(def->defname, "sentinel_password") == 0)
			have_sentinel_password = true;
		else if (strcmp(def->defname, "password_required") == 0 &&
				 !defGetBoolean(def) && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("password_required=false is superuser-only"),
					 errhint("User mappings with the password_required option set to false may only be created or modified by a superuser.")));
	}

	if (catalog == ForeignServerRelationId)
	{
		if (have_url && have_url_id)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("options \"conn_url\" and \"conn_url_id\" cannot both be set"),
					 errhint("Use conn_url_id (a Vault secret) or conn_url, not both.")));
		if (!have_url && !have_url_id)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("a Redis server needs option \"conn_url\" or \"conn_url_id\""),
					 errhint("For example: OPTIONS (conn_url 'redis://127.0.0.1:6379/0').")));
		if (have_key_file && !have_cert)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"tls_key_file\" needs option \"tls_cert_file\""),
					 errhint("tls_key_file is the key of the client certificate in tls_cert_file.")));
	}
	else if (catalog == UserMappingRelationId)
	{
		/* Redis would run us as its default user: never an identity nobody named. */
		if (have_user && !have_password)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("a user mapping with option \"user\" needs option \"password\""),
					 errhint("Redis authenticates a user name only together with its password.")));
		if (have_sentinel_user && !have_sentinel_password)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("a user mapping with option \"sentinel_user\" needs option \"sentinel_password\""),
					 errhint("Sentinels authenticate a user name only together with its password.")));
	}
	else if (catalog == ForeignTableRelationId)
	{
		if (!(have_type && have_key))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("a Redis foreign table needs option \"%s\"", have_type ? "src_key" : "src_type"),
					 errhint("For example: OPTIONS (src_type 'list', src_key 'my_list').")));
		if (fetch && !rw_source_info(src_type)->has_fetch)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"fetch\" applies only to single-key source types"),
					 errhint("A multi_* table reads each matching key with one command.")));
		if (have_default_ttl && !has_expiry(rw_source_info(src_type)))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"default_ttl\" applies only to source types whose rows are keys"),
					 errhint("string, multi_string and multi_* tables create keys; a %s table's key is not created by a row.",
							 rw_source_info(src_type)->name)));
	}

	PG_RETURN_VOID();
}

/*
 * The options of userid's user mapping for the server, or PUBLIC's; a Redis
 * server may need none.
 */
static List *
user_mapping_options(Oid serverid, Oid userid, Oid *umid, Oid *umuser)
{
	Oid			users[2] = {userid, InvalidOid};

	for (int i = 0; i < 2; i++)
	{
		HeapTuple	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
										 ObjectIdGetDatum(users[i]),
										 ObjectIdGetDatum(serverid));

		if (HeapTupleIsValid(tp))
		{
			bool		isnull;
			Form_pg_user_mapping form = (Form_pg_user_mapping) GETSTRUCT(tp);
			Datum		datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp,
												Anum_pg_user_mapping_umoptions, &isnull);
			List	   *result = isnull ? NIL : untransformRelOptions(datum);

			*umid = form->oid;
			*umuser = form->umuser;
			ReleaseSysCache(tp);
			return result;
		}
	}
	*umid = InvalidOid;
	*umuser = InvalidOid;
	return NIL;
}

/*
 * batch_size, transactional, use_remote_estimate and async_capable, a
 * server's or (read after it) a table's
 */
static void
server_or_table_option(DefElem *def, RwTableOptions *opts)
{
	if (strcmp(def->defname, "batch_size") == 0)
		opts->batch_size = parse_batch_size(def);
	else if (strcmp(def->defname, "transactional") == 0)
		opts->transactional = defGetBoolean(def);
	else if (strcmp(def->defname, "use_remote_estimate") == 0)
		opts->use_remote_estimate = defGetBoolean(def);
	else if (strcmp(def->defname, "async_capable") == 0)
		opts->async_capable = defGetBoolean(def);
}

/*
 * Defaults, then a server's options.  Sets *url_id to conn_url_id's value and
 * *path_option to an option naming a file, or NULL.
 */
static void
server_options(ForeignServer *server, RwTableOptions *opts, char **url_id, const char **path_option)
{
	ListCell   *cell;

	memset(opts, 0, sizeof(*opts));
	opts->spec.src_type = -1;
	opts->spec.fault = (rw_fault && rw_fault[0]) ? rw_fault : NULL;
	opts->spec.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	opts->spec.tls_verify = true;
	opts->spec.max_value_size = RW_DEFAULT_MAX_VALUE_SIZE;
	opts->spec.cluster = RW_CLUSTER_DETECT;
	opts->spec.fetch = RW_FETCH_DEFAULT;
	opts->batch_size = DEFAULT_BATCH_SIZE;
	opts->servername = server->servername;
	opts->serverid = server->serverid;
	*url_id = NULL;
	*path_option = NULL;

	foreach(cell, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);

		if (strcmp(def->defname, "conn_url") == 0)
			opts->spec.url = defGetString(def);
		else if (strcmp(def->defname, "conn_url_id") == 0)
			*url_id = defGetString(def);
		else if (strcmp(def->defname, "connect_timeout") == 0)
			opts->spec.connect_timeout_ms = parse_timeout(def);
		else if (strcmp(def->defname, "command_timeout") == 0)
			opts->spec.command_timeout_ms = parse_timeout(def);
		else if (strcmp(def->defname, "tls_ca_file") == 0)
			opts->spec.tls_ca_file = defGetString(def);
		else if (strcmp(def->defname, "tls_cert_file") == 0)
			opts->spec.tls_cert_file = defGetString(def);
		else if (strcmp(def->defname, "tls_key_file") == 0)
			opts->spec.tls_key_file = defGetString(def);
		else if (strcmp(def->defname, "tls_verify") == 0)
			opts->spec.tls_verify = defGetBoolean(def);
		else if (strcmp(def->defname, "max_value_size") == 0)
			opts->spec.max_value_size = parse_size(def);
		else if (strcmp(def->defname, "cluster") == 0)
			opts->spec.cluster = defGetBoolean(def) ? RW_CLUSTER_ON : RW_CLUSTER_OFF;
		else if (strcmp(def->defname, "read_from") == 0)
			opts->spec.read_replicas = parse_read_from(def);
		else if (strcmp(def->defname, "sentinel_user") == 0)
			opts->spec.sentinel_user = defGetString(def);
		if (is_path_option(def->defname))
			*path_option = def->defname;
		server_or_table_option(def, opts);
	}
}

/*
 * What connecting to server as userid needs: its user mapping, conn_url_id
 * read from Vault with its rights, and the checks of who may connect how.
 */
static void
connection_options(ForeignServer *server, Oid userid, const char *url_id, const char *path_option,
				   RwTableOptions *opts)
{
	ListCell   *cell;
	bool		password_required = true;

	opts->userid = userid;

	/*
	 * Files are named by superusers only (the validator); a server whose owner
	 * has since lost superuser does not keep naming them.
	 */
	if (path_option && !superuser_arg(server->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("server \"%s\" names a file in option \"%s\", but its owner is not a superuser",
						opts->servername, path_option),
				 errhint("Only a superuser may own a server whose options name files.")));

	foreach(cell, user_mapping_options(server->serverid, userid, &opts->umid, &opts->umuser))
	{
		DefElem    *def = (DefElem *) lfirst(cell);

		if (strcmp(def->defname, "user") == 0)
			opts->spec.user = defGetString(def);
		else if (strcmp(def->defname, "password") == 0)
			opts->spec.password = defGetString(def);
		else if (strcmp(def->defname, "password_required") == 0)
			password_required = defGetBoolean(def);
		else if (strcmp(def->defname, "sentinel_user") == 0)
			opts->spec.sentinel_user = defGetString(def);
		else if (strcmp(def->defname, "sentinel_password") == 0)
			opts->spec.sentinel_password = defGetString(def);
	}
	/* As postgres_fdw: superusers, and mappings a superuser exempted, need no password. */
	opts->spec.password_required = password_required && !superuser_arg(userid);

	if (url_id != NULL)
		opts->spec.url = rw_vault_secret(url_id, userid);
	if (opts->spec.url == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has neither conn_url nor conn_url_id", opts->servername)));
}

/*
 * The effective options of a foreign table.  With a valid userid (the role
 * the scan is checked as), also what connecting as that role needs
 * (connection_options).  The planner, which must not depend on secrets,
 * passes InvalidOid.
 */
void
rw_get_table_options(Oid relid, Oid userid, RwTableOptions *opts)
{
	ForeignTable *table = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(table->serverid);
	ListCell   *cell;
	char	   *url_id;
	const char *path_option;

	server_options(server, opts, &url_id, &path_option);
	opts->relname = get_rel_name(relid);
	opts->userid = userid;
	foreach(cell, table->options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);

		if (strcmp(def->defname, "src_type") == 0)
			opts->spec.src_type = src_type_from_name(defGetString(def));
		else if (strcmp(def->defname, "src_key") == 0)
			opts->spec.key = defGetString(def);
		else if (strcmp(def->defname, "fetch") == 0)
			opts->spec.fetch = strcmp(defGetString(def), "scan") == 0 ? RW_FETCH_SCAN : RW_FETCH_ALL;
		else if (strcmp(def->defname, "default_ttl") == 0)
			opts->spec.default_ttl_ms = parse_default_ttl(def);
		server_or_table_option(def, opts);
	}

	/* The validator guarantees these; catalogs edited by hand might not. */
	if (opts->spec.src_type < 0 || opts->spec.key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" lacks a valid src_type or src_key", opts->relname)));
	if (OidIsValid(userid))
		connection_options(server, userid, url_id, path_option, opts);
}

/*
 * A server's options for userid about to connect, with no table (IMPORT
 * FOREIGN SCHEMA: relname is NULL), the key of its connection, the core started.
 */
void
rw_connect_server_options(Oid serverid, Oid userid, RwTableOptions *opts)
{
	ForeignServer *server = GetForeignServer(serverid);
	char	   *url_id;
	const char *path_option;

	server_options(server, opts, &url_id, &path_option);
	connection_options(server, userid, url_id, path_option, opts);
	opts->spec.conn_key = rw_connection_key(opts);
	rw_python_start();
}

/*
 * The options of relid for userid about to connect (rw_get_table_options),
 * with the key of its connection, the core started.
 */
void
rw_connect_options(Oid relid, Oid userid, RwTableOptions *opts)
{
	rw_get_table_options(relid, userid, opts);
	opts->spec.conn_key = rw_connection_key(opts);
	rw_python_start();
}

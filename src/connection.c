/*
 * The connection cache, PostgreSQL side.  The connections themselves live in
 * the core (core/pool.pxi), one idle connection per key; a key stands for a
 * foreign server and the user mapping used (as postgres_fdw's cache), or the
 * role connecting where it has none.  This file hands out keys, tells the
 * core when a server or user mapping was altered or dropped (at the end of the
 * transaction that did it), and offers the SQL functions that list and close
 * this backend's connections, as postgres_fdw does.
 */
#include "redis_wrapper.h"

#include "access/xact.h"
#include "catalog/pg_user_mapping.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(redis_wrapper_get_connections);
PG_FUNCTION_INFO_V1(redis_wrapper_disconnect);
PG_FUNCTION_INFO_V1(redis_wrapper_disconnect_all);

/* Whose connection it is: a user mapping, or a role where none applies. */
typedef struct ConnOwner
{
	Oid			serverid;
	Oid			umid;
	Oid			userid;			/* InvalidOid when umid is valid */
} ConnOwner;

typedef struct ConnEntry
{
	ConnOwner	owner;			/* hash key */
	uint64		key;			/* the core's name for its connection */
	Oid			umuser;			/* the mapping's role (InvalidOid: PUBLIC) */
	uint32		server_hash;	/* syscache hash of the server */
	uint32		mapping_hash;	/* ... of its user mapping, 0 if none */
	bool		stale;			/* altered or dropped: forget its connection */
} ConnEntry;

static HTAB *entries = NULL;
static bool any_stale = false;
static uint64 last_key = 0;

/* Tell the core to forget the connections of stale keys. */
static void
forget_stale(void)
{
	HASH_SEQ_STATUS scan;
	ConnEntry  *entry;

	if (!any_stale || !rw_core_loaded())
		return;
	any_stale = false;
	hash_seq_init(&scan, entries);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (entry->stale)
		{
			rw_pool_invalidate(entry->key);
			entry->stale = false;
		}
}

static void
invalidated(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	ConnEntry  *entry;

	hash_seq_init(&scan, entries);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID && entry->server_hash == hashvalue) ||
			(cacheid == USERMAPPINGOID && entry->mapping_hash == hashvalue))
			entry->stale = any_stale = true;
}

static void
transaction_ended(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		forget_stale();
}

uint64
rw_connection_key(const RwTableOptions *opts)
{
	ConnOwner	owner;
	ConnEntry  *entry;
	bool		found;

	if (entries == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ConnOwner);
		ctl.entrysize = sizeof(ConnEntry);
		entries = hash_create("redis_wrapper connections", 8, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, invalidated, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, invalidated, (Datum) 0);
		RegisterXactCallback(transaction_ended, NULL);
	}
	forget_stale();
	memset(&owner, 0, sizeof(owner));
	owner.serverid = opts->serverid;
	owner.umid = opts->umid;
	owner.userid = OidIsValid(opts->umid) ? InvalidOid : opts->userid;
	entry = hash_search(entries, &owner, HASH_ENTER, &found);
	if (!found)
		entry->key = ++last_key;
	entry->umuser = opts->umuser;
	entry->stale = false;
	entry->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID, ObjectIdGetDatum(opts->serverid));
	entry->mapping_hash = OidIsValid(opts->umid) ?
		GetSysCacheHashValue1(USERMAPPINGOID, ObjectIdGetDatum(opts->umid)) : 0;
	return entry->key;
}

/* Rows of (server_name, user_name, address) for each cached connection. */
Datum
redis_wrapper_get_connections(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	MemoryContext old;
	HASH_SEQ_STATUS scan;
	ConnEntry  *entry;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	store = tuplestore_begin_heap(true, false, work_mem);
	tupdesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(old);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;

	if (entries == NULL || !rw_core_loaded())
		PG_RETURN_VOID();
	forget_stale();
	hash_seq_init(&scan, entries);
	while ((entry = hash_seq_search(&scan)) != NULL)
	{
		char		where[256];
		ForeignServer *server;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		Oid			role;
		const char *user;

		if (!rw_pool_describe(entry->key, where, sizeof(where)))
			continue;
		server = GetForeignServerExtended(entry->owner.serverid, FSV_MISSING_OK);
		values[0] = server ? CStringGetTextDatum(server->servername) : (Datum) 0;
		nulls[0] = server == NULL;
		/* The mapping's role, as in its CREATE USER MAPPING; the role's own without one. */
		role = OidIsValid(entry->owner.umid) ? entry->umuser : entry->owner.userid;
		user = OidIsValid(role) ? GetUserNameFromId(role, true) : "public";
		values[1] = user ? CStringGetTextDatum(user) : (Datum) 0;
		nulls[1] = user == NULL;
		/*
		 * The address may come from a Vault secret of a view's owner: shown
		 * only to whom pg_user_mappings would show the mapping's options.
		 */
		nulls[2] = !(superuser() || role == GetUserId() ||
					 (!OidIsValid(role) && server && has_privs_of_role(GetUserId(), server->owner)));
		values[2] = nulls[2] ? (Datum) 0 : CStringGetTextDatum(where);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/* Close the cached connections to one server (NULL: all); true if any was open. */
static bool
disconnect(Oid serverid)
{
	HASH_SEQ_STATUS scan;
	ConnEntry  *entry;
	bool		closed = false;
	char		where[256];

	if (entries == NULL || !rw_core_loaded())
		return false;
	hash_seq_init(&scan, entries);
	while ((entry = hash_seq_search(&scan)) != NULL)
		if (!OidIsValid(serverid) || entry->owner.serverid == serverid)
		{
			closed |= rw_pool_describe(entry->key, where, sizeof(where)) != 0;
			rw_pool_invalidate(entry->key);
		}
	return closed;
}

Datum
redis_wrapper_disconnect(PG_FUNCTION_ARGS)
{
	ForeignServer *server = GetForeignServerByName(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);

	PG_RETURN_BOOL(disconnect(server->serverid));
}

Datum
redis_wrapper_disconnect_all(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(disconnect(InvalidOid));
}

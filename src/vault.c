/*
 * conn_url_id: the connection URL kept as a Supabase Vault secret, read from
 * vault.decrypted_secrets with the rights of the role the scan is checked as
 * (a view's owner, as for its user mapping), not of whoever runs the query.  A UUID is matched against the
 * secret's id (and key_id, where the view has that column), anything else
 * against its name.
 */
#include "redis_wrapper.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

static bool
looks_like_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return false;
	}
	return true;
}

static void
vault_context(void *arg)
{
	errcontext("reading conn_url_id \"%s\" from vault.decrypted_secrets", (const char *) arg);
}

static char *
read_secret(const char *id)
{
	Oid			view = RangeVarGetRelid(makeRangeVar("vault", "decrypted_secrets", -1), NoLock, true);
	bool		by_uuid = looks_like_uuid(id);
	StringInfoData query;
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(id);
	ErrorContextCallback context;
	MemoryContext caller = CurrentMemoryContext;
	char	   *secret = NULL;
	bool		isnull = true;
	int			rc;

	if (!OidIsValid(view))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("conn_url_id needs the view vault.decrypted_secrets, which does not exist"),
				 errhint("Install Supabase Vault, or give the server a conn_url instead.")));

	initStringInfo(&query);
	/*
	 * It runs as another role than the caller's, whose search_path must not
	 * choose its operators: everything is schema-qualified.
	 */
	appendStringInfoString(&query, "SELECT decrypted_secret::pg_catalog.text FROM vault.decrypted_secrets WHERE ");
	if (!by_uuid)
		appendStringInfoString(&query, "name OPERATOR(pg_catalog.=) $1");
	else if (get_attnum(view, "key_id") != InvalidAttrNumber)
		appendStringInfoString(&query, "id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid"
							   " OR key_id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid");
	else
		appendStringInfoString(&query, "id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid");
	appendStringInfoString(&query, " LIMIT 2");

	context.callback = vault_context;
	context.arg = (void *) id;
	context.previous = error_context_stack;
	error_context_stack = &context;

	SPI_connect();
	rc = SPI_execute_with_args(query.data, 1, &argtype, &arg, NULL, true, 2);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no Vault secret with %s \"%s\"", by_uuid ? "id" : "name", id),
				 errhint("conn_url_id takes a secret's id or key_id (a UUID) or its name.")));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("more than one Vault secret matches \"%s\"", id)));
	{
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			secret = MemoryContextStrdup(caller, TextDatumGetCString(value));
	}
	SPI_finish();
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("Vault secret \"%s\" could not be decrypted", id)));
	error_context_stack = context.previous;
	return secret;
}

/* The secret, read with userid's rights (its schema lookup included). */
char *
rw_vault_secret(const char *id, Oid userid)
{
	Oid			saved_user;
	int			saved_context;
	char	   *secret;

	/* An error on the way restores the user with the transaction's abort. */
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(userid, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	secret = read_secret(id);
	SetUserIdAndSecContext(saved_user, saved_context);
	return secret;
}

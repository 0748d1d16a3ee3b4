/*
 * IMPORT FOREIGN SCHEMA "<pattern>" FROM SERVER s INTO schema: the core
 * samples the keys matching the pattern and groups them by shape
 * (core/keyspace.pxi, rules at RwKeyGroup in core_api.h); here each group
 * becomes a CREATE FOREIGN TABLE of its source type's columns, under a name
 * made from the group's literal parts (README, "IMPORT FOREIGN SCHEMA").
 */
#include "redis_wrapper.h"

#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#define DEFAULT_SAMPLE 10000
#define MAX_SAMPLE 1000000
/* The longest suffix a name is given to tell it apart ("_" and a Redis type, or "_<n>"). */
#define MAX_SUFFIX 16

/* The core's sampler, let go of however the statement ends. */
typedef struct Import
{
	void	   *sampler;
	MemoryContextCallback release;
} Import;

typedef struct NameEntry
{
	char		name[NAMEDATALEN];	/* hash key, zero-padded */
	int			count;
} NameEntry;

static void
release_sampler(void *arg)
{
	Import	   *import = (Import *) arg;

	if (import->sampler)
		rw_sample_close(import->sampler);
	import->sampler = NULL;
}

static void
import_context(void *arg)
{
	ImportForeignSchemaStmt *stmt = (ImportForeignSchemaStmt *) arg;

	errcontext("importing foreign schema \"%s\" from server \"%s\"",
			   stmt->remote_schema, stmt->server_name);
}

/* The IMPORT's options: returns sample; *rows: shape 'rows'. */
static int
import_options(List *options, bool *rows)
{
	int			sample = DEFAULT_SAMPLE;
	ListCell   *lc;

	*rows = false;
	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "sample") == 0)
			sample = rw_option_whole(def, 1, MAX_SAMPLE, "keys");
		else if (strcmp(def->defname, "shape") == 0)
		{
			const char *shape = defGetString(def);

			*rows = strcmp(shape, "rows") == 0;
			if (!*rows && strcmp(shape, "spec") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"shape\": \"%s\"", shape),
						 errhint("Valid values are: spec, rows")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 errhint("Valid options in this context are: sample, shape")));
	}
	return sample;
}

/*
 * Redis bytes as an identifier: ASCII letters (lowered) and digits kept, any
 * run of other bytes one '_', none leading or trailing; "keys" if nothing is
 * left, "key_" before a leading digit; cut after max bytes.
 */
static char *
identifier(const char *p, int64 len, int max)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int64 i = 0; i < len && buf.len <= max; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			appendStringInfoChar(&buf, pg_ascii_tolower(c));
		else if (buf.len > 0 && buf.data[buf.len - 1] != '_')
			appendStringInfoChar(&buf, '_');
	}
	while (buf.len > 0 && buf.data[buf.len - 1] == '_')
		buf.data[--buf.len] = '\0';
	if (buf.len == 0)
		return pstrdup("keys");
	return psprintf("%s%.*s", buf.data[0] >= '0' && buf.data[0] <= '9' ? "key_" : "",
					buf.data[0] >= '0' && buf.data[0] <= '9' ? max - 4 : max, buf.data);
}

/* name, cut to leave room for suffix, then suffix: always a valid name's length. */
static char *
suffixed(const char *name, const char *suffix)
{
	int			room = NAMEDATALEN - 1 - strlen(suffix);

	return psprintf("%.*s%s", room, name, suffix);
}

/* The entry of name in names, added with count 0 if new. */
static NameEntry *
name_entry(HTAB *names, const char *name)
{
	char		key[NAMEDATALEN];
	NameEntry  *entry;
	bool		found;

	memset(key, 0, sizeof(key));
	strlcpy(key, name, sizeof(key));
	entry = (NameEntry *) hash_search(names, key, HASH_ENTER, &found);
	if (!found)
		entry->count = 0;
	return entry;
}

static HTAB *
name_table(const char *what, long size)
{
	HASHCTL		ctl;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(what, Max(size, 8), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Each group's table name, stable for a given sample: its literal parts as an
 * identifier; where groups share one, each gets "_" and its Redis type; a name
 * still taken by an earlier group (in the core's order) gets "_2", "_3"...
 */
static char **
table_names(const RwKeyspace *ks)
{
	char	  **names = palloc(sizeof(char *) * Max(ks->ngroups, 1));
	HTAB	   *bases = name_table("redis_wrapper import bases", ks->ngroups);
	HTAB	   *taken = name_table("redis_wrapper import names", ks->ngroups);

	for (int64 i = 0; i < ks->ngroups; i++)
	{
		names[i] = identifier(ks->groups[i].name, ks->groups[i].name_len, NAMEDATALEN - 1);
		name_entry(bases, names[i])->count++;
	}
	for (int64 i = 0; i < ks->ngroups; i++)
	{
		const RwKeyGroup *g = &ks->groups[i];
		char	   *first = names[i];

		if (name_entry(bases, first)->count > 1)
			first = suffixed(first, psprintf("_%s", identifier(g->redis_type, strlen(g->redis_type),
															   MAX_SUFFIX - 1)));
		names[i] = first;
		for (int n = 2; name_entry(taken, names[i])->count > 0; n++)
			names[i] = suffixed(first, psprintf("_%d", n));
		name_entry(taken, names[i])->count++;
	}
	return names;
}

/* Whether LIMIT TO / EXCEPT lets name be imported. */
static bool
wanted(ImportForeignSchemaStmt *stmt, const char *name)
{
	ListCell   *lc;
	bool		listed = false;

	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	foreach(lc, stmt->table_list)
		listed |= strcmp(((RangeVar *) lfirst(lc))->relname, name) == 0;
	return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO ? listed : !listed;
}

/* A NOTICE that group g gets no table, and why. */
static void
skipped(const RwKeyGroup *g, const char *why)
{
	char	   *shown = rw_shown(g->src_key, g->src_key_len, RW_SHOWN_KEY_MAX);

	if (g->is_pattern)
		ereport(NOTICE,
				(errmsg("skipped %lld Redis keys matching \"%s\": %s",
						(long long) g->nkeys, shown, why)));
	else
		ereport(NOTICE, (errmsg("skipped Redis key \"%s\": %s", shown, why)));
}

/* The type a field's sampled values read as (RwValueGuess), by name. */
static const char *
guessed_type(int guess)
{
	switch (guess)
	{
		case RW_GUESS_INTEGER:
			return "bigint";
		case RW_GUESS_NUMBER:
			return "numeric";
		case RW_GUESS_BOOLEAN:
			return "boolean";
		case RW_GUESS_DATE:
			return "date";
		case RW_GUESS_TIMESTAMP:
			return "timestamp with time zone";
		default:
			return "text";
	}
}

/*
 * shape 'rows': a column per field of the group's hashes, after key.  A field
 * that cannot be a column of that name (not valid text, too long, or named as
 * one of the source's own columns) is left out, with a NOTICE.
 */
static void
field_columns(StringInfo buf, const RwKeyGroup *g, const RwSourceInfo *source)
{
	for (int f = 0; f < g->nfields; f++)
	{
		const char *field = g->fields[f];
		int			len = (int) g->field_lens[f];
		bool		ours = false;

		for (int c = 0; c < source->ncolumns; c++)
			ours |= strcmp(source->columns[c].name, field) == 0;
		if (ours || len == 0 || len >= NAMEDATALEN || strlen(field) != len ||
			!pg_verify_mbstr(GetDatabaseEncoding(), field, len, true))
			ereport(NOTICE,
					(errmsg("field \"%s\" of the Redis hashes matching \"%s\" is not made a column",
							rw_shown(field, len, RW_SHOWN_KEY_MAX), rw_shown(g->src_key, g->src_key_len, RW_SHOWN_KEY_MAX)),
					 errdetail("%s", ours ? "The table has a column of that name already." :
							   "Its name is not a valid column name here."),
					 errhint("Read it through an items jsonb column, or a column with option field.")));
		else
			appendStringInfo(buf, ", %s %s", quote_identifier(field), guessed_type(g->field_guesses[f]));
	}
}

static char *
create_table(const RwKeyGroup *g, const char *name, const char *servername)
{
	const RwSourceInfo *source = rw_source_info(g->src_type);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (", quote_identifier(name));
	if (g->nfields > 0)
	{
		/* hashes as rows: the key, then a column per field */
		appendStringInfo(&buf, "%s %s", quote_identifier(source->columns[0].name),
						 format_type_be(rw_kind_type(source->columns[0].kind)));
		field_columns(&buf, g, source);
	}
	else
		/* the spec's shape: opt-in columns (index, score, ttl...) are the user's to add */
		for (int c = 0, n = 0; c < source->ncolumns; c++)
			if (!source->columns[c].opt_in)
				appendStringInfo(&buf, "%s%s %s", n++ ? ", " : "", quote_identifier(source->columns[c].name),
								 format_type_be(rw_kind_type(source->columns[c].kind)));
	appendStringInfo(&buf, ") SERVER %s OPTIONS (src_type %s, src_key %s)",
					 quote_identifier(servername), quote_literal_cstr(source->name),
					 quote_literal_cstr(g->src_key));
	return buf.data;
}

List *
redisImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	bool		rows;
	int			sample = import_options(stmt->options, &rows);
	Import	   *import = palloc0(sizeof(Import));
	ErrorContextCallback context;
	RwTableOptions opts;
	RwKeyspace	ks;
	RwError		err;
	List	   *commands = NIL;
	char	  **names;

	context.callback = import_context;
	context.arg = stmt;
	context.previous = error_context_stack;
	error_context_stack = &context;

	/* Credentials as for a scan: the current user's mapping. */
	rw_connect_server_options(serverOid, GetUserId(), &opts);
	import->release.func = release_sampler;
	import->release.arg = import;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &import->release);
	RW_CORE_CALL(rw_sample_open(&opts.spec, stmt->remote_schema, sample, rows, &import->sampler, &err),
				 &err, NULL, NULL);
	RW_CORE_CALL(rw_sample_run(import->sampler, &ks, &err), &err, NULL, NULL);

	if (ks.nkeys >= sample)
		ereport(NOTICE,
				(errmsg("sampled the first %d keys matching \"%s\" only", sample, stmt->remote_schema),
				 errhint("Keys not sampled may have other shapes: raise option \"sample\" (up to %d) to see more of them.",
						 MAX_SAMPLE)));
	names = table_names(&ks);
	for (int64 i = 0; i < ks.ngroups; i++)
	{
		const RwKeyGroup *g = &ks.groups[i];

		if (!wanted(stmt, names[i]))
			continue;
		if (g->src_type < 0)
			skipped(g, psprintf("no source type reads Redis type %s", g->redis_type));
		/* src_key is text: a key's bytes as they are (NUL is invalid too) */
		else if (!pg_verify_mbstr(GetDatabaseEncoding(), g->src_key, (int) g->src_key_len, true))
			skipped(g, "the name is not valid in the database encoding");
		else
			commands = lappend(commands, create_table(g, names[i], opts.servername));
	}
	release_sampler(import);
	error_context_stack = context.previous;
	return commands;
}

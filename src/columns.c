/*
 * The column shapes of each source type, checked before any Redis traffic:
 * by DDL that gives a foreign table columns (through the extension's event
 * trigger, which also covers ALTER TABLE on partitioned and inheritance
 * parents), when planning, and when a scan starts.  A table may declare any subset of its
 * source type's columns, in any order, each with the expected type or one
 * that typed.c converts to and from it.
 */
#include "redis_wrapper.h"

#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(redis_wrapper_check_table);

extern Datum redis_fdw_handler(PG_FUNCTION_ARGS);

/* The PostgreSQL type of each kind of column the core yields. */
Oid
rw_kind_type(int kind)
{
	switch (kind)
	{
		case RW_KIND_ITEMS:
			return JSONBOID;
		case RW_KIND_INT8:
			return INT8OID;
		case RW_KIND_FLOAT8:
			return FLOAT8OID;
		case RW_KIND_INTERVAL_MS:
			return INTERVALOID;
		case RW_KIND_TIMESTAMP_MS:
			return TIMESTAMPTZOID;
		default:
			return TEXTOID;
	}
}

/* The core's source type i, or NULL past the last. */
const RwSourceInfo *
rw_source_info(int i)
{
	rw_python_start();
	return rw_source(i);
}

/* The RwColumnKind of a source type's logical column. */
int
rw_column_kind(int src_type, int column)
{
	return rw_source_info(src_type)->columns[column].kind;
}

static char *
shape_text(const RwSourceInfo *source)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int c = 0; c < source->ncolumns; c++)
		appendStringInfo(&buf, "%s%s %s", buf.len ? ", " : "", source->columns[c].name,
						 format_type_be(rw_kind_type(source->columns[c].kind)));
	return buf.data;
}

/* The column option field of att (a field column's other spelling), or NULL. */
static const char *
field_option(Form_pg_attribute att)
{
	ListCell   *lc;

	if (!OidIsValid(att->attrelid))
		return NULL;
	foreach(lc, GetForeignColumnOptions(att->attrelid, att->attnum))
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "field") == 0)
			return defGetString(def);
	}
	return NULL;
}

/* The Redis field a field column names: its option field, else its name. */
static const char *
field_name(Form_pg_attribute att)
{
	const char *option = field_option(att);

	return option ? option : NameStr(att->attname);
}

/* Two field columns naming one field would be two values for it: refused. */
static void
check_field_unique(TupleDesc tupdesc, const char *relname, int i, const int *fields, int nfields)
{
	const char *name = field_name(TupleDescAttr(tupdesc, i));

	for (int k = 0; k < nfields; k++)
	{
		Form_pg_attribute other = TupleDescAttr(tupdesc, fields[k]);

		if (strcmp(field_name(other), name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
					 errmsg("columns \"%s\" and \"%s\" of foreign table \"%s\" both name field \"%s\"",
							NameStr(other->attname), NameStr(TupleDescAttr(tupdesc, i)->attname),
							relname, name)));
	}
}

/*
 * Check the columns against src_type; when attmap is given, fill it with each
 * attribute's logical column (-1 for dropped attributes).  On a source with
 * field columns, a column with the option field, or named like none of the
 * source's, is field j (RW_FIELD_COLUMN + j, in attribute order).  Returns
 * how many field columns there are.
 */
int
rw_map_columns(TupleDesc tupdesc, const char *relname, int src_type, int *attmap)
{
	const RwSourceInfo *source = rw_source_info(src_type);
	int		   *fields = palloc(sizeof(int) * Max(tupdesc->natts, 1));	/* their attributes */
	int			nfields = 0;

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);
		int			col = -1;
		int			kind;

		if (attmap)
			attmap[i] = -1;
		if (att->attisdropped)
			continue;
		if (field_option(att) && !source->field_columns)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
					 errmsg("column \"%s\" of foreign table \"%s\" has option field, but a Redis %s source has no field columns",
							name, relname, source->name),
					 errhint("Field columns are hashes' fields on multi_hash tables, entries' fields on stream tables.")));
		for (int c = 0; c < source->ncolumns && !field_option(att); c++)
			if (strcmp(source->columns[c].name, name) == 0)
				col = c;
		if (col < 0 && source->field_columns)
		{
			check_field_unique(tupdesc, relname, i, fields, nfields);
			fields[nfields] = i;
			col = RW_FIELD_COLUMN + nfields++;
		}
		if (col < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
					 errmsg("column \"%s\" of foreign table \"%s\" is not a column of a Redis %s source",
							name, relname, source->name),
					 errhint("A foreign table with src_type '%s' has the columns (%s), or some of them.",
							 source->name, shape_text(source))));
		kind = col >= RW_FIELD_COLUMN ? RW_KIND_TEXT : source->columns[col].kind;
		if (att->atttypid != rw_kind_type(kind) &&
			rw_typed_form(kind, source->object_items, att->atttypid) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, but a Redis %s source yields %s",
							name, relname, format_type_be(att->atttypid),
							source->name, format_type_be(rw_kind_type(kind))),
					 errdetail("%s", rw_typed_detail(kind, source->object_items)),
					 errhint("A foreign table with src_type '%s' has the columns (%s), or some of them.",
							 source->name, shape_text(source))));
		if (attmap)
			attmap[i] = col;
	}
	return nfields;
}

/*
 * rw_map_columns for a table whose options spec holds: attmap (natts entries)
 * filled, and the table's field columns set in spec (nfields, fields; no
 * want_fields).  Returns the cells of its rows (RwBatch.cells_per_row).
 */
int
rw_table_columns(TupleDesc tupdesc, const char *relname, RwScanSpec *spec, int *attmap)
{
	int			nfields = rw_map_columns(tupdesc, relname, spec->src_type, attmap);
	RwValue    *fields = palloc0(sizeof(RwValue) * Max(nfields, 1));

	for (int i = 0; i < tupdesc->natts; i++)
		if (attmap[i] >= RW_FIELD_COLUMN)
		{
			const char *name = field_name(TupleDescAttr(tupdesc, i));

			fields[attmap[i] - RW_FIELD_COLUMN].p = name;
			fields[attmap[i] - RW_FIELD_COLUMN].len = strlen(name);
		}
	spec->nfields = nfields;
	spec->fields = fields;
	return RW_CELLS_PER_ROW + nfields;
}

/*
 * The type of each logical column (ncells of them: a row's cells, the key
 * cell unused) of a table whose attributes attmap maps (rw_map_columns
 * checked them); an undeclared column is of its kind's own type.
 */
RwColumnType *
rw_column_types(TupleDesc tupdesc, int src_type, const int *attmap, int ncells)
{
	const RwSourceInfo *source = rw_source_info(src_type);
	RwColumnType *types = palloc0(sizeof(RwColumnType) * ncells);

	for (int c = 0; c < source->ncolumns; c++)
	{
		types[c].kind = source->columns[c].kind;
		types[c].name = source->columns[c].name;
	}
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		int			c = attmap[i];

		if (c >= RW_FIELD_COLUMN)
		{
			types[c].kind = RW_KIND_TEXT;
			types[c].name = pstrdup(NameStr(att->attname));
		}
		if (c >= 0 && att->atttypid != rw_kind_type(types[c].kind))
			rw_typed_init(&types[c], att,
						  rw_typed_form(types[c].kind, source->object_items, att->atttypid));
	}
	return types;
}

/*
 * Is a clause's equality, on a column of kind declared as vartype and
 * compared as optype, the equality of the Redis strings?  For the kind's own
 * type, and for varchar (compared as text) and bytea; not for other types,
 * whose equality is the value's ('01' = '1' as integers).
 */
bool
rw_string_equality(int kind, Oid vartype, Oid optype)
{
	if (kind == RW_KIND_TEXT && vartype == VARCHAROID)
		return optype == TEXTOID;
	if (kind == RW_KIND_TEXT && vartype == BYTEAOID)
		return optype == BYTEAOID;
	return vartype == optype && vartype == rw_kind_type(kind);
}

/*
 * Is this foreign table served by redis_wrapper (and not some other FDW)?  Its
 * wrapper's handler must resolve to our own redis_fdw_handler: the module is
 * linked with -Bsymbolic, so the name below is ours even when another module
 * exporting the same name (the classic redis_fdw) was loaded first.
 */
static bool
is_redis_table(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(table->serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	FmgrInfo	handler;

	if (!OidIsValid(fdw->fdwhandler))
		return false;
	fmgr_info(fdw->fdwhandler, &handler);
	return handler.fn_addr == redis_fdw_handler;
}

/* Called by the extension's event trigger for each created or altered foreign table. */
Datum
redis_wrapper_check_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	RwTableOptions opts;
	Relation	rel;

	if (get_rel_relkind(relid) != RELKIND_FOREIGN_TABLE || !is_redis_table(relid))
		PG_RETURN_VOID();
	/* It locks the table: only for whoever could alter it (the DDL's issuer). */
#if PG_VERSION_NUM >= 160000
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
#else
	if (!pg_class_ownercheck(relid, GetUserId()))
#endif
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_FOREIGN_TABLE, get_rel_name(relid));
	rw_get_table_options(relid, InvalidOid, &opts);
	rel = table_open(relid, AccessShareLock);
	rw_map_columns(RelationGetDescr(rel), opts.relname, opts.spec.src_type, NULL);
	table_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/*
 * Typed columns: a Redis string read into a column of another type than text
 * (an element, member, field, value, key or id column) goes through that
 * type's input function, with the column's typmod, and is written with its
 * output function; bytea takes the bytes as they are, NUL and invalid UTF-8
 * included; a pattern table's items may be text[] or bytea[] where they are
 * a list of strings.  A string that does not convert is the input function's
 * own error (its SQLSTATE), with a context line showing the string escaped
 * and, for column 1, the row's column 0 (a hash value's field).
 */
#include "redis_wrapper.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

/*
 * The form of a column of kind declared with type (not the kind's own), or
 * -1 when the type cannot hold it: a Redis string fits any type with an input
 * function but arrays (which items are) and pseudo-types; items that are a
 * list of strings fit text[] and bytea[]; no other column changes its type.
 */
int
rw_typed_form(int kind, bool object_items, Oid type)
{
	Oid			base = getBaseType(type);

	if (kind == RW_KIND_ITEMS && !object_items)
		return type == TEXTARRAYOID ? RW_FORM_TEXT_ARRAY :
			type == BYTEAARRAYOID ? RW_FORM_BYTEA_ARRAY : -1;
	if (kind != RW_KIND_TEXT || OidIsValid(get_element_type(base)) ||
		get_typtype(base) == TYPTYPE_PSEUDO)
		return -1;
	return base == BYTEAOID ? RW_FORM_BYTES : RW_FORM_IO;
}

/* What a column of kind may be, for the error refusing another type. */
const char *
rw_typed_detail(int kind, bool object_items)
{
	if (kind == RW_KIND_TEXT)
		return "A column of Redis strings may have any type with an input function, except arrays: "
			"strings are read with the type's input function and written with its output "
			"function; bytea holds the bytes as they are.";
	if (kind == RW_KIND_ITEMS && !object_items)
		return "items may be jsonb, text[] or bytea[].";
	if (kind == RW_KIND_ITEMS)
		return "These items are fields and values: jsonb only.";
	return "Only the columns of Redis strings and items may have another type.";
}

/* t (its kind and name set) for att, of a type that is not its kind's own, of form. */
void
rw_typed_init(RwColumnType *t, Form_pg_attribute att, int form)
{
	Oid			func;
	bool		isvarlena;

	t->form = form;
	t->type = att->atttypid;
	t->typmod = att->atttypmod;
	t->typname = format_type_with_typemod(att->atttypid, att->atttypmod);
	t->mcxt = CurrentMemoryContext;
	if (t->form == RW_FORM_IO)
	{
		getTypeInputInfo(t->type, &func, &t->ioparam);
		fmgr_info(func, &t->in);
		getTypeOutputInfo(t->type, &func, &isvarlena);
		fmgr_info(func, &t->out);
	}
}

typedef struct Converting
{
	const RwColumnType *types;
	char	   *base;
	const RwCell *row;
	int			col;
} Converting;

static void
converting_context(void *arg)
{
	Converting *c = (Converting *) arg;
	const RwCell *cell = &c->row[c->col];
	const RwCell *first = &c->row[0];
	char	   *where = "";

	if (c->col > 0 && first->len >= 0)
		where = psprintf(", in the row where %s = \"%s\"", c->types[0].name,
						 rw_shown(c->base + first->off, first->len, RW_SHOWN_KEY_MAX));
	errcontext("Redis string \"%s\" read as column \"%s\" of type %s%s",
			   rw_shown(c->base + cell->off, cell->len, RW_SHOWN_KEY_MAX),
			   c->types[c->col].name, c->types[c->col].typname, where);
}

/*
 * A row an UPDATE or DELETE may change is named to Redis by its values as
 * PostgreSQL writes them: a string spelt otherwise ('01' for 1, 'true' for a
 * boolean's 't') would not be found, and that is refused here, not found
 * "changed" (40001) when the statement ends, which no retry could pass.
 */
static void
check_identity(RwColumnType *t, const char *p, int64 len, Datum datum)
{
	char	   *written = OutputFunctionCall(&t->out, datum);

	if (strlen(written) != len || memcmp(written, p, len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("Redis string \"%s\" is not how type %s writes its value (\"%s\")",
						rw_shown(p, len, RW_SHOWN_KEY_MAX), t->typname,
						rw_shown(written, strlen(written), RW_SHOWN_KEY_MAX)),
				 errdetail("An UPDATE or DELETE names the rows it changes by their values as PostgreSQL writes them."),
				 errhint("Change such rows through a table whose column \"%s\" is text.", t->name)));
}

/*
 * The Datum of the cell of logical column col (len >= 0) in row, a row of
 * cells (core_api.h), in the current memory context or pointing into base.
 */
Datum
rw_column_datum(RwColumnType *types, char *base, const RwCell *row, int col)
{
	RwColumnType *t = &types[col];
	char	   *p = base + row[col].off;
	int64		len = row[col].len;
	ErrorContextCallback context;
	Converting	converting = {types, base, row, col};
	Datum		datum;

	switch (t->form)
	{
		case RW_FORM_NATIVE:
			return rw_cell_datum(base, &row[col], t->kind);
		case RW_FORM_TEXT_ARRAY:
			return rw_items_array_datum(p, TEXTOID);
		case RW_FORM_BYTEA_ARRAY:
			return rw_items_array_datum(p, BYTEAOID);
	}
	context.callback = converting_context;
	context.arg = &converting;
	context.previous = error_context_stack;
	error_context_stack = &context;
	if (t->form == RW_FORM_BYTES)
	{
		datum = rw_bytes_datum(p, len);
		if (t->type != BYTEAOID)
			domain_check(datum, false, t->type, &t->domain_extra, t->mcxt);
	}
	else
	{
		/* an input function reads a C string: it must be all of the value, and text */
		pg_verify_mbstr(GetDatabaseEncoding(), p, (int) len, false);
		datum = InputFunctionCall(&t->in, p, t->ioparam, t->typmod);
		if (t->identity)
			check_identity(t, p, len, datum);
	}
	error_context_stack = context.previous;
	return datum;
}

/*
 * The value to write of a Datum (not NULL) of column t; key is the row's
 * column 0 so far (a pattern table's Redis key), or NULL.
 */
void
rw_column_value(const RwColumnType *t, Datum datum, const char *relname, const RwValue *key,
				RwValue *value)
{
	switch (t->form)
	{
		case RW_FORM_NATIVE:
			rw_datum_value(datum, t->kind, t->name, relname, value);
			break;
		case RW_FORM_BYTES:
			{
				bytea	   *b = DatumGetByteaPP(datum);

				value->p = VARDATA_ANY(b);
				value->len = VARSIZE_ANY_EXHDR(b);
				break;
			}
		case RW_FORM_IO:
			value->p = OutputFunctionCall((FmgrInfo *) &t->out, datum);
			value->len = strlen(value->p);
			break;
		default:
			rw_array_items_value(datum, key, value);
			break;
	}
}

/*
 * Datums as the values of rows to write (core_api.h's RwValue): text as it
 * is, a bigint as decimal text, a double precision as Redis reads a score,
 * and a jsonb array or object of strings in the items layout.  Anything
 * Redis cannot hold so is refused here, naming the column, before the core
 * sees it.  The other way, the core's cells as Datums, is cells.c's.
 */
#include "redis_wrapper.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#define INT8_TEXT_SIZE 21		/* "-9223372036854775808" and its NUL */

static void
bad_items(const char *column, const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("column \"%s\" of foreign table \"%s\" must be a JSON array of strings or a JSON object of strings",
					column, relname),
			 errdetail("Redis holds strings only: no numbers, nulls or nested values.")));
}

/* Padded to 4 bytes, as the items layout aligns each string. */
static void
append_items_string(StringInfo buf, const char *p, int32 len)
{
	static const char zeros[3] = {0, 0, 0};

	appendBinaryStringInfo(buf, (const char *) &len, sizeof(int32));
	appendBinaryStringInfo(buf, p, len);
	appendBinaryStringInfo(buf, zeros, (4 - (len & 3)) & 3);
}

/* A jsonb array of strings ('[') or object of string values ('{', pairs counted). */
static void
items_value(Jsonb *jb, const char *column, const char *relname, RwValue *value)
{
	StringInfoData buf;
	int32		head[2];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	if (JB_ROOT_IS_SCALAR(jb))
		bad_items(column, relname);
	head[0] = JB_ROOT_IS_OBJECT(jb) ? RW_ITEMS_OBJECT : RW_ITEMS_ARRAY;
	head[1] = JB_ROOT_COUNT(jb);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) head, sizeof(head));
	it = JsonbIteratorInit(&jb->root);
	/* skipNested: a nested array or object comes back whole, as jbvBinary */
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (token == WJB_KEY || token == WJB_VALUE || token == WJB_ELEM)
		{
			if (v.type != jbvString)
				bad_items(column, relname);
			append_items_string(&buf, v.val.string.val, v.val.string.len);
		}
	value->p = buf.data;
	value->len = buf.len;
}

/* A score as Redis reads one: the shortest digits that read back the same double. */
static void
float8_value(double d, const char *column, const char *relname, RwValue *value)
{
	char	   *buf;

	if (isnan(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" of foreign table \"%s\" cannot be NaN in Redis", column, relname),
				 errdetail("A Redis score is a number or an infinity.")));
	if (isinf(d))
	{
		value->p = d > 0 ? "inf" : "-inf";
		value->len = strlen(value->p);
		return;
	}
	buf = palloc(DOUBLE_SHORTEST_DECIMAL_LEN);
	value->len = double_to_shortest_decimal_buf(d, buf);
	value->p = buf;
}

/*
 * The value of a Datum (not NULL) of a column of kind (RwColumnKind), in the
 * current memory context or pointing into the Datum.
 */
void
rw_datum_value(Datum datum, int kind, const char *column, const char *relname, RwValue *value)
{
	switch (kind)
	{
		case RW_KIND_ITEMS:
			items_value(DatumGetJsonbP(datum), column, relname, value);
			break;
		case RW_KIND_INT8:
			{
				char	   *buf = palloc(INT8_TEXT_SIZE);

				value->len = snprintf(buf, INT8_TEXT_SIZE, INT64_FORMAT, DatumGetInt64(datum));
				value->p = buf;
				break;
			}
		case RW_KIND_FLOAT8:
			float8_value(DatumGetFloat8(datum), column, relname, value);
			break;
		default:
			{
				text	   *t = DatumGetTextPP(datum);

				value->p = VARDATA_ANY(t);
				value->len = VARSIZE_ANY_EXHDR(t);
				break;
			}
	}
}

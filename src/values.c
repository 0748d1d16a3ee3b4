/*
 * Datums as the values of rows to write (core_api.h's RwValue): text as it
 * is, a bigint as decimal text, a double precision as Redis reads a score
 * (NaN refused here, naming the column), and jsonb in the items layout: an
 * array or object of strings, or RW_ITEMS_OTHER for any other JSON, which
 * the core refuses naming the Redis key the row is for; text[] and bytea[]
 * in that layout too (typed.c's other types).  The other way, the core's
 * cells as Datums, is cells.c's.
 */
#include "redis_wrapper.h"

#include <math.h>

#include "common/int.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#define INT8_TEXT_SIZE 21		/* "-9223372036854775808" and its NUL */

/* Padded to 4 bytes, as the items layout aligns each string. */
static void
append_items_string(StringInfo buf, const char *p, int32 len)
{
	static const char zeros[3] = {0, 0, 0};

	appendBinaryStringInfo(buf, (const char *) &len, sizeof(int32));
	appendBinaryStringInfo(buf, p, len);
	appendBinaryStringInfo(buf, zeros, (4 - (len & 3)) & 3);
}

/*
 * A jsonb array of strings ('[') or object of string values ('{'), counted in
 * strings as a scan's cells are; RW_ITEMS_OTHER for anything else.
 */
static void
items_value(Jsonb *jb, RwValue *value)
{
	static const int32 other[2] = {RW_ITEMS_OTHER, 0};
	StringInfoData buf;
	int32		head[2];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	value->p = (const char *) other;
	value->len = sizeof(other);
	if (JB_ROOT_IS_SCALAR(jb))
		return;
	head[0] = JB_ROOT_IS_OBJECT(jb) ? RW_ITEMS_OBJECT : RW_ITEMS_ARRAY;
	head[1] = JB_ROOT_COUNT(jb) * (JB_ROOT_IS_OBJECT(jb) ? 2 : 1);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) head, sizeof(head));
	it = JsonbIteratorInit(&jb->root);
	/* skipNested: a nested array or object comes back whole, as jbvBinary */
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (token == WJB_KEY || token == WJB_VALUE || token == WJB_ELEM)
		{
			if (v.type != jbvString)
			{
				pfree(buf.data);
				return;
			}
			append_items_string(&buf, v.val.string.val, v.val.string.len);
		}
	value->p = buf.data;
	value->len = buf.len;
}

/*
 * A text[] or bytea[] (one-dimensional) as an items array, for the Redis key
 * key (NULL if unknown): a NULL element is an error, as Redis holds none.
 */
void
rw_array_items_value(Datum datum, const RwValue *key, RwValue *value)
{
	ArrayType  *array = DatumGetArrayTypeP(datum);
	const char *shown = key && key->p ? rw_shown(key->p, key->len, RW_SHOWN_KEY_MAX) : "";
	StringInfoData buf;
	Datum	   *elems;
	bool	   *nulls;
	int32		head[2];
	int			n;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("items for Redis key \"%s\" must be a one-dimensional array", shown)));
	deconstruct_array(array, ARR_ELEMTYPE(array), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	head[0] = RW_ITEMS_ARRAY;
	head[1] = n;
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) head, sizeof(head));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("items for Redis key \"%s\" cannot hold a NULL", shown),
					 errdetail("Redis stores no NULLs.")));
		append_items_string(&buf, VARDATA_ANY(DatumGetPointer(elems[i])),
							 VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])));
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

static void
ms_value(int64 ms, RwValue *value)
{
	char	   *buf = palloc(INT8_TEXT_SIZE);

	value->len = snprintf(buf, INT8_TEXT_SIZE, INT64_FORMAT, ms);
	value->p = buf;
}

static void
not_finite(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s cannot be infinite in Redis", what),
			 errdetail("A Redis key's expiry is a number of milliseconds.")));
}

/*
 * An interval as whole milliseconds (what, e.g. 'column "ttl" of foreign
 * table "t"', names it in errors), a month counting 30 days as interval
 * comparison does.  Its sign is kept: the core refuses a ttl not positive.
 */
int64
rw_interval_ms(const Interval *span, const char *what)
{
	int64		days,
				usec;

#ifdef INTERVAL_NOT_FINITE
	if (INTERVAL_NOT_FINITE(span))
		not_finite(what);
#endif
	if (pg_mul_s64_overflow((int64) span->month, DAYS_PER_MONTH, &days) ||
		pg_add_s64_overflow(days, span->day, &days) ||
		pg_mul_s64_overflow(days, USECS_PER_DAY, &usec) ||
		pg_add_s64_overflow(usec, span->time, &usec))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range for a Redis expiry", what)));
	return usec / 1000;
}

/* An expiry as milliseconds since the Unix epoch (rounded down). */
static void
timestamp_value(TimestampTz ts, const char *column, const char *relname, RwValue *value)
{
	const int64 epoch_ms = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	int64		ms = ts / 1000 - (ts % 1000 < 0);

	if (TIMESTAMP_NOT_FINITE(ts))
		not_finite(psprintf("column \"%s\" of foreign table \"%s\"", column, relname));
	ms_value(ms + epoch_ms, value);
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
			items_value(DatumGetJsonbP(datum), value);
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
		case RW_KIND_INTERVAL_MS:
			ms_value(rw_interval_ms(DatumGetIntervalP(datum),
									psprintf("column \"%s\" of foreign table \"%s\"", column, relname)),
					 value);
			break;
		case RW_KIND_TIMESTAMP_MS:
			timestamp_value(DatumGetTimestampTz(datum), column, relname, value);
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

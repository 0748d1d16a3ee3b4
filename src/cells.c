/*
 * Datums from the core's row cells (core_api.h), without going through SQL
 * input functions: a text Datum is the cell itself (the core left room for
 * its varlena header), a jsonb one is built from the items list directly, and
 * a bigint or double precision one is parsed from its decimal text.  Redis
 * holds bytes, PostgreSQL text: every string is checked against the database
 * encoding first (which also rejects NUL bytes), but for bytea columns
 * (typed.c, which converts the columns of other types).
 */
#include "redis_wrapper.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/*
 * Redis bytes for a message: characters of the database encoding as they
 * are, except backslashes and control characters; any other byte as \xNN, so
 * that no key can garble a message or fail its conversion to the client's
 * encoding.  Longer input is cut after max bytes, marked by "...".
 */
char *
rw_shown(const char *p, int64 len, int max)
{
	StringInfoData buf;
	int			encoding = GetDatabaseEncoding();
	int64		i = 0;

	initStringInfo(&buf);
	while (i < len)
	{
		unsigned char c = p[i];
		int			n = 1;

		if (buf.len >= max)
		{
			appendStringInfoString(&buf, "...");
			break;
		}
		if (c >= 0x80)
			n = pg_encoding_mblen(encoding, p + i);
		if (c >= 0x80 && n <= len - i && pg_verify_mbstr(encoding, p + i, n, true))
			appendBinaryStringInfo(&buf, p + i, n);
		else if (c < 0x20 || c >= 0x7f || c == '\\')
		{
			appendStringInfo(&buf, "\\x%02x", c);
			n = 1;
		}
		else
			appendStringInfoChar(&buf, c);
		i += n;
	}
	return buf.data;
}

/* A string PostgreSQL cannot hold is an error, not a truncated value. */
static void
check_size(int64 len)
{
	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a Redis value of %lld bytes is larger than PostgreSQL can hold (%d bytes)",
						(long long) len, (int) (MaxAllocSize - VARHDRSZ))));
}

/* A text cell's bytes as they are, as a varlena (text, bytea) in place. */
Datum
rw_bytes_datum(char *p, int64 len)
{
	StaticAssertStmt(RW_TEXT_HEADER == VARHDRSZ, "text cells reserve a varlena header");
	check_size(len);
	SET_VARSIZE(p - VARHDRSZ, len + VARHDRSZ);
	return PointerGetDatum(p - VARHDRSZ);
}

static Datum
text_datum(char *p, int64 len)
{
	check_size(len);
	pg_verify_mbstr(GetDatabaseEncoding(), p, (int) len, false);
	return rw_bytes_datum(p, len);
}

/* jsonb's key order: shorter first, then bytewise; equal keys by input order. */
static int
pair_cmp(const void *a, const void *b)
{
	const JsonbPair *pa = a,
			   *pb = b;
	int			la = pa->key.val.string.len,
				lb = pb->key.val.string.len;
	int			c = (la != lb) ? (la > lb ? 1 : -1) :
		memcmp(pa->key.val.string.val, pb->key.val.string.val, la);

	return c ? c : (pa->order > pb->order ? 1 : -1);
}

#define INSERTION_SORT_MAX 32

/* Sort pairs into jsonb's order and drop repeated keys, the last one winning. */
static int
sort_pairs(JsonbPair *pairs, int n)
{
	int			kept = 0;

	if (n <= INSERTION_SORT_MAX)
	{
		for (int i = 1; i < n; i++)
		{
			JsonbPair	p = pairs[i];
			int			j = i;

			while (j > 0 && pair_cmp(&pairs[j - 1], &p) > 0)
			{
				pairs[j] = pairs[j - 1];
				j--;
			}
			pairs[j] = p;
		}
	}
	else
		qsort(pairs, n, sizeof(JsonbPair), pair_cmp);
	for (int i = 0; i < n; i++)
	{
		if (i + 1 < n && pairs[i].key.val.string.len == pairs[i + 1].key.val.string.len &&
			memcmp(pairs[i].key.val.string.val, pairs[i + 1].key.val.string.val,
				   pairs[i].key.val.string.len) == 0)
			continue;
		pairs[kept++] = pairs[i];
	}
	return kept;
}

/*
 * A jsonb array or object built as a JsonbValue tree pointing into the cell,
 * then serialised by PostgreSQL's own converter: no JSON text to lex, and no
 * per-value push calls.
 */
static Datum
items_datum(const char *p)
{
	const int32 *head = (const int32 *) p;
	bool		object = head[0] == RW_ITEMS_OBJECT;
	int32		count = head[1];
	JsonbValue *strings = palloc(sizeof(JsonbValue) * Max(count, 1));
	JsonbValue	result;

	p += 2 * sizeof(int32);
	for (int32 i = 0; i < count; i++)
	{
		int32		len = *(const int32 *) p;

		strings[i].type = jbvString;
		strings[i].val.string.val = (char *) p + sizeof(int32);
		strings[i].val.string.len = len;
		pg_verify_mbstr(GetDatabaseEncoding(), strings[i].val.string.val, len, false);
		p += (sizeof(int32) + len + 3) & ~3;
	}
	if (object)
	{
		int			npairs = count / 2;
		JsonbPair  *pairs = palloc(sizeof(JsonbPair) * Max(npairs, 1));

		for (int i = 0; i < npairs; i++)
		{
			pairs[i].key = strings[2 * i];
			pairs[i].value = strings[2 * i + 1];
			pairs[i].order = i;
		}
		result.type = jbvObject;
		result.val.object.pairs = pairs;
		result.val.object.nPairs = sort_pairs(pairs, npairs);
	}
	else
	{
		result.type = jbvArray;
		result.val.array.elems = strings;
		result.val.array.nElems = count;
		result.val.array.rawScalar = false;
	}
	return JsonbPGetDatum(JsonbValueToJsonb(&result));
}

/*
 * An items cell that is a list of strings as an array of elemtype, text
 * (checked as text is) or bytea.
 */
Datum
rw_items_array_datum(const char *p, Oid elemtype)
{
	const int32 *head = (const int32 *) p;
	int32		count = head[1];
	Datum	   *elems = palloc(sizeof(Datum) * Max(count, 1));

	if (head[0] != RW_ITEMS_ARRAY)
		elog(ERROR, "redis_wrapper: items of fields and values read as an array");
	p += 2 * sizeof(int32);
	for (int32 i = 0; i < count; i++)
	{
		int32		len = *(const int32 *) p;
		const char *s = p + sizeof(int32);

		if (elemtype == TEXTOID)
			pg_verify_mbstr(GetDatabaseEncoding(), s, len, false);
		elems[i] = PointerGetDatum(cstring_to_text_with_len(s, len));
		p += (sizeof(int32) + len + 3) & ~3;
	}
	return PointerGetDatum(construct_array(elems, count, elemtype, -1, false, TYPALIGN_INT));
}

/*
 * A number cell that is not one: an error showing the text escaped (the row's
 * key is in the error context), never a wrong number.
 */
static void
bad_number(const char *p, int64 len, const char *type, bool out_of_range)
{
	char	   *shown = rw_shown(p, len, RW_SHOWN_KEY_MAX);

	if (out_of_range)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value \"%s\" is out of range for type %s", shown, type)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", type, shown)));
}

/* A whole number as Redis writes one: an optional minus sign, then digits. */
static Datum
int8_datum(const char *p, int64 len)
{
	char	   *end;
	int64		value;

	/* strtoll alone would also skip spaces and take a plus sign */
	if (len == 0 || !(isdigit((unsigned char) p[0]) || p[0] == '-'))
		bad_number(p, len, "bigint", false);
	errno = 0;
	value = strtoll(p, &end, 10);	/* long long is 64 bits wherever PostgreSQL builds */
	if (end != p + len)
		bad_number(p, len, "bigint", false);
	if (errno == ERANGE)
		bad_number(p, len, "bigint", true);
	return Int64GetDatum(value);
}

/*
 * A score as Redis writes one: decimal ("1.5", "-0", "1e+20") or an infinity
 * ("inf", "-inf", "+inf").  strtod alone would also take "nan", hexadecimal
 * and leading spaces: only the characters of decimal notation may reach it.
 */
static Datum
float8_datum(const char *p, int64 len)
{
	const char *unsigned_part = p + (len > 0 && (p[0] == '-' || p[0] == '+'));
	char	   *end;
	double		value;

	if (strcmp(unsigned_part, "inf") == 0 && unsigned_part + 3 == p + len)
		return Float8GetDatum(p[0] == '-' ? -get_float8_infinity() : get_float8_infinity());
	if (len == 0 || strspn(p, "0123456789.eE+-") != len)
		bad_number(p, len, "double precision", false);
	errno = 0;
	value = strtod(p, &end);
	if (end != p + len)
		bad_number(p, len, "double precision", false);
	/* as float8in: an overflow, or an underflow to zero, is out of range; a denormal is not */
	if (errno == ERANGE && (value == 0.0 || isinf(value)))
		bad_number(p, len, "double precision", true);
	return Float8GetDatum(value);
}

/* A key's time to live, whole milliseconds (the core's PTTL answer): an interval of that time. */
static Datum
interval_ms_datum(const char *p, int64 len)
{
	int64		ms = DatumGetInt64(int8_datum(p, len));
	Interval   *result = palloc0(sizeof(Interval));

	if (ms < 0 || ms > PG_INT64_MAX / 1000)
		bad_number(p, len, "interval", true);
	result->time = ms * 1000;
	return IntervalPGetDatum(result);
}

/* A key's expiry, milliseconds since the Unix epoch: a timestamptz. */
static Datum
timestamp_ms_datum(const char *p, int64 len)
{
	const int64 epoch_ms = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	int64		ms = DatumGetInt64(int8_datum(p, len));
	TimestampTz result;

	if (ms < 0 || ms - epoch_ms > PG_INT64_MAX / 1000 ||
		!IS_VALID_TIMESTAMP(result = (ms - epoch_ms) * 1000))
		bad_number(p, len, "timestamp with time zone", true);
	return TimestampTzGetDatum(result);
}

/* The Datum of a cell of kind (RwColumnKind); len >= 0, a NULL is the caller's. */
Datum
rw_cell_datum(char *base, const RwCell *cell, int kind)
{
	char	   *p = base + cell->off;

	switch (kind)
	{
		case RW_KIND_ITEMS:
			check_size(cell->len);
			return items_datum(p);
		case RW_KIND_INT8:
			return int8_datum(p, cell->len);
		case RW_KIND_FLOAT8:
			return float8_datum(p, cell->len);
		case RW_KIND_INTERVAL_MS:
			return interval_ms_datum(p, cell->len);
		case RW_KIND_TIMESTAMP_MS:
			return timestamp_ms_datum(p, cell->len);
		default:
			return text_datum(p, cell->len);
	}
}

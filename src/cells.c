/*
 * Datums from the core's row cells (core_api.h), without going through text
 * parsing: a text Datum is the cell itself (the core left room for its
 * varlena header), and a jsonb one is built from the items list directly.
 * Redis holds bytes, PostgreSQL text: every string is checked against the
 * database encoding first (which also rejects NUL bytes).
 */
#include "redis_wrapper.h"

#include "mb/pg_wchar.h"
#include "utils/jsonb.h"

static Datum
text_datum(char *p, int64 len)
{
	StaticAssertStmt(RW_TEXT_HEADER == VARHDRSZ, "text cells reserve a varlena header");
	pg_verify_mbstr(GetDatabaseEncoding(), p, (int) len, false);
	SET_VARSIZE(p - VARHDRSZ, len + VARHDRSZ);
	return PointerGetDatum(p - VARHDRSZ);
}

static Datum
items_datum(const char *p)
{
	const int32 *head = (const int32 *) p;
	bool		object = head[0] == RW_ITEMS_OBJECT;
	int32		count = head[1];
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue *result;

	p += 2 * sizeof(int32);
	pushJsonbValue(&state, object ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY, NULL);
	v.type = jbvString;
	for (int32 i = 0; i < count; i++)
	{
		int32		len = *(const int32 *) p;

		v.val.string.val = (char *) p + sizeof(int32);
		v.val.string.len = len;
		pg_verify_mbstr(GetDatabaseEncoding(), v.val.string.val, len, false);
		pushJsonbValue(&state, !object ? WJB_ELEM : (i % 2 == 0) ? WJB_KEY : WJB_VALUE, &v);
		p += (sizeof(int32) + len + 3) & ~3;
	}
	result = pushJsonbValue(&state, object ? WJB_END_OBJECT : WJB_END_ARRAY, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(result));
}

Datum
rw_cell_datum(char *base, const RwCell *cell, bool json)
{
	return json ? items_datum(base + cell->off) : text_datum(base + cell->off, cell->len);
}

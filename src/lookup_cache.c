/*
 * The rows of a batched lookup (prefetch.c), kept by the value that found
 * each until the scan asks for the next batch: every outer row of the batch
 * then gets its rows from here, without a round trip.
 *
 * The core answers a keyed lookup (RwPlanInfo.keyed) with rows whose column 0
 * is the value asked, byte for byte, so that is how rows find their value.
 * A row is copied with the layout cells.c expects of a batch: each cell
 * MAXALIGNed with RW_TEXT_HEADER spare bytes before it, NUL-terminated.
 *
 * Memory stays within work_mem: once the rows kept reach it, a value's
 * further rows are dropped, and so are its rows kept, as far as the scan is
 * concerned: it looks that value up alone.
 */
#include "redis_wrapper.h"

#include "miscadmin.h"
#include "utils/memutils.h"

/* Values in byte order, a shorter one before the longer one it begins (qsort's comparison). */
int
rw_value_cmp(const void *a, const void *b)
{
	const RwValue *x = a;
	const RwValue *y = b;
	int			c = memcmp(x->p, y->p, Min(x->len, y->len));

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* The index of the value p (len bytes) in values, sorted by rw_value_cmp; -1 when absent. */
int
rw_value_find(const RwValue *values, int nvalues, const char *p, int64 len)
{
	RwValue		key = {p, len};
	const RwValue *found = nvalues > 0 ?
		bsearch(&key, values, nvalues, sizeof(RwValue), rw_value_cmp) : NULL;

	return found ? (int) (found - values) : -1;
}

/* An empty cache, in the current memory context (the scan's). */
RwLookupCache *
rw_lookup_cache_create(void)
{
	RwLookupCache *cache = palloc0(sizeof(RwLookupCache));

	cache->cxt = AllocSetContextCreate(CurrentMemoryContext, "redis_wrapper lookup batch",
									   ALLOCSET_DEFAULT_SIZES);
	return cache;
}

/* Forget the rows kept: the cache is now for batch's values, none found yet. */
void
rw_lookup_cache_reset(RwLookupCache *cache, const RwOuterBatch *batch)
{
	MemoryContext old;

	MemoryContextReset(cache->cxt);
	old = MemoryContextSwitchTo(cache->cxt);
	cache->generation = batch->generation;
	cache->nvalues = batch->nvalues;
	cache->values = palloc(sizeof(RwValue) * Max(batch->nvalues, 1));
	for (int i = 0; i < batch->nvalues; i++)
	{
		cache->values[i].p = pnstrdup(batch->values[i].p, batch->values[i].len);
		cache->values[i].len = batch->values[i].len;
	}
	cache->rows = palloc0(sizeof(RwCachedRow *) * Max(batch->nvalues, 1));
	cache->tails = palloc0(sizeof(RwCachedRow *) * Max(batch->nvalues, 1));
	cache->dropped = palloc0(sizeof(bool) * Max(batch->nvalues, 1));
	cache->size = 0;
	MemoryContextSwitchTo(old);
}

/* Keep a copy of row, a row of batch, as a row of the value its column 0 is. */
void
rw_lookup_cache_add(RwLookupCache *cache, const RwBatch *batch, const RwCell *row,
					const char *relname)
{
	int			width = batch->cells_per_row;
	int			i = row[0].len < 0 ? -1 :
		rw_value_find(cache->values, cache->nvalues, batch->base + row[0].off, row[0].len);
	Size		size = 0;
	RwCachedRow *copy;
	char	   *p;

	/* The core answered for another value than those asked: never guess whose row it is. */
	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("redis_wrapper: a batched lookup of foreign table \"%s\" returned a row "
						"for a value not asked for", relname)));
	for (int c = 0; c < width; c++)
		if (row[c].len >= 0)
			size += MAXALIGN(RW_TEXT_HEADER + row[c].len + 1);
	cache->size += size + sizeof(RwCachedRow) + sizeof(RwCell) * width;
	if (cache->size > (Size) work_mem * 1024)
		cache->dropped[i] = true;
	if (cache->dropped[i])
		return;
	copy = MemoryContextAlloc(cache->cxt, sizeof(RwCachedRow));
	copy->cells = MemoryContextAlloc(cache->cxt, sizeof(RwCell) * width);
	copy->base = MemoryContextAlloc(cache->cxt, Max(size, 1));
	copy->next = NULL;
	p = copy->base;
	for (int c = 0; c < width; c++)
	{
		copy->cells[c] = row[c];
		if (row[c].len < 0)
			continue;
		copy->cells[c].off = (p - copy->base) + RW_TEXT_HEADER;
		memcpy(p + RW_TEXT_HEADER, batch->base + row[c].off, row[c].len + 1);
		p += MAXALIGN(RW_TEXT_HEADER + row[c].len + 1);
	}
	if (cache->tails[i])
		cache->tails[i]->next = copy;
	else
		cache->rows[i] = copy;
	cache->tails[i] = copy;
}

/*
 * The rows kept for the value p (len bytes): true with *rows the first of
 * them (NULL: the value has none), false when the value is not the cache's
 * to answer (not asked for, or its rows dropped).
 */
bool
rw_lookup_cache_rows(RwLookupCache *cache, const char *p, int64 len, RwCachedRow **rows)
{
	int			i = rw_value_find(cache->values, cache->nvalues, p, len);

	if (i < 0 || cache->dropped[i])
		return false;
	*rows = cache->rows[i];
	return true;
}

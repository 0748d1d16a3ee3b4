/*
 * ANALYZE of a Redis foreign table: a whole scan through the core (scan.c's,
 * as a query's, with the options of the role ANALYZE runs as: the table's
 * owner), a reservoir sample of its rows (as file_fdw's), and their number.
 */
#include "redis_wrapper.h"

#include "access/htup_details.h"
#include "commands/vacuum.h"
#include "utils/rel.h"
#include "utils/sampling.h"

/*
 * Keep a random sample of at most targrows of rel's rows in rows (Vitter's
 * algorithm Z, PostgreSQL's reservoir); *totalrows is how many there are.
 * Rows come in the source's order, so the sample is not sorted by position.
 */
static int
acquire_sample_rows(Relation rel, int elevel, HeapTuple *rows, int targrows,
					double *totalrows, double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	bool	   *isnull = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	ReservoirStateData rstate;
	double		rowstoskip = -1;
	int			numrows = 0;
	RwScanState *scan = rw_scan_table(rel);

	reservoir_init_selection_state(&rstate, targrows);
	*totalrows = 0;
	*totaldeadrows = 0;
	while (rw_scan_row(scan, values, isnull))
	{
		/* Throttled as any ANALYZE, and cancellable between rows. */
		vacuum_delay_point();
		if (numrows < targrows)
			rows[numrows++] = heap_form_tuple(tupdesc, values, isnull);
		else
		{
			/* Past the first targrows rows: replace a random one, now and then. */
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, *totalrows, targrows);
			if (rowstoskip <= 0)
			{
#if PG_VERSION_NUM >= 150000
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));
#else
				int			k = (int) (targrows * sampler_random_fract(rstate.randstate));
#endif

				heap_freetuple(rows[k]);
				rows[k] = heap_form_tuple(tupdesc, values, isnull);
			}
			rowstoskip -= 1;
		}
		*totalrows += 1;
	}
	rw_scan_end(scan);

	ereport(elevel,
			(errmsg("\"%s\": table contains %.0f rows, %d rows in sample",
					RelationGetRelationName(rel), *totalrows, numrows)));
	return numrows;
}

/*
 * Redis keys have no pages: one is reported, which PostgreSQL stores as
 * relpages and uses only to share a sample among an inheritance tree's
 * tables (a table of none would not be sampled).
 */
bool
redisAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
						 BlockNumber *totalpages)
{
	*func = acquire_sample_rows;
	*totalpages = 1;
	return true;
}

/*
 * Executing a scan: the core's scan is opened with the options of the role
 * the scan is checked as, its batches of row cells become tuples, and the
 * scan is released with the executor's memory, however the query ends.
 */
#include "redis_wrapper.h"

#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/rel.h"

typedef struct RwScanState
{
	void	   *scan;			/* the core's scan; NULL once released */
	RwTableOptions opts;
	int		   *attmap;			/* attribute index -> logical column, or -1 */
	bool		is_json[RW_MAX_COLUMNS];
	RwBatch		batch;
	int64		next_row;		/* next row of batch to return */
	bool		fetched;		/* batch holds the core's latest answer */
	const RwCell *row;			/* row being converted, for error context */
	MemoryContext row_cxt;		/* the current row's jsonb Datums */
	MemoryContextCallback release;
} RwScanState;

/*
 * The role whose user mapping and secrets a scan uses, as in postgres_fdw:
 * the one the table's permissions are checked as (a view's owner), else the
 * current user.
 */
static Oid
scan_user(ForeignScanState *node)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	Oid			userid;

#if PG_VERSION_NUM >= 160000
	userid = plan->checkAsUser;
#else
	userid = exec_rt_fetch(plan->scan.scanrelid, node->ss.ps.state)->checkAsUser;
#endif
	return OidIsValid(userid) ? userid : GetUserId();
}

static void
release_scan(void *arg)
{
	RwScanState *st = (RwScanState *) arg;

	if (st->scan)
		rw_scan_close(st->scan);
	st->scan = NULL;
}

void
redisBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	Relation	rel = node->ss.ss_currentRelation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	RwScanState *st;
	RwError		err;
	ListCell   *lc;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	st = palloc0(sizeof(RwScanState));
	rw_get_table_options(RelationGetRelid(rel), scan_user(node), &st->opts);
	st->attmap = palloc(sizeof(int) * Max(tupdesc->natts, 1));
	rw_map_columns(tupdesc, st->opts.relname, st->opts.spec.src_type, st->attmap);

	for (int c = 0; c < RW_MAX_COLUMNS; c++)
		st->is_json[c] = rw_column_is_json(st->opts.spec.src_type, c);
	foreach(lc, (List *) list_nth(plan->fdw_private, RwScanPrivateAttnos))
	{
		int			attno = lfirst_int(lc);

		for (int i = 0; i < tupdesc->natts; i++)
			if (st->attmap[i] >= 0 && (attno == 0 || attno == i + 1))
				st->opts.spec.want[st->attmap[i]] = 1;
	}
	st->opts.spec.conn_key = rw_connection_key(&st->opts);

	st->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "redis_wrapper row",
										ALLOCSET_SMALL_SIZES);
	rw_python_start();
	RW_CORE_CALL(rw_scan_open(&st->opts.spec, &st->scan, &err), &err,
				 st->opts.relname, st->opts.servername);

	/* However the query ends, the core's scan (and its socket) goes with it. */
	st->release.func = release_scan;
	st->release.arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &st->release);
	node->fdw_state = st;
}

/* Ask the core for the next batch. */
static void
fetch_batch(RwScanState *st)
{
	RwError		err;

	RW_CORE_CALL(rw_scan_next(st->scan, &st->batch, &err), &err,
				 st->opts.relname, st->opts.servername);
	st->next_row = 0;
	st->fetched = true;
}

static void
row_context(void *arg)
{
	RwScanState *st = (RwScanState *) arg;
	const RwCell *key = &st->row[RW_KEY_CELL];
	const char *shown = key->len >= 0 ?
		rw_shown(st->batch.base + key->off, key->len, RW_SHOWN_KEY_MAX) :
		rw_shown(st->opts.spec.key, strlen(st->opts.spec.key), RW_SHOWN_KEY_MAX);

	errcontext("Redis key \"%s\" read through foreign table \"%s\"", shown, st->opts.relname);
}

TupleTableSlot *
redisIterateForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	TupleDesc	tupdesc = slot->tts_tupleDescriptor;
	ErrorContextCallback context;
	MemoryContext old;

	ExecClearTuple(slot);
	/* Only jsonb Datums are allocated: text ones are the batch's own cells. */
	MemoryContextReset(st->row_cxt);
	while (!st->fetched || st->next_row >= st->batch.nrows)
	{
		if (st->fetched && st->batch.done)
			return slot;
		fetch_batch(st);
	}
	st->row = st->batch.cells + st->next_row * RW_CELLS_PER_ROW;
	st->next_row++;

	context.callback = row_context;
	context.arg = st;
	context.previous = error_context_stack;
	error_context_stack = &context;
	old = MemoryContextSwitchTo(st->row_cxt);
	for (int i = 0; i < tupdesc->natts; i++)
	{
		int			col = st->attmap[i];

		slot->tts_isnull[i] = col < 0 || st->row[col].len < 0;
		slot->tts_values[i] = slot->tts_isnull[i] ? (Datum) 0 :
			rw_cell_datum(st->batch.base, &st->row[col], st->is_json[col]);
	}
	MemoryContextSwitchTo(old);
	error_context_stack = context.previous;
	return ExecStoreVirtualTuple(slot);
}

void
redisReScanForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;

	rw_scan_rescan(st->scan);
	st->fetched = false;
	st->next_row = 0;
}

void
redisEndForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;

	if (st)
		release_scan(st);
}

void
redisExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;

	ExplainPropertyText("Redis Source",
						strVal(list_nth(plan->fdw_private, RwScanPrivateSource)), es);
}

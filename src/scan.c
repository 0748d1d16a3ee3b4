/*
 * Executing a scan: the core's scan is opened with the options of the role
 * the scan is checked as and the clauses the plan has Redis serve, its
 * batches of row cells become tuples, and the scan is released with the
 * executor's memory, however the query ends.
 */
#include "redis_wrapper.h"

#include "commands/explain.h"
#include "executor/executor.h"
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
	List	   *quals;			/* fdw_private's: the clauses Redis serves */
	List	   *params;			/* ExprStates of their values the executor computes */
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

/*
 * Open the core's scan with the clauses Redis serves, their parameters'
 * current values computed first (a nested loop's rescan changes them).
 * Called with the scan closed.
 */
static void
open_scan(ForeignScanState *node, RwScanState *st)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	RwQual	   *quals = palloc(sizeof(RwQual) * Max(list_length(st->quals), 1));
	MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	RwError		err;
	int			n = 0;
	ListCell   *lc;

	foreach(lc, st->quals)
	{
		List	   *qual = lfirst(lc);
		int			param = intVal(list_nth(qual, RwScanQualParam));
		List	   *values = list_nth(qual, RwScanQualValues);

		if (param >= 0)
		{
			bool		isnull;
			Datum		value = ExecEvalExpr(list_nth(st->params, param), econtext, &isnull);

			values = rw_qual_values(value, isnull, intVal(list_nth(qual, RwScanQualIsArray)));
		}
		quals[n].column = intVal(list_nth(qual, RwScanQualColumn));
		quals[n].op = intVal(list_nth(qual, RwScanQualOp));
		quals[n].values = rw_value_array(values, &quals[n].nvalues);
		n++;
	}
	MemoryContextSwitchTo(old);

	/* The values are borrowed while the core opens the scan, no longer. */
	st->opts.spec.quals = quals;
	st->opts.spec.nquals = n;
	RW_CORE_CALL(rw_scan_open(&st->opts.spec, &st->scan, &err), &err,
				 st->opts.relname, st->opts.servername);
	st->opts.spec.quals = NULL;
	st->opts.spec.nquals = 0;
	pfree(quals);
}

void
redisBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	Relation	rel = node->ss.ss_currentRelation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	RwScanState *st;
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

	st->quals = (List *) list_nth(plan->fdw_private, RwScanPrivateQuals);
	st->params = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);

	st->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "redis_wrapper row",
										ALLOCSET_SMALL_SIZES);
	rw_python_start();
	/* Parameters' values may not exist yet (a nested loop's): open at the first row then. */
	if (st->params == NIL)
		open_scan(node, st);

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
	if (st->scan == NULL)
		open_scan(node, st);
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

	/*
	 * New parameter values: a new scan, opened at the next row (on the pooled
	 * connection the old one leaves).
	 */
	if (st->params != NIL && node->ss.ps.chgParam != NULL)
		release_scan(st);
	else if (st->scan)
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
	/* What Redis is asked (rw_plan's words, never a secret), when it serves a clause */
	if (list_nth(plan->fdw_private, RwScanPrivateQuals) != NIL)
		ExplainPropertyText("Redis Command",
							strVal(list_nth(plan->fdw_private, RwScanPrivateCommand)), es);
}

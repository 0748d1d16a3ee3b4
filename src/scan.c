/*
 * Executing a scan: the core's scan is opened with the options of the role
 * the scan is checked as and the clauses the plan has Redis serve, its
 * batches of row cells become tuples, and the scan is released with the
 * executor's memory, however the query ends.  ANALYZE (analyze.c) reads a
 * table through the same functions.
 *
 * A pushed count(*) (planner.c's upper path) is a scan with no relation of
 * its own: the core's one row holds the count as decimal text, which becomes
 * the bigint of the plan's only scan column.
 *
 * A join's lookup scan under a Redis Prefetch node (prefetch.c) asks for the
 * values of a whole batch of outer rows at the first rescan that needs one of
 * them, keeps the rows (lookup_cache.c), and answers each rescan of the
 * batch from them; any value it cannot answer so is looked up alone.
 */
#include "redis_wrapper.h"

#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

struct RwScanState
{
	void	   *scan;			/* the core's scan; NULL once released */
	RwTableOptions opts;
	List	   *quals;			/* fdw_private's: the clauses Redis serves */
	List	   *params;			/* ExprStates of their values the executor computes */
	int			natts;			/* attributes of the tuples made */
	int		   *attmap;			/* attribute index -> logical column, or -1 */
	int			ncells;			/* cells per row: RW_CELLS_PER_ROW + fields */
	RwColumnType *types;		/* each logical column's type, by cell */
	RwBatch		batch;
	int64		next_row;		/* next row of batch to return */
	bool		fetched;		/* batch holds the core's latest answer */
	bool		counted;		/* a count_only scan returned its one row */
	const RwCell *row;			/* row being converted, for error context */
	MemoryContext row_cxt;		/* the current row's jsonb and typed Datums */
	MemoryContextCallback release;
	bool		opened;			/* a core scan was opened, for EXPLAIN ANALYZE */
	bool		requalify;		/* its parameters changed: new values at the next row */
	bool		async;			/* an async Append's: rows only as Redis's replies come */
	RwScanStats closed;			/* what the core scans released so far cost */
	/* a batched lookup (prefetch.c) */
	int			batch_qual;		/* the index in quals of the lookup clause, or -1 */
	int			batch_token;	/* the Redis Prefetch node's */
	EState	   *estate;			/* where that node publishes its batches */
	const RwOuterBatch *outer;	/* its batch, once found */
	RwLookupCache *cache;		/* the rows of the latest batch */
	bool		cached;			/* this rescan's rows come from the cache */
	RwCachedRow *cached_rows;	/* they are these */
	RwCachedRow *cached_next;	/* the next to return */
	int64		batches;		/* batches asked for, for EXPLAIN ANALYZE */
	int64		alone;			/* values looked up alone */
	char	   *row_base;		/* what row's cells are slices of */
};

/* Add what a scan cost to *total. */
static void
add_stats(void *scan, RwScanStats *total)
{
	RwScanStats stats;

	rw_scan_stats(scan, &stats);
	total->round_trips += stats.round_trips;
	total->commands += stats.commands;
	total->bytes_received += stats.bytes_received;
	total->keys += stats.keys;
}

static void
release_scan(void *arg)
{
	RwScanState *st = (RwScanState *) arg;

	if (st->scan)
	{
		/* a parameterized rescan reopens: EXPLAIN ANALYZE adds up every scan */
		add_stats(st->scan, &st->closed);
		rw_scan_close(st->scan);
	}
	st->scan = NULL;
}

/*
 * A scan of relid with userid's options, not yet open.  However the query
 * ends, the core's scan (and its socket) goes with the current memory context.
 */
static RwScanState *
create_scan(Oid relid, Oid userid)
{
	RwScanState *st = palloc0(sizeof(RwScanState));

	rw_connect_options(relid, userid, &st->opts);
	st->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "redis_wrapper row",
										ALLOCSET_SMALL_SIZES);
	st->batch_qual = -1;
	st->release.func = release_scan;
	st->release.arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &st->release);
	return st;
}

/* One bigint attribute, the count: column 0 of a count_only scan's one row. */
static void
count_columns(RwScanState *st)
{
	st->opts.spec.count_only = 1;
	st->natts = 1;
	st->attmap = palloc(sizeof(int));
	st->attmap[0] = 0;
	st->ncells = RW_CELLS_PER_ROW;
	st->types = palloc0(sizeof(RwColumnType) * st->ncells);
	st->types[0].kind = RW_KIND_INT8;
	st->types[0].form = RW_FORM_NATIVE;
}

/* Tuples of tupdesc, the core asked for the columns of attnos (0: all of them). */
static void
map_columns(RwScanState *st, TupleDesc tupdesc, List *attnos)
{
	ListCell   *lc;
	int		   *want_fields;

	st->natts = tupdesc->natts;
	st->attmap = palloc(sizeof(int) * Max(tupdesc->natts, 1));
	st->ncells = rw_table_columns(tupdesc, st->opts.relname, &st->opts.spec, st->attmap);
	st->types = rw_column_types(tupdesc, st->opts.spec.src_type, st->attmap, st->ncells);
	want_fields = palloc0(sizeof(int) * Max(st->opts.spec.nfields, 1));
	st->opts.spec.want_fields = want_fields;
	foreach(lc, attnos)
	{
		int			attno = lfirst_int(lc);

		for (int i = 0; i < tupdesc->natts; i++)
			if (st->attmap[i] >= 0 && (attno == 0 || attno == i + 1))
			{
				if (st->attmap[i] >= RW_FIELD_COLUMN)
					want_fields[st->attmap[i] - RW_FIELD_COLUMN] = 1;
				else
					st->opts.spec.want[st->attmap[i]] = 1;
			}
	}
	/*
	 * A conversion error of a typed column 1 or field names the row's column
	 * 0 (a hash value's field, a stream entry's id).
	 */
	for (int c = 1; c < st->ncells; c++)
		if (c != RW_KEY_CELL && st->types[c].form != RW_FORM_NATIVE &&
			(c < RW_FIELD_COLUMN ? st->opts.spec.want[c] : want_fields[c - RW_FIELD_COLUMN]))
			st->opts.spec.want[0] = 1;
}

/*
 * The clauses Redis serves (list_length(st->quals) of them), their
 * parameters' current values computed in econtext (a nested loop's rescan
 * changes them), in its per-tuple memory.
 */
static RwQual *
current_quals(RwScanState *st, ExprContext *econtext)
{
	MemoryContext old = econtext ?
		MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory) : CurrentMemoryContext;
	RwQual	   *quals = palloc(sizeof(RwQual) * Max(list_length(st->quals), 1));
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

			values = rw_qual_values(value, isnull, intVal(list_nth(qual, RwScanQualIsArray)),
									intVal(list_nth(qual, RwScanQualType)));
		}
		quals[n].column = intVal(list_nth(qual, RwScanQualColumn));
		quals[n].op = intVal(list_nth(qual, RwScanQualOp));
		quals[n].values = rw_value_array(values, &quals[n].nvalues);
		n++;
	}
	MemoryContextSwitchTo(old);
	return quals;
}

/*
 * Open the core's scan with quals, the clauses Redis serves.  With the scan
 * open (requalify), give it their new values instead: the same scan reads
 * again, on its connection.  The values are borrowed while the core opens
 * the scan, no longer.
 */
static void
send_quals(RwScanState *st, RwQual *quals)
{
	int			n = list_length(st->quals);
	RwError		err;

	if (st->scan)
		RW_CORE_CALL(rw_scan_requalify(st->scan, quals, n, &err), &err,
					 st->opts.relname, st->opts.servername);
	else
	{
		st->opts.spec.quals = quals;
		st->opts.spec.nquals = n;
		RW_CORE_CALL(rw_scan_open(&st->opts.spec, &st->scan, &err), &err,
					 st->opts.relname, st->opts.servername);
	}
	st->requalify = false;
	st->opened = true;
	st->fetched = false;		/* the scan starts again */
	st->next_row = 0;
	st->opts.spec.quals = NULL;
	st->opts.spec.nquals = 0;
}

static void
open_scan(RwScanState *st, ExprContext *econtext)
{
	send_quals(st, current_quals(st, econtext));
}

/* The range table entry a plan scans: a count's is the one relation it counts. */
static RangeTblEntry *
scan_rte(ForeignScan *plan, EState *estate)
{
	Index		rtindex = plan->scan.scanrelid;

	if (rtindex == 0)
#if PG_VERSION_NUM >= 160000
		rtindex = bms_next_member(plan->fs_base_relids, -1);
#else
		rtindex = bms_next_member(plan->fs_relids, -1);
#endif
	return exec_rt_fetch(rtindex, estate);
}

/*
 * The role whose user mapping and secrets a scan uses, as in postgres_fdw:
 * the one the table's permissions are checked as (a view's owner), else the
 * current user.
 */
static Oid
scan_user(ForeignScan *plan, RangeTblEntry *rte)
{
	Oid			userid;

#if PG_VERSION_NUM >= 160000
	userid = plan->checkAsUser;
#else
	userid = rte->checkAsUser;
#endif
	return OidIsValid(userid) ? userid : GetUserId();
}

void
redisBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	RangeTblEntry *rte;
	RwScanState *st;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	rte = scan_rte(plan, node->ss.ps.state);
	st = create_scan(rte->relid, scan_user(plan, rte));
	if (intVal(list_nth(plan->fdw_private, RwScanPrivateCount)))
		count_columns(st);
	else
		map_columns(st, RelationGetDescr(node->ss.ss_currentRelation),
					list_nth(plan->fdw_private, RwScanPrivateAttnos));
	/* The rows of an UPDATE's or DELETE's table: their values name them to Redis. */
	if (plan->scan.scanrelid > 0 &&
		list_member_int(node->ss.ps.state->es_plannedstmt->resultRelations, plan->scan.scanrelid))
		for (int c = 0; c < st->ncells; c++)
			st->types[c].identity = true;
	st->opts.spec.limit = intVal(list_nth(plan->fdw_private, RwScanPrivateLimit));
	st->opts.spec.reverse = intVal(list_nth(plan->fdw_private, RwScanPrivateReverse));
	st->quals = (List *) list_nth(plan->fdw_private, RwScanPrivateQuals);
	st->params = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);
	/* A lookup of a batch of outer rows' values: never with a limit, which would cut it */
	if (st->opts.spec.limit == 0)
		st->batch_qual = intVal(list_nth(plan->fdw_private, RwScanPrivateBatchQual));
	if (st->batch_qual >= 0)
	{
		st->batch_token = intVal(list_nth(plan->fdw_private, RwScanPrivateBatchToken));
		st->estate = node->ss.ps.state;
		st->cache = rw_lookup_cache_create();
	}
#if PG_VERSION_NUM >= 140000
	st->async = node->ss.ps.async_capable;
#endif

	/* Parameters' values may not exist yet (a nested loop's): open at the first row then. */
	if (st->params == NIL)
		open_scan(st, NULL);
	node->fdw_state = st;
}

/*
 * Ask the core for the next batch, waiting for it or (wait false) taking it
 * only if Redis has answered: false then when it has not.
 */
static bool
fetch_batch(RwScanState *st, bool wait)
{
	RwError		err;
	int			rc;

	while ((rc = wait ? rw_scan_next(st->scan, &st->batch, &err) :
			rw_scan_try_next(st->scan, &st->batch, &err)) == RW_INTERRUPTED)
		CHECK_FOR_INTERRUPTS();
	if (rc == RW_WOULD_BLOCK)
		return false;
	if (rc != RW_OK)
		rw_raise(&err, st->opts.relname, st->opts.servername);
	st->next_row = 0;
	st->fetched = true;
	return true;
}

/*
 * Fetch until a row is in hand or the scan is over (waiting for Redis, or,
 * wait false, only as far as its replies have come): false if one has not.
 */
static bool
row_or_end(RwScanState *st, bool wait)
{
	while (!st->fetched || (st->next_row >= st->batch.nrows && !st->batch.done))
		if (!fetch_batch(st, wait))
			return false;
	return true;
}

/* The scan has returned its last row. */
bool
rw_scan_over(RwScanState *st)
{
	return st->fetched && st->next_row >= st->batch.nrows && st->batch.done;
}

/*
 * An async scan that gave no row and is not over waits for Redis: the socket
 * its reply comes on, and (*wait_ms) for how long yet: -1 for ever, 0 over.
 */
int
rw_scan_wait_socket(RwScanState *st, int *wait_ms)
{
	return rw_scan_socket(st->scan, wait_ms);
}

static void
row_context(void *arg)
{
	RwScanState *st = (RwScanState *) arg;
	const RwCell *key = &st->row[RW_KEY_CELL];
	const char *shown = key->len >= 0 ?
		rw_shown(st->row_base + key->off, key->len, RW_SHOWN_KEY_MAX) :
		rw_shown(st->opts.spec.key, strlen(st->opts.spec.key), RW_SHOWN_KEY_MAX);

	errcontext("Redis key \"%s\" read through foreign table \"%s\"", shown, st->opts.relname);
}

/* A count_only scan's answer is not its one row: never take it for a count. */
static void
count_missing(RwScanState *st)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("redis_wrapper: the count of foreign table \"%s\" is not one row",
					st->opts.relname)));
}

/*
 * The next row's attributes into values and isnull (st->natts of each); false
 * after the last row.  Text Datums point into the core's batch (or the
 * cache's row), valid until the next call; others are allocated in the row's
 * own context.
 */
bool
rw_scan_row(RwScanState *st, Datum *values, bool *isnull)
{
	ErrorContextCallback context;
	MemoryContext old;

	/* Only jsonb and typed Datums are allocated: text ones are the batch's own cells. */
	MemoryContextReset(st->row_cxt);
	if (st->cached)
	{
		if (st->cached_next == NULL)
			return false;
		st->row_base = st->cached_next->base;
		st->row = st->cached_next->cells;
		st->cached_next = st->cached_next->next;
	}
	else
	{
		row_or_end(st, true);
		if (rw_scan_over(st))
		{
			if (st->opts.spec.count_only && !st->counted)
				count_missing(st);
			return false;
		}
		st->row_base = st->batch.base;
		st->row = st->batch.cells + st->next_row * st->batch.cells_per_row;
		st->next_row++;
	}

	context.callback = row_context;
	context.arg = st;
	context.previous = error_context_stack;
	error_context_stack = &context;
	old = MemoryContextSwitchTo(st->row_cxt);
	if (st->opts.spec.count_only)
	{
		/* its one row, the count in column 0 */
		if (st->counted || st->row[0].len < 0)
			count_missing(st);
		st->counted = true;
	}
	for (int i = 0; i < st->natts; i++)
	{
		int			col = st->attmap[i];

		isnull[i] = col < 0 || st->row[col].len < 0;
		if (!isnull[i])
			values[i] = rw_column_datum(st->types, st->row_base, st->row, col);
	}
	MemoryContextSwitchTo(old);
	error_context_stack = context.previous;
	return true;
}

/*
 * Ask the core for the lookups of every value of outer, the latest batch of
 * outer rows, in one go (quals being the clauses with this rescan's values),
 * and keep the rows.
 */
static void
fetch_outer_batch(RwScanState *st, RwQual *quals, const RwOuterBatch *outer)
{
	RwQual	   *lookup = &quals[st->batch_qual];
	RwQual		own = *lookup;

	lookup->values = outer->values;
	lookup->nvalues = outer->nvalues;
	send_quals(st, quals);
	*lookup = own;
	rw_lookup_cache_reset(st->cache, outer);
	do
	{
		fetch_batch(st, true);
		for (int64 r = 0; r < st->batch.nrows; r++)
			rw_lookup_cache_add(st->cache, &st->batch,
								st->batch.cells + r * st->batch.cells_per_row, st->opts.relname);
	} while (!st->batch.done);
	st->batches++;
}

/*
 * Serve this rescan from the outer rows' batch, when its one lookup value
 * is one of the batch's: from the rows kept, asking Redis first when they
 * are of an older batch.  A NULL (no value) finds no row, as its lookup
 * would.  False when the value must be looked up alone.
 */
static bool
serve_from_batch(RwScanState *st, RwQual *quals)
{
	const RwQual *lookup = &quals[st->batch_qual];
	const RwOuterBatch *outer;
	RwCachedRow *rows = NULL;

	if (st->outer == NULL)
		st->outer = rw_outer_batch(st->estate, st->batch_token);
	outer = st->outer;

	if (lookup->nvalues == 1 && outer != NULL && outer->generation != 0)
	{
		const RwValue *v = &lookup->values[0];

		if (st->cache->generation != outer->generation &&
			rw_value_find(outer->values, outer->nvalues, v->p, v->len) >= 0)
			fetch_outer_batch(st, quals, outer);
		if (st->cache->generation != outer->generation ||
			!rw_lookup_cache_rows(st->cache, v->p, v->len, &rows))
			return false;
	}
	else if (lookup->nvalues != 0)
		return false;
	st->cached_rows = st->cached_next = rows;
	return true;
}

/* Start reading with the clauses' current values: from a batch's rows, or from Redis. */
static void
start_scan(RwScanState *st, ExprContext *econtext)
{
	RwQual	   *quals = current_quals(st, econtext);

	st->requalify = false;
	st->cached = st->batch_qual >= 0 && serve_from_batch(st, quals);
	if (!st->cached)
	{
		if (st->batch_qual >= 0)
			st->alone++;
		send_quals(st, quals);
	}
}

TupleTableSlot *
redisIterateForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	ExecClearTuple(slot);
	if ((st->scan == NULL && !st->cached) || st->requalify)
		start_scan(st, node->ss.ps.ps_ExprContext);
	/* Read asynchronously: no row yet rather than a wait (async.c waits) */
	if (st->async && !row_or_end(st, false))
		return slot;
	if (!rw_scan_row(st, slot->tts_values, slot->tts_isnull))
		return slot;
	return ExecStoreVirtualTuple(slot);
}

void
redisReScanForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;

	/*
	 * New parameter values: given to the scan at the next row (when they are
	 * computed); the scan then starts again, as it does here otherwise.
	 */
	if (st->params != NIL && node->ss.ps.chgParam != NULL)
		st->requalify = true;
	else if (st->cached)
		st->cached_next = st->cached_rows;
	else if (st->scan)
		rw_scan_rescan(st->scan);
	st->fetched = false;
	st->counted = false;
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
	RwScanState *st = (RwScanState *) node->fdw_state;
	int			limit = intVal(list_nth(plan->fdw_private, RwScanPrivateLimit));

	ExplainPropertyText("Redis Source",
						strVal(list_nth(plan->fdw_private, RwScanPrivateSource)), es);
	/* What Redis is asked (rw_plan's words, never a secret), when it is not a plain scan */
	if (list_nth(plan->fdw_private, RwScanPrivateQuals) != NIL ||
		intVal(list_nth(plan->fdw_private, RwScanPrivateCount)))
		ExplainPropertyText("Redis Command",
							strVal(list_nth(plan->fdw_private, RwScanPrivateCommand)), es);
	if (limit > 0)
		ExplainPropertyInteger("Redis Limit", NULL, limit, es);
	if (intVal(list_nth(plan->fdw_private, RwScanPrivateReverse)))
		ExplainPropertyText("Redis Order", "descending (REV)", es);
	if (intVal(list_nth(plan->fdw_private, RwScanPrivateBatchQual)) >= 0)
		ExplainPropertyText("Redis Batched",
							psprintf("the values of up to %d outer rows per lookup", RW_BATCH_ROWS),
							es);

	/* What Redis did, for a scan that ran: of the scans a parameterized loop opened, all */
	if (es->analyze && st && st->opened)
	{
		RwScanStats stats = st->closed;

		if (st->scan)
			add_stats(st->scan, &stats);
		ExplainPropertyInteger("Redis Round Trips", NULL, stats.round_trips, es);
		ExplainPropertyInteger("Redis Commands", NULL, stats.commands, es);
		ExplainPropertyInteger("Redis Bytes Received", NULL, stats.bytes_received, es);
		ExplainPropertyInteger("Redis Keys", NULL, stats.keys, es);
	}
	if (es->analyze && st && st->batch_qual >= 0)
	{
		ExplainPropertyInteger("Redis Batches", NULL, st->batches, es);
		ExplainPropertyInteger("Redis Values Looked Up Alone", NULL, st->alone, es);
	}
}

/*
 * A whole scan of rel for ANALYZE, all its columns, open: with the current
 * user's options (ANALYZE runs as the table's owner).  rw_scan_row gives its
 * rows, rw_scan_end releases it (as does the end of the current memory context).
 */
RwScanState *
rw_scan_table(Relation rel)
{
	/*
	 * As the table's owner, as postgres_fdw's ANALYZE does: an inheritance
	 * parent's ANALYZE (by its own owner, or autovacuum) reaches children
	 * owned by others, which must not be read with the parent owner's rights.
	 */
	RwScanState *st = create_scan(RelationGetRelid(rel), rel->rd_rel->relowner);

	map_columns(st, RelationGetDescr(rel), list_make1_int(0));
	open_scan(st, NULL);
	return st;
}

void
rw_scan_end(RwScanState *st)
{
	release_scan(st);
}

/*
 * How many rows the whole of relid holds, counted by Redis as userid
 * (planning's use_remote_estimate): a count_only scan without clauses.
 */
double
rw_scan_count(Oid relid, Oid userid)
{
	RwScanState *st = create_scan(relid, userid);
	Datum		count;
	bool		isnull;

	count_columns(st);
	open_scan(st, NULL);
	if (!rw_scan_row(st, &count, &isnull) || isnull)
		count_missing(st);
	release_scan(st);
	return (double) DatumGetInt64(count);
}

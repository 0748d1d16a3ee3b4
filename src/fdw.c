/*
 * redis_wrapper: the FDW handler, its planner and executor callbacks, and the
 * turning of the core's row cells into Datums.  Everything Redis happens in
 * the Cython core (scan_core.pyx), reached through core_api.h.
 */
#include "redis_wrapper.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(redis_fdw_handler);

/* Test-only fault injection (see tests); NULL or empty in normal use. */
char	   *rw_fault = NULL;

/* Rough planner figures: Redis is local-network fast, but every row crosses it. */
#define DEFAULT_ROWS 1000
#define STARTUP_COST 10.0
#define PER_ROW_COST 0.01

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

void
_PG_init(void)
{
	DefineCustomStringVariable("redis_wrapper.fault",
							   "Injects a failure into the scanning core (for tests).",
							   NULL, &rw_fault, "", PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("redis_wrapper");
#else
	EmitWarningsOnPlaceholders("redis_wrapper");
#endif
}

/* The core's UTF-8 text, escaped where the database encoding cannot hold it. */
static const char *
in_encoding(const char *s)
{
	int			len = strlen(s);

	return pg_verify_mbstr(GetDatabaseEncoding(), s, len, true) ? s : rw_shown(s, len, len * 4);
}

void
rw_raise(const RwError *err, const char *relname, const char *servername)
{
	int			code;

	switch (err->kind)
	{
		case RW_ERR_CONNECT:
			code = ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
			break;
		case RW_ERR_AUTH:
			code = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
			break;
		case RW_ERR_IO:
		case RW_ERR_TIMEOUT:
			code = ERRCODE_CONNECTION_FAILURE;
			break;
		case RW_ERR_PROTOCOL:
			code = ERRCODE_PROTOCOL_VIOLATION;
			break;
		case RW_ERR_REDIS:
			code = ERRCODE_FDW_ERROR;
			break;
		case RW_ERR_WRONG_TYPE:
			code = ERRCODE_WRONG_OBJECT_TYPE;
			break;
		case RW_ERR_BAD_OPTION:
			code = ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE;
			break;
		case RW_ERR_OUT_OF_MEMORY:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case RW_ERR_PRIVILEGE:
			code = ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED;
			break;
		case RW_ERR_TOO_LARGE:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", in_encoding(err->message)),
			 err->detail[0] ? errdetail_internal("%s", in_encoding(err->detail)) : 0,
			 err->hint[0] ? errhint("%s", in_encoding(err->hint)) : 0,
			 relname ? errcontext("foreign table \"%s\" on server \"%s\"", relname, servername) : 0));
}

/* ---------------------------------------------------------------- planner */

static void
redisGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	RwTableOptions opts;
	Relation	rel;

	/* Wrong columns are reported now, before any Redis traffic. */
	rw_get_table_options(foreigntableid, InvalidOid, &opts);
	rel = table_open(foreigntableid, NoLock);
	rw_map_columns(RelationGetDescr(rel), opts.relname, opts.spec.src_type, NULL);
	table_close(rel, NoLock);

	baserel->rows = DEFAULT_ROWS;
}

static void
redisGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	Cost		total = STARTUP_COST + baserel->rows * PER_ROW_COST;

	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 STARTUP_COST, total, NIL,
									 baserel->lateral_relids, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

/* fdw_private: the attribute numbers the query reads (0 for a whole-row reference). */
static ForeignScan *
redisGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
					ForeignPath *best_path, List *tlist, List *scan_clauses,
					Plan *outer_plan)
{
	Bitmapset  *used = NULL;
	List	   *attnos = NIL;
	ListCell   *lc;
	int			i = -1;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &used);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, baserel->relid, &used);
	while ((i = bms_next_member(used, i)) >= 0)
		attnos = lappend_int(attnos, i + FirstLowInvalidHeapAttributeNumber);

	scan_clauses = extract_actual_clauses(scan_clauses, false);
	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL,
							list_make1(attnos), NIL, NIL, outer_plan);
}

/* --------------------------------------------------------------- executor */

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

static void
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
	foreach(lc, (List *) linitial(plan->fdw_private))
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

static TupleTableSlot *
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

static void
redisReScanForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;

	rw_scan_rescan(st->scan);
	st->fetched = false;
	st->next_row = 0;
}

static void
redisEndForeignScan(ForeignScanState *node)
{
	RwScanState *st = (RwScanState *) node->fdw_state;

	if (st)
		release_scan(st);
}

static void
redisExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	RwTableOptions opts;
	char	   *source;

	rw_get_table_options(RelationGetRelid(node->ss.ss_currentRelation), InvalidOid, &opts);
	source = psprintf("%s \"%s\"", rw_src_type_name(opts.spec.src_type), opts.spec.key);
	ExplainPropertyText("Redis Source", source, es);
}

Datum
redis_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = redisGetForeignRelSize;
	routine->GetForeignPaths = redisGetForeignPaths;
	routine->GetForeignPlan = redisGetForeignPlan;
	routine->BeginForeignScan = redisBeginForeignScan;
	routine->IterateForeignScan = redisIterateForeignScan;
	routine->ReScanForeignScan = redisReScanForeignScan;
	routine->EndForeignScan = redisEndForeignScan;
	routine->ExplainForeignScan = redisExplainForeignScan;
	PG_RETURN_POINTER(routine);
}

/*
 * Batched lookups for nested loops.  A join whose inner side is a
 * parameterized scan of ours, looking up one value per outer row (a hash
 * field, a member, a key: what the core calls a keyed lookup), costs a Redis
 * round trip per outer row.  set_join_pathlist_hook adds, beside the
 * planner's own paths, a nested loop whose outer side goes through a "Redis
 * Prefetch" CustomScan: it reads up to RW_BATCH_ROWS outer rows ahead, keeps
 * them in order, and publishes the distinct lookup values they give; the
 * inner ForeignScan, a copy of the parameterized path marked batched (its
 * rescans cost a share of a round trip), asks for all of them at once and
 * answers each rescan of the batch from the rows that came back (scan.c).
 * The NestLoop stays PostgreSQL's own: join types, join clauses and
 * projection are its, and every rescan returns the rows a lookup of its value
 * alone would.
 *
 * The two nodes meet through their EState and a token the planner gave both:
 * a backend-local list of the batches published, each entry living in its
 * query's memory and leaving the list with it, however the query ends.
 */
#include "redis_wrapper.h"

#include <math.h>

#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "utils/memutils.h"

/* CustomScan.custom_private, by index; custom_exprs holds the value computed of each outer row */
enum PrefetchPrivateIndex
{
	PrefetchPrivateType,		/* Integer: the value's type, as the scan's qual has it */
	PrefetchPrivateToken,		/* Integer: names this node to the scan */
	PrefetchPrivateRows			/* Integer: outer rows per batch */
};

/* ---------- the batches published, by EState and token ---------- */

typedef struct Published
{
	EState	   *estate;
	int			token;
	RwOuterBatch batch;
	struct Published *next;
	MemoryContextCallback forget;
} Published;

static Published *published = NULL;

static void
forget_published(void *arg)
{
	Published **p = &published;

	while (*p && *p != arg)
		p = &(*p)->next;
	if (*p)
		*p = (*p)->next;
}

static RwOuterBatch *
publish(EState *estate, int token)
{
	Published  *p = MemoryContextAllocZero(estate->es_query_cxt, sizeof(Published));

	p->estate = estate;
	p->token = token;
	p->forget.func = forget_published;
	p->forget.arg = p;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &p->forget);
	p->next = published;
	published = p;
	return &p->batch;
}

/* The batch the Redis Prefetch node of token publishes in estate, or NULL. */
RwOuterBatch *
rw_outer_batch(EState *estate, int token)
{
	for (Published *p = published; p; p = p->next)
		if (p->estate == estate && p->token == token)
			return &p->batch;
	return NULL;
}

/* ---------- execution ---------- */

typedef struct PrefetchState
{
	CustomScanState css;
	PlanState  *outer;
	ExprState  *value;			/* the lookup value of an outer row */
	Oid			type;
	int			max_rows;
	MemoryContext rows_cxt;		/* the rows and values of the batch */
	MinimalTuple *rows;
	int			nrows;
	int			next;			/* the next row to return */
	bool		done;			/* the outer side returned its last row */
	TupleTableSlot *row_slot;	/* a kept row, deformed into the scan slot */
	RwOuterBatch *batch;
	int64		batches;		/* for EXPLAIN ANALYZE */
} PrefetchState;

static Node *create_prefetch_state(CustomScan *cscan);
static void begin_prefetch(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_prefetch(CustomScanState *node);
static void end_prefetch(CustomScanState *node);
static void rescan_prefetch(CustomScanState *node);
static void explain_prefetch(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomScanMethods prefetch_scan_methods = {
	.CustomName = "Redis Prefetch",
	.CreateCustomScanState = create_prefetch_state,
};

static const CustomExecMethods prefetch_exec_methods = {
	.CustomName = "Redis Prefetch",
	.BeginCustomScan = begin_prefetch,
	.ExecCustomScan = exec_prefetch,
	.EndCustomScan = end_prefetch,
	.ReScanCustomScan = rescan_prefetch,
	.ExplainCustomScan = explain_prefetch,
};

static Node *
create_prefetch_state(CustomScan *cscan)
{
	PrefetchState *ps = palloc0(sizeof(PrefetchState));

	NodeSetTag(ps, T_CustomScanState);
	ps->css.methods = &prefetch_exec_methods;
	return (Node *) ps;
}

static void
begin_prefetch(CustomScanState *node, EState *estate, int eflags)
{
	PrefetchState *ps = (PrefetchState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;

	ps->outer = ExecInitNode(linitial(cscan->custom_plans), estate, eflags);
	node->custom_ps = list_make1(ps->outer);
	ps->value = ExecInitExpr(linitial(cscan->custom_exprs), &node->ss.ps);
	ps->type = intVal(list_nth(cscan->custom_private, PrefetchPrivateType));
	ps->max_rows = intVal(list_nth(cscan->custom_private, PrefetchPrivateRows));
	ps->rows_cxt = AllocSetContextCreate(estate->es_query_cxt, "redis_wrapper prefetch",
										 ALLOCSET_DEFAULT_SIZES);
	ps->rows = palloc(sizeof(MinimalTuple) * ps->max_rows);
	ps->row_slot = ExecInitExtraTupleSlot(estate, node->ss.ss_ScanTupleSlot->tts_tupleDescriptor,
										  &TTSOpsMinimalTuple);
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		ps->batch = publish(estate, intVal(list_nth(cscan->custom_private, PrefetchPrivateToken)));
}

/*
 * Kept row i as the node's scan slot, which expressions compiled for this
 * node expect (a virtual one): its values point into the row, valid until
 * the next batch.
 */
static TupleTableSlot *
scan_row(PrefetchState *ps, int i)
{
	TupleTableSlot *scan = ps->css.ss.ss_ScanTupleSlot;
	int			natts = scan->tts_tupleDescriptor->natts;

	ExecStoreMinimalTuple(ps->rows[i], ps->row_slot, false);
	slot_getallattrs(ps->row_slot);
	ExecClearTuple(scan);
	memcpy(scan->tts_values, ps->row_slot->tts_values, sizeof(Datum) * natts);
	memcpy(scan->tts_isnull, ps->row_slot->tts_isnull, sizeof(bool) * natts);
	return ExecStoreVirtualTuple(scan);
}

/* A new batch, no rows yet: the scan's rows kept are of an older one. */
static void
new_batch(PrefetchState *ps)
{
	MemoryContextReset(ps->rows_cxt);
	ps->nrows = ps->next = 0;
	ps->batch->nvalues = 0;
	ps->batch->values = NULL;
	ps->batch->generation++;
}

/*
 * Read the next batch of outer rows (at most max_rows, and within work_mem)
 * and publish their distinct lookup values.  False when there are none.
 */
static bool
read_batch(PrefetchState *ps)
{
	ExprContext *econtext = ps->css.ss.ps.ps_ExprContext;
	RwValue    *values;
	int			nvalues = 0;

	new_batch(ps);
	values = MemoryContextAlloc(ps->rows_cxt, sizeof(RwValue) * ps->max_rows);
	while (ps->nrows < ps->max_rows && !ps->done)
	{
		TupleTableSlot *slot = ExecProcNode(ps->outer);
		MemoryContext old;
		Datum		value;
		bool		isnull;
		List	   *text;

		if (TupIsNull(slot))
		{
			ps->done = true;
			break;
		}
		old = MemoryContextSwitchTo(ps->rows_cxt);
		ps->rows[ps->nrows] = ExecCopySlotMinimalTuple(slot);
		MemoryContextSwitchTo(old);

		/* The value as the scan computes it: its qual's text, none for NULL */
		ResetExprContext(econtext);
		econtext->ecxt_scantuple = scan_row(ps, ps->nrows);
		value = ExecEvalExprSwitchContext(ps->value, econtext, &isnull);
		old = MemoryContextSwitchTo(ps->rows_cxt);
		text = rw_qual_values(value, isnull, false, ps->type);
		MemoryContextSwitchTo(old);
		if (text != NIL)
		{
			values[nvalues].p = strVal(linitial(text));
			values[nvalues].len = strlen(values[nvalues].p);
			nvalues++;
		}
		ps->nrows++;
		if (MemoryContextMemAllocated(ps->rows_cxt, true) > (Size) work_mem * 1024)
			break;
	}
	qsort(values, nvalues, sizeof(RwValue), rw_value_cmp);
	ps->batch->nvalues = 0;
	for (int i = 0; i < nvalues; i++)
		if (i == 0 || rw_value_cmp(&values[i - 1], &values[i]) != 0)
			values[ps->batch->nvalues++] = values[i];
	ps->batch->values = values;
	if (ps->nrows > 0)
		ps->batches++;
	return ps->nrows > 0;
}

static TupleTableSlot *
exec_prefetch(CustomScanState *node)
{
	PrefetchState *ps = (PrefetchState *) node;
	ProjectionInfo *project = node->ss.ps.ps_ProjInfo;
	TupleTableSlot *slot;

	if (ps->next == ps->nrows && (ps->done || !read_batch(ps)))
		return NULL;
	slot = scan_row(ps, ps->next++);
	if (project == NULL)
		return slot;
	ResetExprContext(project->pi_exprContext);
	project->pi_exprContext->ecxt_scantuple = slot;
	return ExecProject(project);
}

static void
end_prefetch(CustomScanState *node)
{
	ExecEndNode(((PrefetchState *) node)->outer);
}

/* From the start again: the outer side too, and a new batch. */
static void
rescan_prefetch(CustomScanState *node)
{
	PrefetchState *ps = (PrefetchState *) node;

	if (node->ss.ps.chgParam != NULL)
		UpdateChangedParamSet(ps->outer, node->ss.ps.chgParam);
	if (ps->outer->chgParam == NULL)
		ExecReScan(ps->outer);
	ps->done = false;
	new_batch(ps);
}

static void
explain_prefetch(CustomScanState *node, List *ancestors, ExplainState *es)
{
	PrefetchState *ps = (PrefetchState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;

	ExplainPropertyInteger("Redis Batch Rows", NULL,
						   intVal(list_nth(cscan->custom_private, PrefetchPrivateRows)), es);
	if (es->analyze)
		ExplainPropertyInteger("Redis Batches", NULL, ps->batches, es);
}

/* ---------- planning ---------- */

static set_join_pathlist_hook_type prev_join_pathlist_hook = NULL;
static int	last_token = 0;

static Plan *
plan_prefetch(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path, List *tlist,
			  List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);
	Plan	   *outer = linitial(custom_plans);

	/* The outer plan checks its relation's clauses; this node only passes its rows on. */
	cscan->scan.plan.targetlist = tlist;
	cscan->scan.scanrelid = 0;
	cscan->flags = best_path->flags;
	cscan->custom_plans = custom_plans;
	cscan->custom_exprs = list_make1(copyObject(linitial(best_path->custom_private)));
	cscan->custom_private = list_copy_tail(best_path->custom_private, 1);
	cscan->custom_scan_tlist = copyObject(outer->targetlist);
	cscan->methods = &prefetch_scan_methods;
	return &cscan->scan.plan;
}

static const CustomPathMethods prefetch_path_methods = {
	.CustomName = "Redis Prefetch",
	.PlanCustomPath = plan_prefetch,
};

/* Is rel a foreign table of ours, a relation of the query itself? */
static bool
is_ours(RelOptInfo *rel)
{
	return rel->reloptkind == RELOPT_BASEREL && rel->rtekind == RTE_RELATION &&
		rel->fdwroutine != NULL && rel->fdwroutine->GetForeignPaths == redisGetForeignPaths &&
		rel->fdw_private != NULL;
}

/*
 * The value an outer row gives inner's lookup, when inner, a parameterized
 * scan of innerrel, could serve a batch of outer's rows: its one join clause
 * Redis serves is the core's keyed lookup of one value, computed from what
 * outer's rows hold.  NULL when not.
 */
static Expr *
outer_value(PlannerInfo *root, RelOptInfo *innerrel, Path *outer, ForeignPath *inner, Oid *type)
{
	RwRelInfo  *info = (RwRelInfo *) innerrel->fdw_private;
	ParamPathInfo *ppi = inner->path.param_info;
	RestrictInfo *keyed;
	RwClause	c;
	ListCell   *lc;

	if (ppi == NULL || list_length(inner->fdw_private) != RwPathPrivateToken ||
		(keyed = list_nth(inner->fdw_private, RwPathPrivateKeyed)) == NULL ||
		!list_member_ptr(ppi->ppi_clauses, keyed) ||
		!bms_is_subset(ppi->ppi_req_outer, outer->parent->relids))
		return NULL;
	foreach(lc, (List *) list_nth(inner->fdw_private, RwPathPrivatePushed))
		if (lfirst(lc) != keyed && list_member_ptr(ppi->ppi_clauses, lfirst(lc)))
			return NULL;		/* another join clause: its values change with each row */
	if (!rw_clause(root, innerrel, &info->cols, keyed, &c) || c.param == NULL || c.is_array)
		return NULL;
	/* the Vars it needs must be in the rows the outer path returns */
	foreach(lc, pull_var_clause((Node *) c.param, PVC_INCLUDE_PLACEHOLDERS))
		if (!list_member(outer->pathtarget->exprs, lfirst(lc)))
			return NULL;
	*type = c.type;
	return c.param;
}

/*
 * Outer's rows through a Redis Prefetch node: the same rows in the same
 * order, read a batch ahead (its startup cost includes the first batch).
 */
static Path *
prefetch_path(Path *outer, Expr *value, Oid type, int token)
{
	CustomPath *path = makeNode(CustomPath);
	double		ahead = Min(1.0, RW_BATCH_ROWS / Max(outer->rows, 1.0));

	path->path.pathtype = T_CustomScan;
	path->path.parent = outer->parent;
	path->path.pathtarget = outer->pathtarget;
	path->path.rows = outer->rows;
	path->path.startup_cost = outer->startup_cost + (outer->total_cost - outer->startup_cost) * ahead;
	path->path.total_cost = outer->total_cost + cpu_tuple_cost * outer->rows;
	path->path.pathkeys = outer->pathkeys;
	path->custom_paths = list_make1(outer);
	path->custom_private = list_make4(value, makeInteger(type), makeInteger(token),
									  makeInteger(RW_BATCH_ROWS));
	path->methods = &prefetch_path_methods;
	return &path->path;
}

/* inner, each rescan costing its share of a batch's one round trip. */
static Path *
batched_path(ForeignPath *inner, double outer_rows, int token)
{
	ForeignPath *path = makeNode(ForeignPath);
	double		rows = Max(outer_rows, 1.0);
	Cost		startup = RW_STARTUP_COST * ceil(rows / RW_BATCH_ROWS) / rows;

	memcpy(path, inner, sizeof(ForeignPath));
	path->path.startup_cost = startup;
	path->path.total_cost = inner->path.total_cost - inner->path.startup_cost + startup;
	path->fdw_private = lappend(list_copy(inner->fdw_private), makeInteger(token));
	return &path->path;
}

static void
add_batched_joins(PlannerInfo *root, RelOptInfo *joinrel, RelOptInfo *outerrel,
				  RelOptInfo *innerrel, JoinType jointype, JoinPathExtraData *extra)
{
	Path	   *outer = outerrel->cheapest_total_path;
	ListCell   *lc;

	if (prev_join_pathlist_hook)
		prev_join_pathlist_hook(root, joinrel, outerrel, innerrel, jointype, extra);
	if (!rw_pushdown || !is_ours(innerrel) || !bms_is_empty(innerrel->lateral_relids) ||
		outer == NULL || outer->param_info != NULL ||
		!(jointype == JOIN_INNER || jointype == JOIN_LEFT || jointype == JOIN_SEMI ||
		  jointype == JOIN_ANTI))
		return;

	foreach(lc, innerrel->pathlist)
	{
		ForeignPath *inner = lfirst(lc);
		JoinCostWorkspace workspace;
		List	   *pathkeys;
		Path	   *prefetch;
		Path	   *batched;
		Expr	   *value;
		Oid			type;

		if (!IsA(inner, ForeignPath) ||
			(value = outer_value(root, innerrel, outer, inner, &type)) == NULL)
			continue;
		last_token = last_token % PG_INT32_MAX + 1;
		prefetch = prefetch_path(outer, value, type, last_token);
		batched = batched_path(inner, outer->rows, last_token);
		initial_cost_nestloop(root, &workspace, jointype, prefetch, batched, extra);
		pathkeys = build_join_pathkeys(root, joinrel, jointype, outer->pathkeys);
		if (!add_path_precheck(joinrel, workspace.startup_cost, workspace.total_cost, pathkeys,
							   NULL))
			continue;
		add_path(joinrel, (Path *) create_nestloop_path(root, joinrel, jointype, &workspace, extra,
														prefetch, batched, extra->restrictlist,
														pathkeys, NULL));
	}
}

void
rw_prefetch_init(void)
{
	prev_join_pathlist_hook = set_join_pathlist_hook;
	set_join_pathlist_hook = add_batched_joins;
	RegisterCustomScanMethods(&prefetch_scan_methods);
}

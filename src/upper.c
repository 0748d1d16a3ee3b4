/*
 * Work above a scan: what Redis can do for PostgreSQL there (count(*)), and
 * what the scan may know of it (a LIMIT).
 *
 * count(*) of a single foreign table of ours, with no other aggregate, no
 * grouping and no clause left to PostgreSQL, becomes one ForeignScan that asks
 * the core for count_only (how it counts is the core's choice):
 * the upper path of the grouping relation, as postgres_fdw's
 * add_foreign_grouping_paths.  planner.c makes its plan.
 *
 * A LIMIT is only a hint to the scan (RwScanSpec.limit), the Limit node stays
 * above it: it is given when nothing between the two could drop or reorder
 * rows, so the first limit rows of the scan are the ones the query returns.
 */
#include "redis_wrapper.h"

#include "catalog/pg_aggregate.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "utils/fmgroids.h"

#if PG_VERSION_NUM < 140000
#define F_COUNT_ 2803			/* count(*): PostgreSQL 13 names no aggregate's function */
#endif

/* Whether node is a plain count(*): no DISTINCT, ORDER BY or FILTER, not split. */
static bool
is_count_star(Node *node)
{
	Aggref	   *agg = (Aggref *) node;

	return IsA(node, Aggref) && agg->aggfnoid == F_COUNT_ && agg->aggstar &&
		agg->aggdistinct == NIL && agg->aggorder == NIL && agg->aggfilter == NULL &&
		agg->agglevelsup == 0 && agg->aggkind == AGGKIND_NORMAL &&
		agg->aggsplit == AGGSPLIT_SIMPLE;
}

/*
 * The count(*) a grouping's target computes, when that is all it aggregates
 * over the rows (no other aggregate, no column outside one, no grouping and no
 * HAVING); else NULL.  All of its count(*)s are equal, so one will do.
 */
static Aggref *
only_count_star(PlannerInfo *root, PathTarget *target)
{
	Query	   *parse = root->parse;
	Aggref	   *count = NULL;
	ListCell   *lc;

	if (!parse->hasAggs || parse->groupClause != NIL || parse->groupingSets != NIL ||
		parse->havingQual != NULL)
		return NULL;
	foreach(lc, pull_var_clause((Node *) target->exprs,
								PVC_INCLUDE_AGGREGATES | PVC_INCLUDE_WINDOWFUNCS |
								PVC_INCLUDE_PLACEHOLDERS))
	{
		if (!is_count_star(lfirst(lc)))
			return NULL;
		count = lfirst(lc);
	}
	return count;
}

void
redisGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
						  RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra)
{
	RwRelInfo  *info = (RwRelInfo *) input_rel->fdw_private;
	Aggref	   *count;
	List	   *pushed;
	double		rows;
	char	   *command;
	ListCell   *lc;
	Path	   *path;

	/* One table of ours, aggregated whole (not a partition's part of a sum). */
	if (stage != UPPERREL_GROUP_AGG || !rw_pushdown || output_rel->fdw_private != NULL ||
		input_rel->reloptkind != RELOPT_BASEREL || info == NULL ||
		((GroupPathExtraData *) extra)->patype != PARTITIONWISE_AGGREGATE_NONE)
		return;
	count = only_count_star(root, output_rel->reltarget);
	if (count == NULL)
		return;

	/* Every row the scan returns counts: no clause may be left to PostgreSQL. */
	pushed = rw_plan_clauses(root, input_rel, info, info->clauses, true, &rows, &command,
							 NULL);
	foreach(lc, input_rel->baserestrictinfo)
		if (!list_member_ptr(pushed, lfirst(lc)))
			return;

	/* One round trip, one row: cheaper than any scan the aggregate reads. */
	output_rel->fdw_private = input_rel;
	path = (Path *) create_foreign_upper_path(root, output_rel, output_rel->reltarget, 1,
											  RW_STARTUP_COST, RW_STARTUP_COST + RW_PER_ROW_COST,
											  NIL, NULL,
#if PG_VERSION_NUM >= 170000
											  NIL,
#endif
											  list_make3(pushed, makeString(command),
														 list_make1(makeTargetEntry((Expr *) count, 1,
																					NULL, false))));
	add_path(output_rel, path);
}

/* A LIMIT or OFFSET's value, when it is a constant (-1 when not, 0 when absent). */
static int64
constant_count(Node *node)
{
	if (node == NULL)
		return 0;
	if (!IsA(node, Const) || ((Const *) node)->constisnull)
		return -1;
	return DatumGetInt64(((Const *) node)->constvalue);
}

/*
 * RwScanSpec.limit for path's scan of baserel, local the clauses PostgreSQL
 * checks on its rows: LIMIT + OFFSET when the scan's rows reach the Limit node
 * as they come, else 0 (all rows).
 */
int
rw_limit_hint(PlannerInfo *root, RelOptInfo *baserel, ForeignPath *path, List *local)
{
	Query	   *parse = root->parse;
	int64		count = constant_count(parse->limitCount);
	int64		offset = constant_count(parse->limitOffset);

	/*
	 * grouping_planner sets limit_tuples only with no grouping, aggregate,
	 * DISTINCT, window function or set-returning function above the scan; a
	 * sort would need all rows (unless the scan's own order is the query's:
	 * then there is none), a filter drops some, and other relations (joins,
	 * appends) mix theirs in.
	 */
	if (!rw_pushdown || root->limit_tuples < 0 ||
		(parse->sortClause != NIL && path->path.pathkeys == NIL) ||
		parse->rowMarks != NIL || local != NIL || path->path.param_info != NULL ||
		baserel->reloptkind != RELOPT_BASEREL || !bms_equal(root->all_baserels, baserel->relids))
		return 0;
	/* Only a constant LIMIT (of a custom plan, a bound parameter's value) is known. */
	if (count <= 0 || offset < 0 || count > PG_INT32_MAX - offset)
		return 0;
	return (int) (count + offset);
}

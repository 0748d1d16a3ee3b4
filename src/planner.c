/*
 * Planning a scan of a Redis foreign table.  The relation's options are read
 * once, into the RwRelInfo kept in baserel->fdw_private; the plan carries what
 * the executor and EXPLAIN need in fdw_private, indexed by RwScanPrivateIndex.
 *
 * Restriction clauses that quals.c can state as RwQuals are offered to the
 * core's rw_plan, which says which of them Redis serves exactly; those leave
 * PostgreSQL's filter.  Join clauses it can state make parameterized paths
 * (as postgres_fdw's), for nested loops that look up each outer row's values.
 */
#include "redis_wrapper.h"

#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "foreign/fdwapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "port/pg_bitutils.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/*
 * redis_wrapper.pushdown: offer clauses, count(*) and LIMIT to Redis at all
 * (off: PostgreSQL filters and counts every row)
 */
bool		rw_pushdown = true;

void
rw_define_planner_gucs(void)
{
	DefineCustomBoolVariable("redis_wrapper.pushdown",
							 "Lets Redis serve the WHERE and join clauses, count(*) and LIMIT it can answer exactly.",
							 NULL, &rw_pushdown, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

static const char *const op_names[] = {"IN", "<", "<=", ">", ">=", "prefix"};

static char *
shown_value(Node *value)
{
	return rw_shown(strVal(value), strlen(strVal(value)), RW_SHOWN_KEY_MAX);
}

/* The offered clauses, for DEBUG1: what the core was asked to decide on. */
static void
debug_offer(RwRelInfo *info, List *clauses, uint64 pushed)
{
	const RwSourceInfo *source = rw_source_info(info->opts.spec.src_type);
	StringInfoData buf;
	ListCell   *lc;

	if (!message_level_is_interesting(DEBUG1) || clauses == NIL)
		return;
	initStringInfo(&buf);
	foreach(lc, clauses)
	{
		RwClause   *c = lfirst(lc);
		ListCell   *v;

		appendStringInfo(&buf, "%s%s %s ", buf.len ? "; " : "",
						 source->columns[c->column].name, op_names[c->op]);
		if (c->param)
			appendStringInfoString(&buf, c->op == RW_OP_EQ ? "(parameter)" : "parameter");
		else if (c->op == RW_OP_EQ)
		{
			appendStringInfoChar(&buf, '(');
			foreach(v, c->values)
				appendStringInfo(&buf, "%s'%s'", v == list_head(c->values) ? "" : ", ",
								 shown_value(lfirst(v)));
			appendStringInfoChar(&buf, ')');
		}
		else
			appendStringInfo(&buf, "'%s'", shown_value(linitial(c->values)));
	}
	elog(DEBUG1, "redis_wrapper: foreign table \"%s\" offers %d clauses: %s; Redis serves %d",
		 info->opts.relname, list_length(clauses), buf.data, pg_popcount64(pushed));
}

/*
 * Ask the core which of clauses (at most RW_MAX_QUALS) Redis serves exactly:
 * return their RestrictInfos, with the rows Redis would return and the
 * description of what it is asked, for a scan or, with count_only, a count of
 * its rows; and, when keyed is not NULL, the RestrictInfo of the lookup
 * whose values can be batched (RwPlanInfo.keyed), or NULL.
 */
List *
rw_plan_clauses(PlannerInfo *root, RelOptInfo *baserel, RwRelInfo *info, List *clauses,
				bool count_only, double *fetched, char **command, RestrictInfo **keyed)
{
	RwScanSpec	spec = info->opts.spec;
	RwQual		quals[RW_MAX_QUALS];
	RwPlanInfo	plan;
	RwError		err;
	List	   *pushed = NIL;
	int			n = 0;
	ListCell   *lc;

	foreach(lc, clauses)
	{
		RwClause   *c = lfirst(lc);

		if (n == RW_MAX_QUALS)
			break;
		quals[n].column = c->column;
		quals[n].op = c->op;
		quals[n].values = rw_value_array(c->values, &quals[n].nvalues);
		if (c->param)
			quals[n].nvalues = -1;
		n++;
	}
	spec.quals = quals;
	spec.nquals = n;
	spec.count_only = count_only;
	rw_python_start();
	RW_CORE_CALL(rw_plan(&spec, &plan, &err), &err, info->opts.relname, info->opts.servername);
	debug_offer(info, list_truncate(list_copy(clauses), n), plan.pushed);

	for (int i = 0; i < n; i++)
		if (plan.pushed & (UINT64CONST(1) << i))
			pushed = lappend(pushed, ((RwClause *) list_nth(clauses, i))->rinfo);
	/* A lookup's rows are the core's to say; a scan's, the table's share. */
	*fetched = plan.rows >= 0 ? Min(plan.rows, baserel->tuples) :
		baserel->tuples * clauselist_selectivity(root, pushed, baserel->relid, JOIN_INNER, NULL);
	*command = pstrdup(plan.description);
	if (keyed)
		*keyed = plan.keyed >= 0 && plan.keyed < n ?
			((RwClause *) list_nth(clauses, plan.keyed))->rinfo : NULL;
	return pushed;
}

/* Rows left once PostgreSQL filters the fetched ones by the clauses Redis does not serve. */
static double
filtered_rows(PlannerInfo *root, RelOptInfo *baserel, List *all, List *pushed, double fetched)
{
	return clamp_row_est(fetched * clauselist_selectivity(root, list_difference_ptr(all, pushed),
														  baserel->relid, JOIN_INNER, NULL));
}

void
redisGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	RwRelInfo  *info = palloc0(sizeof(RwRelInfo));
	double		remote_rows;
	Relation	rel;
	ListCell   *lc;
	int			i = -1;
	int		   *want_fields;

	/* Wrong columns are reported now, before any Redis traffic. */
	rw_get_table_options(foreigntableid, InvalidOid, &info->opts);
	rel = table_open(foreigntableid, NoLock);
	info->cols.src_type = info->opts.spec.src_type;
	info->cols.natts = RelationGetDescr(rel)->natts;
	info->cols.attmap = palloc(sizeof(int) * Max(info->cols.natts, 1));
	rw_table_columns(RelationGetDescr(rel), info->opts.relname, &info->opts.spec,
					 info->cols.attmap);
	table_close(rel, NoLock);
	want_fields = palloc0(sizeof(int) * Max(info->opts.spec.nfields, 1));
	info->opts.spec.want_fields = want_fields;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &info->attrs_used);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, baserel->relid,
					   &info->attrs_used);
	/* rw_plan may weigh which columns (and fields) are read, as the scan will */
	while ((i = bms_next_member(info->attrs_used, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;

		for (int a = 0; a < info->cols.natts; a++)
		{
			int			c = info->cols.attmap[a];

			if (c < 0 || (attno != 0 && attno != a + 1))
				continue;
			if (c >= RW_FIELD_COLUMN)
				want_fields[c - RW_FIELD_COLUMN] = 1;
			else
				info->opts.spec.want[c] = 1;
		}
	}

	/* Redis's count (use_remote_estimate), else ANALYZE's (pg_class.reltuples, -1 when it never ran) */
	remote_rows = rw_remote_rows(root, baserel, &info->opts, foreigntableid);
	if (remote_rows >= 0)
		baserel->tuples = remote_rows;
	else if (baserel->tuples < 0)
		baserel->tuples = RW_DEFAULT_ROWS;
	if (rw_pushdown)
		info->clauses = rw_restriction_clauses(root, baserel, &info->cols);
	info->pushed = rw_plan_clauses(root, baserel, info, info->clauses, false, &info->fetched,
								   &info->command, NULL);
	baserel->fdw_private = info;
	baserel->rows = filtered_rows(root, baserel, baserel->baserestrictinfo, info->pushed,
								  info->fetched);
}

/*
 * The query's order, when the scan's rows already come in it: ORDER BY the
 * column the source keeps in ascending order (a sorted set's score, a list's
 * index), alone, with its type's default btree order, or descending where
 * the source can read backwards (a sorted set).  The column is never NULL,
 * so where NULLs would go does not matter.  PostgreSQL then needs no sort,
 * and a LIMIT above reads only its rows (upper.c).
 */
static List *
source_order(PlannerInfo *root, RelOptInfo *baserel, RwRelInfo *info)
{
	const RwSourceInfo *source = rw_source_info(info->opts.spec.src_type);
	PathKey    *pk;
	ListCell   *lc;

	if (source->ordered_by < 0 || list_length(root->query_pathkeys) != 1)
		return NIL;
	pk = linitial(root->query_pathkeys);
	if (pk->pk_strategy != BTLessStrategyNumber &&
		!(pk->pk_strategy == BTGreaterStrategyNumber && source->reversible))
		return NIL;
	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = lfirst(lc);
		Var		   *var = (Var *) em->em_expr;

		if (IsA(var, Var) && var->varno == baserel->relid && var->varlevelsup == 0 &&
			var->varattno > 0 && var->varattno <= info->cols.natts &&
			info->cols.attmap[var->varattno - 1] == source->ordered_by &&
			pk->pk_opfamily == get_opclass_family(GetDefaultOpClass(var->vartype, BTREE_AM_OID)))
			return list_make1(pk);
	}
	return NIL;
}

/* Path fdw_private: RwPathPrivateIndex's pushed, command and keyed. */
static void
add_scan_path(PlannerInfo *root, RelOptInfo *baserel, double rows, double fetched,
			  Relids required_outer, List *pushed, const char *command, RestrictInfo *keyed)
{
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, rows,
									 RW_STARTUP_COST, RW_STARTUP_COST + fetched * RW_PER_ROW_COST,
									 source_order(root, baserel, (RwRelInfo *) baserel->fdw_private),
									 required_outer, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 list_make3(pushed, makeString(pstrdup(command)), keyed)));
}

/*
 * Could rinfo, a join clause, be served in a scan parameterized by the other
 * relations it names?  If so, add their ParamPathInfo to *ppis.
 */
static void
add_join_clause_ppi(PlannerInfo *root, RelOptInfo *baserel, RwRelInfo *info,
					RestrictInfo *rinfo, List **ppis)
{
	RwClause	c;
	Relids		required_outer;

	if (!join_clause_is_movable_to(rinfo, baserel) ||
		!rw_clause(root, baserel, &info->cols, rinfo, &c))
		return;
	required_outer = bms_del_member(bms_union(rinfo->clause_relids, baserel->lateral_relids),
									baserel->relid);
	if (!bms_is_empty(required_outer))
		*ppis = list_append_unique_ptr(*ppis,
									   get_baserel_parampathinfo(root, baserel, required_outer));
}

/* generate_implied_equalities_for_column's callback: one member of ours at a time */
typedef struct EcSearch
{
	Expr	   *current;		/* the member being made join clauses of */
	List	   *done;			/* members already done */
} EcSearch;

static bool
ec_next_member(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
			   EquivalenceMember *em, void *arg)
{
	EcSearch   *search = (EcSearch *) arg;

	if (search->current)
		return equal(em->em_expr, search->current);
	if (list_member(search->done, em->em_expr))
		return false;
	search->current = em->em_expr;
	return true;
}

/*
 * The outer relations a scan could be parameterized by: those of join
 * clauses quals.c can state, whether plain or implied by equivalence classes.
 */
static List *
parameterizations(PlannerInfo *root, RelOptInfo *baserel, RwRelInfo *info)
{
	List	   *ppis = NIL;
	ListCell   *lc;

	foreach(lc, baserel->joininfo)
		add_join_clause_ppi(root, baserel, info, lfirst(lc), &ppis);
	if (baserel->has_eclass_joins)
	{
		EcSearch	search = {NULL, NIL};

		for (;;)
		{
			List	   *clauses;

			search.current = NULL;
			clauses = generate_implied_equalities_for_column(root, baserel, ec_next_member,
															 &search,
															 baserel->lateral_referencers);
			if (search.current == NULL)
				break;
			foreach(lc, clauses)
				add_join_clause_ppi(root, baserel, info, lfirst(lc), &ppis);
			search.done = lappend(search.done, search.current);
		}
	}
	return ppis;
}

void
redisGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	RwRelInfo  *info = (RwRelInfo *) baserel->fdw_private;
	ListCell   *lc;

	add_scan_path(root, baserel, baserel->rows, info->fetched, baserel->lateral_relids,
				  info->pushed, info->command, NULL);
	if (!rw_pushdown)
		return;

	/* A parameterized path for each outer side whose join clauses Redis serves. */
	foreach(lc, parameterizations(root, baserel, info))
	{
		ParamPathInfo *ppi = lfirst(lc);
		List	   *join = NIL;
		List	   *pushed;
		double		fetched;
		char	   *command;
		RestrictInfo *keyed;
		ListCell   *cl;

		foreach(cl, ppi->ppi_clauses)
		{
			RwClause   *c = palloc(sizeof(RwClause));

			if (rw_clause(root, baserel, &info->cols, lfirst(cl), c))
				join = lappend(join, c);
		}
		pushed = rw_plan_clauses(root, baserel, info, list_concat_copy(join, info->clauses),
								 false, &fetched, &command, &keyed);
		if (list_length(list_difference_ptr(pushed, info->pushed)) == 0)
			continue;			/* no join clause served: a full scan each time */
		ppi->ppi_rows = filtered_rows(root, baserel,
									  list_concat_copy(baserel->baserestrictinfo,
													   ppi->ppi_clauses),
									  pushed, fetched);
		add_scan_path(root, baserel, ppi->ppi_rows, fetched, ppi->ppi_req_outer, pushed,
					  command, keyed);
	}
}

/* A pushed clause as fdw_private's list of RwScanQualIndex items; a param goes to *exprs. */
static List *
qual_private(RwClause *c, List **exprs)
{
	int			param = -1;

	if (c->param)
	{
		param = list_length(*exprs);
		*exprs = lappend(*exprs, c->param);
	}
	return lappend(list_make5(makeInteger(c->column), makeInteger(c->op), makeInteger(param),
							  makeInteger(c->is_array), c->values),
				   makeInteger(c->type));
}

/*
 * The plan of a scan path, or of upper.c's count(*) path: a scan of no
 * relation (scanrelid 0) whose fdw_scan_tlist is the count, of the relation
 * counted, all of whose clauses Redis serves.
 */
ForeignScan *
redisGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel, Oid foreigntableid,
					ForeignPath *best_path, List *tlist, List *scan_clauses,
					Plan *outer_plan)
{
	bool		count = IS_UPPER_REL(foreignrel);
	RelOptInfo *baserel = count ? (RelOptInfo *) foreignrel->fdw_private : foreignrel;
	RwRelInfo  *info = (RwRelInfo *) baserel->fdw_private;
	List	   *pushed = list_nth(best_path->fdw_private, RwPathPrivatePushed);
	/* a batched path's (prefetch.c): its lookup clause, and the prefetch node's token */
	bool		batched = !count && list_length(best_path->fdw_private) > RwPathPrivateToken;
	RestrictInfo *keyed = batched ? list_nth(best_path->fdw_private, RwPathPrivateKeyed) : NULL;
	int			batch_qual = -1;
	List	   *attnos = NIL;
	List	   *quals = NIL;
	List	   *exprs = NIL;
	List	   *local = NIL;
	List	   *private;
	ListCell   *lc;
	int			i = -1;

	if (count)
		scan_clauses = baserel->baserestrictinfo;
	else
		while ((i = bms_next_member(info->attrs_used, i)) >= 0)
			attnos = lappend_int(attnos, i + FirstLowInvalidHeapAttributeNumber);

	/* Clauses Redis serves go to the core, the others stay PostgreSQL's filter. */
	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		RwClause	c;

		if (rinfo->pseudoconstant)
			continue;			/* a gating Result checks those */
		if (list_member_ptr(pushed, rinfo) && rw_clause(root, baserel, &info->cols, rinfo, &c))
		{
			if (rinfo == keyed)
				batch_qual = list_length(quals);
			quals = lappend(quals, qual_private(&c, &exprs));
		}
		else
			local = lappend(local, rinfo->clause);
	}
	Assert(!count || local == NIL);

	private = list_make4(attnos,
						 makeString(psprintf("%s \"%s\"", rw_source_info(info->opts.spec.src_type)->name,
											 info->opts.spec.key)),
						 quals,
						 list_nth(best_path->fdw_private, RwPathPrivateCommand));
	private = lappend(private, makeInteger(count ? 0 : rw_limit_hint(root, baserel, best_path, local)));
	private = lappend(private, makeInteger(count));
	/* the path's order is source_order's: descending when it says so */
	private = lappend(private, makeInteger(best_path->path.pathkeys != NIL &&
										   ((PathKey *) linitial(best_path->path.pathkeys))->pk_strategy ==
										   BTGreaterStrategyNumber));
	private = lappend(private, makeInteger(batch_qual));
	private = lappend(private, makeInteger(batched ?
										   intVal(list_nth(best_path->fdw_private, RwPathPrivateToken)) : 0));
	return make_foreignscan(tlist, local, count ? 0 : baserel->relid, exprs, private,
							count ? lthird(best_path->fdw_private) : NIL, NIL, outer_plan);
}

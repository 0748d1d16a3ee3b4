/*
 * Planning a scan of a Redis foreign table.  The relation's options are read
 * once, into the RwRelInfo kept in baserel->fdw_private; the plan carries what
 * the executor and EXPLAIN need in fdw_private, indexed by RwScanPrivateIndex.
 */
#include "redis_wrapper.h"

#include "access/table.h"
#include "foreign/fdwapi.h"
#include "nodes/pg_list.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/rel.h"

/* Rough planner figures: Redis is local-network fast, but every row crosses it. */
#define DEFAULT_ROWS 1000
#define STARTUP_COST 10.0
#define PER_ROW_COST 0.01

/* Planner state of one foreign relation, as postgres_fdw's PgFdwRelationInfo. */
typedef struct RwRelInfo
{
	RwTableOptions opts;		/* without secrets: planning never connects */
	Bitmapset  *attrs_used;		/* attributes the query reads */
} RwRelInfo;

void
redisGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	RwRelInfo  *info = palloc0(sizeof(RwRelInfo));
	Relation	rel;
	ListCell   *lc;

	/* Wrong columns are reported now, before any Redis traffic. */
	rw_get_table_options(foreigntableid, InvalidOid, &info->opts);
	rel = table_open(foreigntableid, NoLock);
	rw_map_columns(RelationGetDescr(rel), info->opts.relname, info->opts.spec.src_type, NULL);
	table_close(rel, NoLock);

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &info->attrs_used);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, baserel->relid,
					   &info->attrs_used);
	baserel->fdw_private = info;
	baserel->rows = DEFAULT_ROWS;
}

void
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

ForeignScan *
redisGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
					ForeignPath *best_path, List *tlist, List *scan_clauses,
					Plan *outer_plan)
{
	RwRelInfo  *info = (RwRelInfo *) baserel->fdw_private;
	List	   *attnos = NIL;
	List	   *private;
	int			i = -1;

	while ((i = bms_next_member(info->attrs_used, i)) >= 0)
		attnos = lappend_int(attnos, i + FirstLowInvalidHeapAttributeNumber);
	private = list_make2(attnos,
						 makeString(psprintf("%s \"%s\"", rw_source_info(info->opts.spec.src_type)->name,
											 info->opts.spec.key)));

	scan_clauses = extract_actual_clauses(scan_clauses, false);
	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL,
							private, NIL, NIL, outer_plan);
}

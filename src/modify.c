/*
 * Writes: INSERT (also COPY FROM and rows routed to a foreign partition),
 * UPDATE, DELETE and TRUNCATE, in the manner of postgres_fdw.  Rows reach the
 * core as plain data (core_api.h's RwWriteRow): an UPDATE or DELETE names its
 * row by every column the table declares, as the scan read it (the row
 * identity columns added below); an INSERT gives the new row, an UPDATE the
 * columns it assigns.  The core chooses the Redis commands and applies a
 * statement's writes when its last modify of their connection ends, or, on a
 * transactional table, at commit (xact.c).  A modify goes with the executor's
 * memory: a statement that fails leaves its writes unapplied.
 */
#include "redis_wrapper.h"

#include "access/table.h"
#include "access/xact.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* ModifyTable.fdwPrivLists entries, by index: each an Integer */
enum RwModifyPrivateIndex
{
	RwModifyPrivateOp,			/* RwWriteOp */
	RwModifyPrivateSetMask,		/* RwModifySpec.set_mask */
	RwModifyPrivateSkip,		/* RwModifySpec.on_conflict_skip */
	RwModifyPrivateReturning,	/* RwModifySpec.returning */
	RwModifyPrivateSetFields	/* an Integer list: the field columns assigned
								 * (RwModifySpec.set_fields), by field index */
};

typedef struct RwModifyState RwModifyState;
struct RwModifyState
{
	void	   *modify;			/* the core's; NULL once released */
	RwTableOptions opts;
	RwModifySpec m;
	Relation	rel;
	int			ncells;			/* logical columns, as cells: RW_CELLS_PER_ROW + fields */
	int		   *attr;			/* each logical column's attribute index, or -1 */
	RwColumnType *types;		/* each logical column's type */
	AttrNumber *junk;			/* its row identity column in the plan's rows */
	bool		guard_unassigned;	/* UPDATE under a BEFORE trigger: the columns not
									 * assigned must be left alone by it */
	RwWriteRow *rows;			/* room for nrows rows */
	int			nrows;
	int			held;			/* single rows held for the core (hold_rows) */
	TupleTableSlot **written;	/* a batch's rows written, for the executor */
	MemoryContext row_cxt;		/* the rows' values, and RETURNING's jsonb */
	RwModifyState *routed;		/* rows routed into this UPDATE's table (INSERT) */
	MemoryContextCallback release;
};

static void
release_modify(void *arg)
{
	RwModifyState *st = (RwModifyState *) arg;

	if (st->modify)
		rw_modify_release(st->modify);
	st->modify = NULL;
}

/* RwModifySpec.set_fields of nfields fields, from the plan's list of those assigned. */
static const int *
field_flags(List *assigned, int nfields)
{
	int		   *flags;
	ListCell   *lc;

	if (nfields == 0)
		return NULL;
	flags = palloc0(sizeof(int) * nfields);
	foreach(lc, assigned)
		flags[intVal(lfirst(lc))] = 1;
	return flags;
}

/*
 * A modify of rel as userid, assigning set_fields (the plan's list).  The
 * core's modify goes with the current memory context, closed (its writes
 * applied) or not (dropped).
 */
static RwModifyState *
create_modify(Relation rel, Oid userid, const RwModifySpec *m, List *set_fields)
{
	RwModifyState *st = palloc0(sizeof(RwModifyState));
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int		   *attmap = palloc(sizeof(int) * Max(tupdesc->natts, 1));
	RwError		err;

	rw_connect_options(RelationGetRelid(rel), userid, &st->opts);
	st->m = *m;
	st->m.transactional = st->opts.transactional;
	st->m.level = GetCurrentTransactionNestLevel();
	st->rel = rel;
	st->ncells = rw_table_columns(tupdesc, st->opts.relname, &st->opts.spec, attmap);
	st->m.set_fields = field_flags(set_fields, st->opts.spec.nfields);
	st->types = rw_column_types(tupdesc, st->opts.spec.src_type, attmap, st->ncells);
	st->attr = palloc(sizeof(int) * st->ncells);
	st->junk = palloc0(sizeof(AttrNumber) * st->ncells);
	for (int c = 0; c < st->ncells; c++)
		st->attr[c] = -1;
	for (int i = 0; i < tupdesc->natts; i++)
		if (attmap[i] >= 0)
			st->attr[attmap[i]] = i;
	st->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "redis_wrapper write row",
										ALLOCSET_DEFAULT_SIZES);
	st->release.func = release_modify;
	st->release.arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &st->release);
	RW_CORE_CALL(rw_modify_open(&st->opts.spec, &st->m, &st->modify, &err), &err,
				 st->opts.relname, st->opts.servername);
	return st;
}

/* Hand n rows to the core; out: the rows as Redis will hold them, if m.returning. */
static void
write_rows(RwModifyState *st, int n, RwBatch *out)
{
	RwError		err;

	RW_CORE_CALL(rw_modify_rows(st->modify, st->rows, n, out, &err), &err,
				 st->opts.relname, st->opts.servername);
}

/* Every row is given: the core applies the writes (or queues them for commit). */
static void
finish_modify(RwModifyState *st)
{
	RwError		err;

	if (st->modify == NULL)
		return;
	if (st->held > 0)
	{
		write_rows(st, st->held, NULL);
		st->held = 0;
	}
	RW_CORE_CALL(rw_modify_close(st->modify, &err), &err, st->opts.relname, st->opts.servername);
	release_modify(st);
}

/* Room for n rows, cleared, their values' memory freed; in the row context from here. */
static MemoryContext
start_rows(RwModifyState *st, int n)
{
	int			nfields = st->opts.spec.nfields;
	MemoryContext old;

	if (n > st->nrows)
	{
		MemoryContext cxt = GetMemoryChunkContext(st);

		st->rows = MemoryContextAlloc(cxt, sizeof(RwWriteRow) * n);
		st->written = MemoryContextAlloc(cxt, sizeof(TupleTableSlot *) * n);
		st->nrows = n;
	}
	memset(st->rows, 0, sizeof(RwWriteRow) * n);
	MemoryContextReset(st->row_cxt);
	old = MemoryContextSwitchTo(st->row_cxt);
	if (nfields > 0)
		for (int i = 0; i < n; i++)
		{
			st->rows[i].field_before = palloc0(sizeof(RwValue) * nfields);
			st->rows[i].field_after = palloc0(sizeof(RwValue) * nfields);
		}
	return old;
}

/* Logical column c's value in row: as read (before) or to write (after). */
static RwValue *
row_value(RwWriteRow *row, bool after, int c)
{
	if (c >= RW_FIELD_COLUMN)
		return after ? &row->field_after[c - RW_FIELD_COLUMN] : &row->field_before[c - RW_FIELD_COLUMN];
	return after ? &row->after[c] : &row->before[c];
}

/* Whether an UPDATE assigns logical column c. */
static bool
assigned(const RwModifyState *st, int c)
{
	if (c >= RW_FIELD_COLUMN)
		return st->m.set_fields && st->m.set_fields[c - RW_FIELD_COLUMN];
	return (st->m.set_mask & (1 << c)) != 0;
}

/* The row's column 0 so far: a pattern table's Redis key, for messages. */
static const RwValue *
row_key(const RwWriteRow *row)
{
	return row->after[0].p ? &row->after[0] : &row->before[0];
}

/* Logical column c of slot's row (SQL NULL: p NULL), of the row row. */
static void
slot_value(RwModifyState *st, TupleTableSlot *slot, int c, const RwWriteRow *row,
		   RwValue *value)
{
	bool		isnull;
	Datum		datum = slot_getattr(slot, st->attr[c] + 1, &isnull);

	if (!isnull)
		rw_column_value(&st->types[c], datum, st->opts.relname, row_key(row), value);
}

/* The row as the scan read it, from the plan's row identity columns. */
static void
identity_values(RwModifyState *st, TupleTableSlot *planSlot, RwWriteRow *row)
{
	for (int c = 0; c < st->ncells; c++)
	{
		bool		isnull;
		Datum		datum;

		if (st->attr[c] < 0)
			continue;
		datum = ExecGetJunkAttribute(planSlot, st->junk[c], &isnull);
		if (!isnull)
			rw_column_value(&st->types[c], datum, st->opts.relname, row_key(row),
							row_value(row, false, c));
	}
}

/* slot := row i of out (in the row context: jsonb Datums are made there). */
static void
store_row(RwModifyState *st, RwBatch *out, int i, TupleTableSlot *slot)
{
	TupleDesc	tupdesc = slot->tts_tupleDescriptor;
	const RwCell *cells = out->cells + (int64) i * out->cells_per_row;

	ExecClearTuple(slot);
	for (int a = 0; a < tupdesc->natts; a++)
		slot->tts_isnull[a] = true;
	for (int c = 0; c < st->ncells; c++)
	{
		int			a = st->attr[c];

		if (a < 0 || cells[c].len < 0)
			continue;
		slot->tts_isnull[a] = false;
		slot->tts_values[a] = rw_column_datum(st->types, out->base, cells, c);
	}
	ExecStoreVirtualTuple(slot);
}

/* The row's outcome: NULL when the core skipped it, so that it is not counted. */
static TupleTableSlot *
row_result(RwModifyState *st, RwBatch *out, TupleTableSlot *slot)
{
	if (!st->rows[0].written)
		return NULL;
	if (st->m.returning)
		store_row(st, out, 0, slot);
	return slot;
}

/*
 * Row identity columns: every column the table declares, as the scan reads
 * it.  Their names tell apart whatever a Var's equality does, so that the
 * children of one inheritance tree share a column only where it is the same
 * Var (PostgreSQL refuses one name for two different Vars).
 */
static char *
identity_name(Form_pg_attribute att)
{
	return psprintf("redis_wrapper_%d_%u_%u", att->attnum, att->atttypid, att->attcollation);
}

#if PG_VERSION_NUM >= 140000
void
redisAddForeignUpdateTargets(PlannerInfo *root, Index rtindex, RangeTblEntry *target_rte,
							 Relation target_relation)
#else
void
redisAddForeignUpdateTargets(Query *parsetree, RangeTblEntry *target_rte,
							 Relation target_relation)
#endif
{
	TupleDesc	tupdesc = RelationGetDescr(target_relation);

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		Var		   *var;

		if (att->attisdropped)
			continue;
#if PG_VERSION_NUM >= 140000
		var = makeVar(rtindex, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
		add_row_identity_var(root, var, rtindex, identity_name(att));
#else
		var = makeVar(parsetree->resultRelation, att->attnum, att->atttypid, att->atttypmod,
					  att->attcollation, 0);
		parsetree->targetList = lappend(parsetree->targetList,
										makeTargetEntry((Expr *) var,
														list_length(parsetree->targetList) + 1,
														identity_name(att), true));
#endif
	}
}

static bool
after_row_trigger(TriggerDesc *trigdesc, CmdType operation)
{
	if (trigdesc == NULL)
		return false;
	return operation == CMD_INSERT ? trigdesc->trig_insert_after_row :
		operation == CMD_UPDATE ? trigdesc->trig_update_after_row :
		trigdesc->trig_delete_after_row;
}

/* ON CONFLICT DO NOTHING skips a row that exists; nothing else reaches a foreign table. */
static bool
on_conflict_skip(OnConflictAction action)
{
	if (action != ONCONFLICT_NONE && action != ONCONFLICT_NOTHING)
		elog(ERROR, "unexpected ON CONFLICT specification: %d", (int) action);
	return action == ONCONFLICT_NOTHING;
}

static int
op_of(CmdType operation)
{
	switch (operation)
	{
		case CMD_INSERT:
			return RW_WRITE_INSERT;
		case CMD_UPDATE:
			return RW_WRITE_UPDATE;
		case CMD_DELETE:
			return RW_WRITE_DELETE;
		default:
			elog(ERROR, "unexpected operation: %d", (int) operation);
	}
	return -1;					/* not reached */
}

/*
 * An UPDATE's assigned attributes as logical columns (bit c for column c), and
 * in *fields the field columns assigned (their field indexes).
 */
static int
set_mask(PlannerInfo *root, Index resultRelation, Relation rel, List **fields)
{
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int		   *attmap = palloc(sizeof(int) * Max(tupdesc->natts, 1));
	RwTableOptions opts;
	Bitmapset  *updated;
	int			mask = 0;
	int			col = -1;

#if PG_VERSION_NUM >= 150000
	updated = get_rel_all_updated_cols(root, find_base_rel(root, resultRelation));
#else
	updated = bms_union(rte->updatedCols, rte->extraUpdatedCols);
#endif
	rw_get_table_options(rte->relid, InvalidOid, &opts);
	rw_map_columns(tupdesc, opts.relname, opts.spec.src_type, attmap);
	while ((col = bms_next_member(updated, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

		if (attno <= InvalidAttrNumber)
			elog(ERROR, "system-column update is not supported");
		if (attmap[attno - 1] >= RW_FIELD_COLUMN)
			*fields = lappend(*fields, makeInteger(attmap[attno - 1] - RW_FIELD_COLUMN));
		else
			mask |= 1 << attmap[attno - 1];
	}
	return mask;
}

List *
redisPlanForeignModify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
					   int subplan_index)
{
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel = table_open(rte->relid, NoLock);
	int			mask = 0;
	List	   *fields = NIL;
	bool		returning;

	if (plan->operation == CMD_UPDATE)
		mask = set_mask(root, resultRelation, rel, &fields);
	/* The row as Redis will hold it is wanted for RETURNING, a view's check, AFTER triggers. */
	returning = (plan->returningLists && list_nth(plan->returningLists, subplan_index) != NIL) ||
		(plan->withCheckOptionLists && list_nth(plan->withCheckOptionLists, subplan_index) != NIL) ||
		after_row_trigger(rel->trigdesc, plan->operation);
	table_close(rel, NoLock);
	return lappend(list_make4(makeInteger(op_of(plan->operation)), makeInteger(mask),
							  makeInteger(on_conflict_skip(plan->onConflictAction)),
							  makeInteger(returning)), fields);
}

static void
private_spec(List *fdw_private, RwModifySpec *m)
{
	memset(m, 0, sizeof(*m));
	m->op = intVal(list_nth(fdw_private, RwModifyPrivateOp));
	m->set_mask = intVal(list_nth(fdw_private, RwModifyPrivateSetMask));
	m->on_conflict_skip = intVal(list_nth(fdw_private, RwModifyPrivateSkip));
	m->returning = intVal(list_nth(fdw_private, RwModifyPrivateReturning));
}

/*
 * The role whose user mapping a write uses: the one the table's permissions
 * are checked as (a view's owner), else the current user, as postgres_fdw.
 */
static Oid
modify_user(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
#if PG_VERSION_NUM >= 160000
	return ExecGetResultRelCheckAsUser(rinfo, mtstate->ps.state);
#else
	/* a partition rows are routed to has no range table entry: its root's */
	Index		rti = rinfo->ri_RangeTableIndex ? rinfo->ri_RangeTableIndex :
		mtstate->resultRelInfo->ri_RangeTableIndex;
	Oid			userid = exec_rt_fetch(rti, mtstate->ps.state)->checkAsUser;

	return OidIsValid(userid) ? userid : GetUserId();
#endif
}

void
redisBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo, List *fdw_private,
						int subplan_index, int eflags)
{
	RwModifyState *st;
	RwModifySpec m;
	TriggerDesc *trigdesc = rinfo->ri_TrigDesc;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	private_spec(fdw_private, &m);
	st = create_modify(rinfo->ri_RelationDesc, modify_user(mtstate, rinfo), &m,
					   list_nth(fdw_private, RwModifyPrivateSetFields));
	if (m.op != RW_WRITE_INSERT)
	{
#if PG_VERSION_NUM >= 140000
		List	   *tlist = outerPlanState(mtstate)->plan->targetlist;
#else
		List	   *tlist = mtstate->mt_plans[subplan_index]->plan->targetlist;
#endif

		for (int c = 0; c < st->ncells; c++)
		{
			char	   *name;

			if (st->attr[c] < 0)
				continue;
			name = identity_name(TupleDescAttr(RelationGetDescr(st->rel), st->attr[c]));
			st->junk[c] = ExecFindJunkAttributeInTlist(tlist, name);
			if (!AttributeNumberIsValid(st->junk[c]))
				elog(ERROR, "could not find junk %s column", name);
		}
	}
	/* A BEFORE trigger may change any column: the columns not assigned must stay. */
	st->guard_unassigned = m.op == RW_WRITE_UPDATE && trigdesc && trigdesc->trig_update_before_row;
	rinfo->ri_FdwState = st;
}

/* The modify a row to insert goes to: an UPDATE's table has one of its own for routed rows. */
static RwModifyState *
insert_state(ResultRelInfo *rinfo)
{
	RwModifyState *st = (RwModifyState *) rinfo->ri_FdwState;

	return st->routed ? st->routed : st;
}

static void
insert_values(RwModifyState *st, TupleTableSlot *slot, RwWriteRow *row)
{
	for (int c = 0; c < st->ncells; c++)
		if (st->attr[c] >= 0)
			slot_value(st, slot, c, row, row_value(row, true, c));
}

/*
 * Rows given one at a time (COPY before PostgreSQL 16, INSERT ... VALUES,
 * PostgreSQL 13) whose outcome is not needed at once (no RETURNING, no ON
 * CONFLICT: the core writes every such row or fails the statement) are held
 * here and handed over batch_size at a time, as a batched INSERT's are.
 */
static bool
hold_rows(RwModifyState *st)
{
	return !st->m.returning && !st->m.on_conflict_skip && st->opts.batch_size > 1;
}

static void
hold_row(RwModifyState *st, TupleTableSlot *slot)
{
	MemoryContext old = st->held == 0 ? start_rows(st, st->opts.batch_size) :
		MemoryContextSwitchTo(st->row_cxt);
	RwWriteRow *row = &st->rows[st->held];

	insert_values(st, slot, row);
	/* Text values point into the slot, which the next row reuses. */
	for (int c = 0; c < st->ncells; c++)
	{
		RwValue    *v = row_value(row, true, c);

		if (st->attr[c] >= 0 && v->p != NULL && st->types[c].kind == RW_KIND_TEXT)
		{
			char	   *copy = palloc(Max(v->len, 1));

			memcpy(copy, v->p, v->len);
			v->p = copy;
		}
	}
	MemoryContextSwitchTo(old);
	if (++st->held == st->opts.batch_size)
	{
		write_rows(st, st->held, NULL);
		st->held = 0;
	}
}

TupleTableSlot *
redisExecForeignInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
					   TupleTableSlot *planSlot)
{
	RwModifyState *st = insert_state(rinfo);
	MemoryContext old;
	RwBatch		out;

	if (hold_rows(st))
	{
		hold_row(st, slot);
		return slot;
	}
	old = start_rows(st, 1);
	insert_values(st, slot, &st->rows[0]);
	write_rows(st, 1, &out);
	slot = row_result(st, &out, slot);
	MemoryContextSwitchTo(old);
	return slot;
}

#if PG_VERSION_NUM >= 140000
TupleTableSlot **
redisExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot **slots,
							TupleTableSlot **planSlots, int *numSlots)
{
	RwModifyState *st = insert_state(rinfo);
	int			n = *numSlots;
	MemoryContext old = start_rows(st, n);
	RwBatch		out;
	int			written = 0;

	for (int i = 0; i < n; i++)
		insert_values(st, slots[i], &st->rows[i]);
	write_rows(st, n, &out);
	/* The executor counts (and fires triggers for) the slots returned: the rows written. */
	for (int i = 0; i < n; i++)
		if (st->rows[i].written)
		{
			if (st->m.returning)
				store_row(st, &out, i, slots[i]);
			st->written[written++] = slots[i];
		}
	MemoryContextSwitchTo(old);
	*numSlots = written;
	return st->written;
}

/* As postgres_fdw: no batches where each row's outcome is wanted at once. */
int
redisGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	RwTableOptions opts;

	if (rinfo->ri_projectReturning != NULL || rinfo->ri_WithCheckOptions != NIL ||
		(rinfo->ri_TrigDesc && (rinfo->ri_TrigDesc->trig_insert_before_row ||
								rinfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;
	if (rinfo->ri_FdwState)
		return insert_state(rinfo)->opts.batch_size;
	/* EXPLAIN without ANALYZE opens no modify */
	rw_get_table_options(RelationGetRelid(rinfo->ri_RelationDesc), InvalidOid, &opts);
	return opts.batch_size;
}
#endif

TupleTableSlot *
redisExecForeignUpdate(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
					   TupleTableSlot *planSlot)
{
	RwModifyState *st = (RwModifyState *) rinfo->ri_FdwState;
	MemoryContext old = start_rows(st, 1);
	RwWriteRow *row = &st->rows[0];
	RwBatch		out;

	identity_values(st, planSlot, row);
	for (int c = 0; c < st->ncells; c++)
	{
		RwValue		now = {NULL, 0};
		RwValue    *before = row_value(row, false, c);

		if (st->attr[c] < 0)
			continue;
		if (assigned(st, c))
			slot_value(st, slot, c, row, row_value(row, true, c));
		else if (st->guard_unassigned)
		{
			/* only what the UPDATE assigns is written: nothing else may change */
			slot_value(st, slot, c, row, &now);
			if ((now.p == NULL) != (before->p == NULL) || now.len != before->len ||
				(now.p && memcmp(now.p, before->p, now.len) != 0))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("a BEFORE UPDATE trigger changed column \"%s\" of foreign table \"%s\", which the UPDATE does not assign",
								NameStr(TupleDescAttr(RelationGetDescr(st->rel), st->attr[c])->attname),
								st->opts.relname),
						 errhint("Assign the column in the UPDATE itself.")));
		}
	}
	write_rows(st, 1, &out);
	slot = row_result(st, &out, slot);
	MemoryContextSwitchTo(old);
	return slot;
}

TupleTableSlot *
redisExecForeignDelete(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
					   TupleTableSlot *planSlot)
{
	RwModifyState *st = (RwModifyState *) rinfo->ri_FdwState;
	MemoryContext old = start_rows(st, 1);
	RwBatch		out;

	identity_values(st, planSlot, &st->rows[0]);
	write_rows(st, 1, &out);
	slot = row_result(st, &out, slot);
	MemoryContextSwitchTo(old);
	return slot;
}

void
redisEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	RwModifyState *st = (RwModifyState *) rinfo->ri_FdwState;

	if (st)
		finish_modify(st);
}

/* COPY FROM, and rows routed to a foreign partition. */
void
redisBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	ModifyTable *plan = (ModifyTable *) mtstate->ps.plan;	/* NULL for COPY */
	RwModifyState *updating = (RwModifyState *) rinfo->ri_FdwState;
	RwModifySpec m;
	RwModifyState *st;

	memset(&m, 0, sizeof(m));
	m.op = RW_WRITE_INSERT;
	m.on_conflict_skip = plan && on_conflict_skip(plan->onConflictAction);
	m.returning = rinfo->ri_returningList != NIL || rinfo->ri_WithCheckOptions != NIL ||
		after_row_trigger(rinfo->ri_TrigDesc, CMD_INSERT);
	st = create_modify(rinfo->ri_RelationDesc, modify_user(mtstate, rinfo), &m, NIL);
	/* An UPDATE moving rows between partitions may route some into a table it updates. */
	if (updating)
		updating->routed = st;
	else
		rinfo->ri_FdwState = st;
}

void
redisEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	finish_modify(insert_state(rinfo));
}

int
redisIsForeignRelUpdatable(Relation rel)
{
	return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
}

/* What Redis is asked (the core's words, never a secret), and when. */
void
redisExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo, List *fdw_private,
						  int subplan_index, ExplainState *es)
{
	RwModifyState *st = (RwModifyState *) rinfo->ri_FdwState;
	RwTableOptions opts;
	RwModifySpec m;
	char		description[512];
	RwError		err;

	if (st)
	{
		opts = st->opts;
		m = st->m;
	}
	else
	{
		TupleDesc	tupdesc = RelationGetDescr(rinfo->ri_RelationDesc);

		rw_get_table_options(RelationGetRelid(rinfo->ri_RelationDesc), InvalidOid, &opts);
		rw_table_columns(tupdesc, opts.relname, &opts.spec, palloc(sizeof(int) * Max(tupdesc->natts, 1)));
		private_spec(fdw_private, &m);
		m.set_fields = field_flags(list_nth(fdw_private, RwModifyPrivateSetFields), opts.spec.nfields);
		m.transactional = opts.transactional;
		m.level = GetCurrentTransactionNestLevel();
	}
	RW_CORE_CALL(rw_modify_describe(&opts.spec, &m, description, sizeof(description), &err),
				 &err, opts.relname, opts.servername);
	ExplainPropertyText("Redis Write", description, es);
#if PG_VERSION_NUM >= 140000
	if (es->verbose && rinfo->ri_BatchSize > 1)
		ExplainPropertyInteger("Redis Batch Size", NULL, rinfo->ri_BatchSize, es);
#endif
}

#if PG_VERSION_NUM >= 140000
/* Every table's writes queued first, so that those of one connection apply together. */
void
redisExecForeignTruncate(List *rels, DropBehavior behavior, bool restart_seqs)
{
	RwModifySpec m;
	List	   *modifies = NIL;
	ListCell   *lc;

	memset(&m, 0, sizeof(m));
	m.op = RW_WRITE_TRUNCATE;
	foreach(lc, rels)
		modifies = lappend(modifies, create_modify((Relation) lfirst(lc), GetUserId(), &m, NIL));
	foreach(lc, modifies)
		finish_modify((RwModifyState *) lfirst(lc));
}
#endif

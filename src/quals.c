/*
 * Restriction clauses as plain data (RwQual): only PostgreSQL facts, stated
 * exactly.  A clause is offered when its meaning is a set of strings the
 * column's value must be in, or a prefix it must start with, with no
 * collation subtleties:
 *
 *   col = v, v = col, col IN (...), col = ANY(array)   texteq, deterministic collation
 *   col LIKE 'prefix%'                                  textlike, deterministic collation
 *   col < v, <=, >, >= (and commuted)                   text_lt..., the C collation (byte order)
 *
 * where col is a text column of the foreign table and v is computable once per
 * scan: no Var of the foreign table, nothing volatile, no subplan (a Const, a
 * Param, or, for a join clause, the outer relation's columns).  Which of them
 * Redis serves is the core's business.
 */
#include "redis_wrapper.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

/* Equality and LIKE only say "these bytes" when the collation is deterministic. */
static bool
is_deterministic(Oid collid)
{
	return OidIsValid(collid) && get_collation_isdeterministic(collid);
}

/*
 * Text comparisons follow byte order under the C (or POSIX) collation, named
 * as such: a database whose default collation is C is not recognised, which
 * only means fewer offers (pg_locale.h, which could tell, needs ICU's headers).
 */
static bool
is_byte_order(Oid collid)
{
	return collid == C_COLLATION_OID || collid == POSIX_COLLATION_OID;
}

/* The RwOperator of a text operator's function under collid, or -1. */
static int
operator_of(Oid opno, Oid collid)
{
	switch (get_opcode(opno))
	{
		case F_TEXTEQ:
			return is_deterministic(collid) ? RW_OP_EQ : -1;
		case F_TEXTLIKE:
			return is_deterministic(collid) ? RW_OP_PREFIX : -1;
		case F_TEXT_LT:
			return is_byte_order(collid) ? RW_OP_LT : -1;
		case F_TEXT_LE:
			return is_byte_order(collid) ? RW_OP_LE : -1;
		case F_TEXT_GT:
			return is_byte_order(collid) ? RW_OP_GT : -1;
		case F_TEXT_GE:
			return is_byte_order(collid) ? RW_OP_GE : -1;
		default:
			return -1;
	}
}

/* v op col is col commuted(op) v. */
static int
commuted(int op)
{
	switch (op)
	{
		case RW_OP_LT:
			return RW_OP_GT;
		case RW_OP_LE:
			return RW_OP_GE;
		case RW_OP_GT:
			return RW_OP_LT;
		case RW_OP_GE:
			return RW_OP_LE;
		default:
			return op;
	}
}

/* The logical column that e, a text column of the foreign table, is; or -1. */
static int
column_of(RelOptInfo *baserel, const RwRelColumns *cols, Expr *e)
{
	Var		   *var;

	/* A COLLATE clause or a cast to a binary-compatible type. */
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (!e || !IsA(e, Var))
		return -1;
	var = (Var *) e;
	if (var->varno != baserel->relid || var->varlevelsup != 0 || var->vartype != TEXTOID ||
		var->varattno <= 0 || var->varattno > cols->natts)
		return -1;
	return cols->attmap[var->varattno - 1];
}

/* Can the executor compute e once per scan, before reading any row? */
static bool
is_scan_constant(PlannerInfo *root, RelOptInfo *baserel, Expr *e)
{
	return !bms_is_member(baserel->relid, pull_varnos(root, (Node *) e)) &&
		!contain_volatile_functions((Node *) e) &&
		!contain_subplans((Node *) e);
}

/*
 * The literal prefix of a LIKE pattern made of one, unescaped, and a single
 * final %; NULL for any other pattern.  Backslash is LIKE's escape (an ESCAPE
 * clause has been folded into this form by then).  Bytes of multibyte
 * characters never equal %, _ or \ in a server encoding.
 */
static char *
like_prefix(const char *pattern)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *p = pattern; *p; p++)
	{
		if (*p == '%')
			return p[1] == '\0' ? buf.data : NULL;
		if (*p == '_')
			return NULL;
		if (*p == '\\' && *++p == '\0')
			return NULL;		/* LIKE rejects this pattern itself */
		appendStringInfoChar(&buf, *p);
	}
	return NULL;
}

static int
compare_strings(const ListCell *a, const ListCell *b)
{
	return strcmp(strVal(lfirst(a)), strVal(lfirst(b)));
}

/*
 * The values a text (or text array) Datum stands for, as a list of String:
 * none for NULL, an array's elements without its NULLs (col = NULL matches no
 * row), sorted by bytes and distinct, so the core never sees a duplicate.
 */
List *
rw_qual_values(Datum value, bool isnull, bool is_array)
{
	List	   *values = NIL;
	List	   *distinct = NIL;
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	ListCell   *lc;

	if (isnull)
		return NIL;
	if (!is_array)
		return list_make1(makeString(TextDatumGetCString(value)));

	/* text[], or an array of a binary-compatible type: the same storage */
	array = DatumGetArrayTypeP(value);
	deconstruct_array(array, ARR_ELEMTYPE(array), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			values = lappend(values, makeString(TextDatumGetCString(elems[i])));
	list_sort(values, compare_strings);
	foreach(lc, values)
		if (distinct == NIL || strcmp(strVal(llast(distinct)), strVal(lfirst(lc))) != 0)
			distinct = lappend(distinct, lfirst(lc));
	return distinct;
}

/* values (a list of String) as the RwValues of a qual. */
const RwValue *
rw_value_array(List *values, int *nvalues)
{
	RwValue    *array = palloc(sizeof(RwValue) * Max(list_length(values), 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, values)
	{
		array[i].p = strVal(lfirst(lc));
		array[i].len = strlen(array[i].p);
		i++;
	}
	*nvalues = i;
	return array;
}

/*
 * Fill *out with rinfo's clause as a qual on the foreign table, when it is one
 * of the shapes above; return whether it is.
 */
bool
rw_clause(PlannerInfo *root, RelOptInfo *baserel, const RwRelColumns *cols,
		  RestrictInfo *rinfo, RwClause *out)
{
	Expr	   *clause = rinfo->clause;
	List	   *args;
	Expr	   *value;
	bool		is_array;
	int			op;

	if (rinfo->pseudoconstant)
		return false;
	if (IsA(clause, OpExpr))
	{
		args = ((OpExpr *) clause)->args;
		op = operator_of(((OpExpr *) clause)->opno, ((OpExpr *) clause)->inputcollid);
		is_array = false;
	}
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr)
	{
		/* col = ANY(array): col IN (...) is this too */
		args = ((ScalarArrayOpExpr *) clause)->args;
		op = operator_of(((ScalarArrayOpExpr *) clause)->opno,
						 ((ScalarArrayOpExpr *) clause)->inputcollid);
		is_array = true;
		if (op != RW_OP_EQ)
			return false;
	}
	else
		return false;
	if (op < 0 || list_length(args) != 2)
		return false;

	out->rinfo = rinfo;
	out->op = op;
	out->is_array = is_array;
	out->param = NULL;
	out->values = NIL;
	out->column = column_of(baserel, cols, linitial(args));
	value = lsecond(args);
	if (out->column < 0 && !is_array && op != RW_OP_PREFIX)
	{
		out->column = column_of(baserel, cols, lsecond(args));
		out->op = commuted(op);
		value = linitial(args);
	}
	if (out->column < 0 || !is_scan_constant(root, baserel, value))
		return false;

	if (op == RW_OP_PREFIX)
	{
		char	   *prefix;

		if (!IsA(value, Const) || ((Const *) value)->constisnull)
			return false;
		prefix = like_prefix(TextDatumGetCString(((Const *) value)->constvalue));
		if (prefix == NULL)
			return false;
		out->values = list_make1(makeString(prefix));
	}
	else if (IsA(value, Const))
		out->values = rw_qual_values(((Const *) value)->constvalue,
									 ((Const *) value)->constisnull, is_array);
	else
		out->param = value;
	return true;
}

/* The offered clauses of baserel's restrictions, at most RW_MAX_QUALS of them. */
List *
rw_restriction_clauses(PlannerInfo *root, RelOptInfo *baserel, const RwRelColumns *cols)
{
	List	   *clauses = NIL;
	ListCell   *lc;

	foreach(lc, baserel->baserestrictinfo)
	{
		RwClause   *c = palloc(sizeof(RwClause));

		if (list_length(clauses) < RW_MAX_QUALS &&
			rw_clause(root, baserel, cols, lfirst_node(RestrictInfo, lc), c))
			clauses = lappend(clauses, c);
	}
	return clauses;
}

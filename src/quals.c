/*
 * Restriction clauses as plain data (RwQual): only PostgreSQL facts, stated
 * exactly.  A clause is offered when its meaning is a set of values the
 * column's value must be in, a bound it must keep, or a prefix it must start
 * with, with no collation subtleties:
 *
 *   col = v, v = col, col IN (...), col = ANY(array)   texteq, deterministic collation;
 *                                                       byteaeq, constants without NUL bytes
 *   col LIKE 'prefix%'                                  textlike, deterministic collation
 *   col < v, <=, >, >= (and commuted)                   text_lt..., the C collation (byte order)
 *   =, IN, <, <=, >, >= on a bigint column              int8eq..., int84 and int82 ones
 *   the same on a double precision column               float8eq..., float84 ones
 *
 * where col is a column of the foreign table, of its kind's own type (a text
 * column may also be varchar or bytea: their equality is the Redis strings';
 * an integer's is not, '01' = '1'), and v is computable once per scan: no Var of the foreign table, nothing volatile, no subplan (a Const, a
 * Param, or, for a join clause, the outer relation's columns).  BETWEEN is
 * two such clauses.  Values are text: a number as int8out or float8out
 * (shortest exact) would write it.  Which of them Redis serves is the core's
 * business.
 */
#include "redis_wrapper.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
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

/*
 * The comparison functions offered, each row by RwOperator (=, <, <=, >, >=):
 * text's first, then bytea's equality, then those whose one side is bigint or
 * double precision and the other a value of its family that PostgreSQL
 * compares exactly as such.
 */
static const Oid comparisons[][RW_OP_GE + 1] = {
	{F_TEXTEQ, F_TEXT_LT, F_TEXT_LE, F_TEXT_GT, F_TEXT_GE},
	{F_BYTEAEQ, InvalidOid, InvalidOid, InvalidOid, InvalidOid},
	{F_INT8EQ, F_INT8LT, F_INT8LE, F_INT8GT, F_INT8GE},
	{F_INT84EQ, F_INT84LT, F_INT84LE, F_INT84GT, F_INT84GE},
	{F_INT48EQ, F_INT48LT, F_INT48LE, F_INT48GT, F_INT48GE},
	{F_INT82EQ, F_INT82LT, F_INT82LE, F_INT82GT, F_INT82GE},
	{F_INT28EQ, F_INT28LT, F_INT28LE, F_INT28GT, F_INT28GE},
	{F_FLOAT8EQ, F_FLOAT8LT, F_FLOAT8LE, F_FLOAT8GT, F_FLOAT8GE},
	{F_FLOAT84EQ, F_FLOAT84LT, F_FLOAT84LE, F_FLOAT84GT, F_FLOAT84GE},
	{F_FLOAT48EQ, F_FLOAT48LT, F_FLOAT48LE, F_FLOAT48GT, F_FLOAT48GE},
};

/* The RwOperator of an operator's function under collid, or -1. */
static int
operator_of(Oid opno, Oid collid)
{
	Oid			func = get_opcode(opno);

	if (func == F_TEXTLIKE)
		return is_deterministic(collid) ? RW_OP_PREFIX : -1;
	for (int row = 0; row < lengthof(comparisons); row++)
		for (int op = RW_OP_EQ; op <= RW_OP_GE; op++)
			if (comparisons[row][op] == func && OidIsValid(func))
			{
				if (row > 0)
					return op;	/* bytes and numbers: no collation */
				if (op == RW_OP_EQ)
					return is_deterministic(collid) ? op : -1;
				return is_byte_order(collid) ? op : -1;
			}
	return -1;
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

/*
 * The logical column that e, a column of the foreign table compared as type,
 * is; or -1, also when that comparison is not one of its Redis strings (a
 * typed column's, but varchar's and bytea's).
 */
static int
column_of(RelOptInfo *baserel, const RwRelColumns *cols, Expr *e, Oid type)
{
	Var		   *var;
	int			col;

	/* A COLLATE clause or a cast to a binary-compatible type. */
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (!e || !IsA(e, Var))
		return -1;
	var = (Var *) e;
	if (var->varno != baserel->relid || var->varlevelsup != 0 ||
		var->varattno <= 0 || var->varattno > cols->natts)
		return -1;
	col = cols->attmap[var->varattno - 1];
	/* clauses on field columns stay PostgreSQL's */
	if (col < 0 || col >= RW_MAX_COLUMNS || !rw_string_equality(rw_column_kind(cols->src_type, col), var->vartype, type))
		return -1;
	return col;
}

/* Can the executor compute e once per scan, before reading any row? */
static bool
is_scan_constant(PlannerInfo *root, RelOptInfo *baserel, Expr *e)
{
#if PG_VERSION_NUM >= 140000
	return !bms_is_member(baserel->relid, pull_varnos(root, (Node *) e)) &&
#else
	return !bms_is_member(baserel->relid, pull_varnos((Node *) e)) &&
#endif
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

/*
 * How a qual's values are compared and written: as text (of text or of a
 * binary-compatible type), or as the int8 or float8 their type widens to
 * exactly (as the cross-type operators compare them).
 */
typedef enum ValueForm
{
	VALUE_TEXT,
	VALUE_INT8,
	VALUE_FLOAT8
} ValueForm;

static ValueForm
value_form(Oid type)
{
	switch (type)
	{
		case INT8OID:
		case INT4OID:
		case INT2OID:
			return VALUE_INT8;
		case FLOAT8OID:
		case FLOAT4OID:
			return VALUE_FLOAT8;
		default:
			return VALUE_TEXT;
	}
}

/* A float8 value, -0 as 0: equal for PostgreSQL and Redis, and then not a duplicate. */
static Datum
float_value(float8 f)
{
	return Float8GetDatum(f == 0 ? 0.0 : f);
}

/* A value of type as a Datum of its form: int8, float8 or a C string. */
static Datum
value_of(Datum value, Oid type)
{
	switch (type)
	{
		case INT8OID:
			return value;
		case INT4OID:
			return Int64GetDatum(DatumGetInt32(value));
		case INT2OID:
			return Int64GetDatum(DatumGetInt16(value));
		case FLOAT8OID:
			return float_value(DatumGetFloat8(value));
		case FLOAT4OID:
			return float_value(DatumGetFloat4(value));
		default:
			return CStringGetDatum(TextDatumGetCString(value));
	}
}

/* qsort_arg's comparison of values of the form *arg: bytes, or numbers as PostgreSQL orders them. */
static int
compare_values(const void *a, const void *b, void *arg)
{
	Datum		x = *(const Datum *) a;
	Datum		y = *(const Datum *) b;

	switch (*(const ValueForm *) arg)
	{
		case VALUE_INT8:
			return (DatumGetInt64(x) > DatumGetInt64(y)) - (DatumGetInt64(x) < DatumGetInt64(y));
		case VALUE_FLOAT8:
			return float8_cmp_internal(DatumGetFloat8(x), DatumGetFloat8(y));
		default:
			return strcmp(DatumGetCString(x), DatumGetCString(y));
	}
}

/*
 * A value's text: int8out's, or float8out's shortest exact one ("1.5",
 * "1e+20", "Infinity", "NaN") whatever extra_float_digits says.
 */
static char *
value_text(Datum value, ValueForm form)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	switch (form)
	{
		case VALUE_INT8:
			return psprintf(INT64_FORMAT, DatumGetInt64(value));
		case VALUE_FLOAT8:
			double_to_shortest_decimal_buf(DatumGetFloat8(value), buf);
			return pstrdup(buf);
		default:
			return DatumGetCString(value);
	}
}

/*
 * The values a Datum of type (or an array of them) stands for, as a list of
 * String: none for NULL, an array's elements without its NULLs (col = NULL
 * matches no row), distinct and in order (bytes for text, numbers' own),
 * so the core never sees a duplicate.
 */
List *
rw_qual_values(Datum value, bool isnull, bool is_array, Oid type)
{
	ValueForm	form = value_form(type);
	List	   *values = NIL;
	Datum	   *elems = &value;
	bool	   *nulls = &isnull;
	int			n = 1;
	int			kept = 0;

	if (isnull)
		return NIL;
	if (is_array)
	{
		/* of type, or for text of a binary-compatible type: as its own elements */
		ArrayType  *array = DatumGetArrayTypeP(value);
		int16		elmlen;
		bool		elmbyval;
		char		elmalign;

		get_typlenbyvalalign(ARR_ELEMTYPE(array), &elmlen, &elmbyval, &elmalign);
		deconstruct_array(array, ARR_ELEMTYPE(array), elmlen, elmbyval, elmalign,
						  &elems, &nulls, &n);
	}
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			elems[kept++] = value_of(elems[i], type);
	qsort_arg(elems, kept, sizeof(Datum), compare_values, &form);
	for (int i = 0; i < kept; i++)
		if (i == 0 || compare_values(&elems[i - 1], &elems[i], &form) != 0)
			values = lappend(values, makeString(value_text(elems[i], form)));
	return values;
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
 * Does a bytea Const (or an array of them) hold a NUL byte?  Values travel as
 * C strings, which cannot: such a clause stays PostgreSQL's, and so does a
 * bytea parameter, whose value is known too late to decide.
 */
static bool
holds_nul(Const *value, bool is_array)
{
	Datum	   *elems = &value->constvalue;
	bool	   *nulls = &value->constisnull;
	int			n = 1;

	if (is_array && !value->constisnull)
		deconstruct_array(DatumGetArrayTypeP(value->constvalue), BYTEAOID, -1, false,
						  TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		bytea	   *b;

		if (nulls[i])
			continue;
		b = DatumGetByteaPP(elems[i]);
		if (memchr(VARDATA_ANY(b), '\0', VARSIZE_ANY_EXHDR(b)) != NULL)
			return true;
	}
	return false;
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
	Oid			opno;
	Oid			left;
	Oid			right;
	int			op;

	if (rinfo->pseudoconstant)
		return false;
	if (IsA(clause, OpExpr))
	{
		args = ((OpExpr *) clause)->args;
		opno = ((OpExpr *) clause)->opno;
		op = operator_of(opno, ((OpExpr *) clause)->inputcollid);
		is_array = false;
	}
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr)
	{
		/* col = ANY(array): col IN (...) is this too */
		args = ((ScalarArrayOpExpr *) clause)->args;
		opno = ((ScalarArrayOpExpr *) clause)->opno;
		op = operator_of(opno, ((ScalarArrayOpExpr *) clause)->inputcollid);
		is_array = true;
		if (op != RW_OP_EQ)
			return false;
	}
	else
		return false;
	if (op < 0 || list_length(args) != 2)
		return false;

	/* the column is the side of its own type; the value's is the other's */
	op_input_types(opno, &left, &right);
	out->rinfo = rinfo;
	out->op = op;
	out->is_array = is_array;
	out->param = NULL;
	out->values = NIL;
	out->column = column_of(baserel, cols, linitial(args), left);
	out->type = right;
	value = lsecond(args);
	if (out->column < 0 && !is_array && op != RW_OP_PREFIX)
	{
		out->column = column_of(baserel, cols, lsecond(args), right);
		out->type = left;
		out->op = commuted(op);
		value = linitial(args);
	}
	if (out->column < 0 || !is_scan_constant(root, baserel, value))
		return false;
	if (out->type == BYTEAOID && (!IsA(value, Const) || holds_nul((Const *) value, is_array)))
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
									 ((Const *) value)->constisnull, is_array, out->type);
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

/*
 * Declarations shared by the PostgreSQL-side C files of redis_wrapper.
 * The boundary with the Cython core is core_api.h.
 */
#ifndef REDIS_WRAPPER_H
#define REDIS_WRAPPER_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "core_api.h"
#include "datatype/timestamp.h"

/*
 * One foreign table's effective options (option.c): what the core needs, as
 * the RwScanSpec handed to it, and what PostgreSQL-side code needs.  Strings
 * point into the catalog entries' option lists, palloc'd in the caller's context.
 */
typedef struct RwTableOptions
{
	RwScanSpec	spec;			/* url resolved from conn_url_id when set */
	char	   *relname;		/* NULL for a server's alone (IMPORT FOREIGN SCHEMA) */
	char	   *servername;
	Oid			serverid;
	Oid			userid;			/* the role connecting, or InvalidOid: planning only */
	Oid			umid;			/* the user mapping used, or InvalidOid */
	Oid			umuser;			/* its role, InvalidOid for PUBLIC's */
	int			batch_size;		/* rows per call of a batched INSERT */
	bool		transactional;	/* writes wait for the transaction's commit */
	bool		use_remote_estimate;	/* planning asks Redis for the table's size */
	bool		async_capable;	/* an Append may read it asynchronously (async.c) */
} RwTableOptions;

/* option.c */
extern void rw_get_table_options(Oid relid, Oid userid, RwTableOptions *opts);
extern void rw_connect_options(Oid relid, Oid userid, RwTableOptions *opts);
extern void rw_connect_server_options(Oid serverid, Oid userid, RwTableOptions *opts);
extern int	rw_option_whole(DefElem *def, int min, int max, const char *what);

/* cells.c */
extern Datum rw_cell_datum(char *base, const RwCell *cell, int kind);

/* values.c: a Datum (not NULL) of a column of kind as a value to write */
extern int64 rw_interval_ms(const Interval *span, const char *what);
extern void rw_datum_value(Datum datum, int kind, const char *column, const char *relname,
						   RwValue *value);

/* columns.c: the source types (the core's) and the columns each yields */
extern const RwSourceInfo *rw_source_info(int i);
extern Oid	rw_kind_type(int kind);
extern int	rw_column_kind(int src_type, int column);
extern int	rw_map_columns(TupleDesc tupdesc, const char *relname, int src_type,
						   int *attmap);
extern int	rw_table_columns(TupleDesc tupdesc, const char *relname, RwScanSpec *spec,
							 int *attmap);

/*
 * typed.c: a column of a type other than its kind's own (text, jsonb...), and
 * how its values cross between Redis strings and that type.
 */
typedef enum RwColumnForm
{
	RW_FORM_NATIVE = 0,			/* the kind's own type: cells.c and values.c */
	RW_FORM_BYTES,				/* bytea, or a domain over it: the raw bytes */
	RW_FORM_IO,					/* any other type: its input and output functions */
	RW_FORM_TEXT_ARRAY,			/* items as text[] */
	RW_FORM_BYTEA_ARRAY			/* items as bytea[] */
} RwColumnForm;

typedef struct RwColumnType
{
	int			kind;			/* RwColumnKind */
	int			form;			/* RwColumnForm */
	const char *name;			/* the logical column's name (the attribute's) */
	Oid			type;
	int32		typmod;
	char	   *typname;		/* for messages */
	FmgrInfo	in;				/* RW_FORM_IO */
	FmgrInfo	out;
	Oid			ioparam;
	bool		identity;		/* read for an UPDATE or DELETE, which names rows by
								 * their values' output: RW_FORM_IO strings must
								 * be that output */
	void	   *domain_extra;	/* RW_FORM_BYTES of a domain: domain_check's cache */
	MemoryContext mcxt;			/* where that cache lives */
} RwColumnType;

extern int	rw_typed_form(int kind, bool object_items, Oid type);
extern const char *rw_typed_detail(int kind, bool object_items);
extern void rw_typed_init(RwColumnType *t, Form_pg_attribute att, int form);
extern Datum rw_column_datum(RwColumnType *types, char *base, const RwCell *row, int col);
extern void rw_column_value(const RwColumnType *t, Datum datum, const char *relname,
							const RwValue *key, RwValue *value);

/* columns.c: the types of a table's logical columns; whether a clause's equality is Redis's */
extern RwColumnType *rw_column_types(TupleDesc tupdesc, int src_type, const int *attmap,
									 int ncells);
extern bool rw_string_equality(int kind, Oid vartype, Oid optype);

/* cells.c and values.c: the items of a text[] or bytea[] column */
extern Datum rw_bytes_datum(char *p, int64 len);
extern Datum rw_items_array_datum(const char *p, Oid elemtype);
extern void rw_array_items_value(Datum datum, const RwValue *key, RwValue *value);

/* vault.c */
extern char *rw_vault_secret(const char *id, Oid userid);

/* connection.c */
extern uint64 rw_connection_key(const RwTableOptions *opts);

/* embed.c */
extern void rw_python_start(void);
extern bool rw_core_loaded(void);
extern bool rw_plpython_path(char *path, size_t size);
extern void rw_python_adopt(void);
extern void rw_python_preload(void);

/* preload.c */
extern void rw_preload(void);

/* wait.c */
extern int	rw_pg_wait(int fd, int events, int timeout_ms);
extern int	rw_pg_wait_readable(const int *fds, int nfds, int timeout_ms);

/* cells.c: Redis bytes in a message, escaped, at most max bytes of them */
#define RW_SHOWN_KEY_MAX 200
extern char *rw_shown(const char *p, int64 len, int max);

/* quals.c: restriction clauses as RwQuals */
typedef struct RwRelColumns
{
	int			src_type;
	int			natts;
	int		   *attmap;			/* attribute index -> logical column, or -1 */
} RwRelColumns;

typedef struct RwClause
{
	RestrictInfo *rinfo;		/* the clause */
	int			column;			/* the logical column */
	int			op;				/* RwOperator */
	bool		is_array;		/* the value is an array: col = ANY(value) */
	Oid			type;			/* the value's type (an array's: its elements') */
	Expr	   *param;			/* the value, when only the executor knows it */
	List	   *values;			/* else the values (String), distinct and sorted */
} RwClause;

extern bool rw_clause(PlannerInfo *root, RelOptInfo *baserel, const RwRelColumns *cols,
					  RestrictInfo *rinfo, RwClause *out);
extern List *rw_restriction_clauses(PlannerInfo *root, RelOptInfo *baserel,
									const RwRelColumns *cols);
extern List *rw_qual_values(Datum value, bool isnull, bool is_array, Oid type);
extern const RwValue *rw_value_array(List *values, int *nvalues);

/*
 * planner.c: ForeignScan.fdw_private, by index (as postgres_fdw's
 * FdwScanPrivateIndex).  Each of RwScanPrivateQuals is a list of the qual's
 * RwScanQualIndex items.
 */
enum RwScanPrivateIndex
{
	RwScanPrivateAttnos,		/* Integer list: attributes read, 0 for a whole row */
	RwScanPrivateSource,		/* String: the source, for EXPLAIN */
	RwScanPrivateQuals,			/* List of lists: the clauses Redis serves */
	RwScanPrivateCommand,		/* String: rw_plan's description, for EXPLAIN */
	RwScanPrivateLimit,			/* Integer: RwScanSpec.limit, at most that many rows
								 * wanted (0: all) */
	RwScanPrivateCount,			/* Integer: 1 for a pushed count(*), a scan of no
								 * relation (scanrelid 0) whose one bigint column,
								 * fdw_scan_tlist's count(*), is the core's
								 * count_only answer */
	RwScanPrivateReverse,		/* Integer: RwScanSpec.reverse, rows in descending
								 * order of the source's ordered_by column */
	RwScanPrivateBatchQual,		/* Integer: the index in RwScanPrivateQuals of the
								 * join's lookup clause whose values a Redis
								 * Prefetch node publishes (prefetch.c), or -1 */
	RwScanPrivateBatchToken		/* Integer: the token naming that node */
};
/*
 * A scan path's fdw_private, by index: the RestrictInfos Redis serves,
 * rw_plan's description, the RestrictInfo of the core's keyed lookup (or
 * NULL), and, for a batched copy of a parameterized path (prefetch.c), its
 * token.  (upper.c's count(*) path has the fdw_scan_tlist third.)
 */
enum RwPathPrivateIndex
{
	RwPathPrivatePushed,
	RwPathPrivateCommand,
	RwPathPrivateKeyed,
	RwPathPrivateToken
};
enum RwScanQualIndex
{
	RwScanQualColumn,			/* Integer: the logical column */
	RwScanQualOp,				/* Integer: RwOperator */
	RwScanQualParam,			/* Integer: its value's index in fdw_exprs, or -1 */
	RwScanQualIsArray,			/* Integer: 1 when that value is an array */
	RwScanQualValues,			/* String list: the values, when no param */
	RwScanQualType				/* Integer: that value's type (RwClause.type) */
};
/*
 * Rough planner figures: a round trip to Redis, and each row crossing it.  A
 * lookup of a few rows is far cheaper than reading a whole key; a key never
 * analyzed is taken to hold RW_DEFAULT_ROWS.
 */
#define RW_DEFAULT_ROWS 1000
#define RW_STARTUP_COST 1.0
#define RW_PER_ROW_COST 0.01

/* Planner state of one foreign relation (baserel->fdw_private), as postgres_fdw's PgFdwRelationInfo. */
typedef struct RwRelInfo
{
	RwTableOptions opts;		/* without secrets: planning never connects */
	Bitmapset  *attrs_used;		/* attributes the query reads */
	RwRelColumns cols;
	List	   *clauses;		/* RwClauses of the restrictions, offered */
	/* rw_plan's answer for them, for the unparameterized scan */
	List	   *pushed;			/* RestrictInfos Redis serves */
	double		fetched;		/* rows Redis returns */
	char	   *command;		/* rw_plan's description */
} RwRelInfo;

extern bool rw_pushdown;
extern void rw_define_planner_gucs(void);
extern List *rw_plan_clauses(PlannerInfo *root, RelOptInfo *baserel, RwRelInfo *info,
							 List *clauses, bool count_only, double *fetched, char **command,
							 RestrictInfo **keyed);
extern void redisGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
extern void redisGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
extern ForeignScan *redisGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
										ForeignPath *best_path, List *tlist, List *scan_clauses,
										Plan *outer_plan);

/*
 * prefetch.c: a nested loop whose inner scan looks up one value per outer row
 * reads its outer rows RW_BATCH_ROWS at a time, ahead, and publishes their
 * values, so the scan asks for them all in one round trip.
 */
#define RW_BATCH_ROWS 1000

typedef struct RwOuterBatch
{
	uint64		generation;		/* changes with every batch (and rescan); 0: none yet */
	int			nvalues;
	RwValue    *values;			/* the batch's lookup values, distinct, in
								 * rw_value_cmp's order (no NULLs: they find
								 * nothing) */
} RwOuterBatch;

extern void rw_prefetch_init(void);
extern RwOuterBatch *rw_outer_batch(struct EState *estate, int token);

/*
 * lookup_cache.c: a batched lookup's rows, by the value that found each,
 * until the next batch.  Rows are the core's cells, copied so that cells.c
 * reads them as it reads a batch's.
 */
typedef struct RwCachedRow
{
	char	   *base;
	RwCell	   *cells;
	struct RwCachedRow *next;	/* the value's next row */
} RwCachedRow;

typedef struct RwLookupCache
{
	MemoryContext cxt;			/* everything below, reset for each batch */
	uint64		generation;		/* the RwOuterBatch's these rows are of; 0: none */
	int			nvalues;
	RwValue    *values;			/* the values asked for, in rw_value_cmp's order */
	RwCachedRow **rows;			/* each value's rows, in Redis's order */
	RwCachedRow **tails;
	bool	   *dropped;		/* the value's rows are not all kept (work_mem) */
	Size		size;			/* bytes of the rows */
} RwLookupCache;

extern int	rw_value_cmp(const void *a, const void *b);
extern int	rw_value_find(const RwValue *values, int nvalues, const char *p, int64 len);
extern RwLookupCache *rw_lookup_cache_create(void);
extern void rw_lookup_cache_reset(RwLookupCache *cache, const RwOuterBatch *batch);
extern void rw_lookup_cache_add(RwLookupCache *cache, const RwBatch *batch, const RwCell *row,
								const char *relname);
extern bool rw_lookup_cache_rows(RwLookupCache *cache, const char *p, int64 len,
								 RwCachedRow **rows);

/* estimate.c: use_remote_estimate */
extern double rw_remote_rows(PlannerInfo *root, RelOptInfo *baserel, const RwTableOptions *opts,
							 Oid relid);

/* upper.c: work above the scan that Redis does (count(*)), or that tells the scan what it needs (LIMIT) */
extern void redisGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
									  RelOptInfo *input_rel, RelOptInfo *output_rel,
									  void *extra);
extern int	rw_limit_hint(PlannerInfo *root, RelOptInfo *baserel, ForeignPath *path, List *local);

/* analyze.c */
extern bool redisAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
									 BlockNumber *totalpages);

/* scan.c */
typedef struct RwScanState RwScanState;
extern RwScanState *rw_scan_table(Relation rel);
extern double rw_scan_count(Oid relid, Oid userid);
extern bool rw_scan_row(RwScanState *st, Datum *values, bool *isnull);
extern void rw_scan_end(RwScanState *st);
extern bool rw_scan_over(RwScanState *st);
extern int	rw_scan_wait_socket(RwScanState *st, int *wait_ms);
extern void redisBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *redisIterateForeignScan(ForeignScanState *node);
extern void redisReScanForeignScan(ForeignScanState *node);
extern void redisEndForeignScan(ForeignScanState *node);
extern void redisExplainForeignScan(ForeignScanState *node, struct ExplainState *es);

/* async.c: async Append */
#if PG_VERSION_NUM >= 140000
extern bool redisIsForeignPathAsyncCapable(ForeignPath *path);
extern void redisForeignAsyncProduce(struct AsyncRequest *areq);
extern void redisForeignAsyncConfigureWait(struct AsyncRequest *areq);
#endif

/* modify.c: writes */
#if PG_VERSION_NUM >= 140000
extern void redisAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
										 RangeTblEntry *target_rte, Relation target_relation);
#else
extern void redisAddForeignUpdateTargets(Query *parsetree, RangeTblEntry *target_rte,
										 Relation target_relation);
#endif
extern List *redisPlanForeignModify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
									int subplan_index);
extern void redisBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
									List *fdw_private, int subplan_index, int eflags);
extern TupleTableSlot *redisExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
											  TupleTableSlot *slot, TupleTableSlot *planSlot);
extern TupleTableSlot *redisExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
											  TupleTableSlot *slot, TupleTableSlot *planSlot);
extern TupleTableSlot *redisExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
											  TupleTableSlot *slot, TupleTableSlot *planSlot);
extern void redisEndForeignModify(EState *estate, ResultRelInfo *rinfo);
extern void redisBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo);
extern void redisEndForeignInsert(EState *estate, ResultRelInfo *rinfo);
extern int	redisIsForeignRelUpdatable(Relation rel);
extern void redisExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
									  List *fdw_private, int subplan_index,
									  struct ExplainState *es);
#if PG_VERSION_NUM >= 140000
extern TupleTableSlot **redisExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
													TupleTableSlot **slots,
													TupleTableSlot **planSlots, int *numSlots);
extern int	redisGetForeignModifyBatchSize(ResultRelInfo *rinfo);
extern void redisExecForeignTruncate(List *rels, DropBehavior behavior, bool restart_seqs);
#endif

/* import.c */
extern List *redisImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid);

/* xact.c */
extern void rw_register_xact_callbacks(void);

/* fdw.c */
extern char *rw_fault;

/* errors.c */
extern void rw_raise(const RwError *err, const char *relname, const char *servername);

/*
 * Every call into the core goes through here.  RW_INTERRUPTED means a socket
 * wait saw a pending interrupt, the core's state intact: serve the interrupt
 * (which may not return) and make the same call again.
 */
#define RW_CORE_CALL(call, err, relname, servername) \
	do { \
		int			rw_rc_; \
		while ((rw_rc_ = (call)) == RW_INTERRUPTED) \
			CHECK_FOR_INTERRUPTS(); \
		if (rw_rc_ != RW_OK) \
			rw_raise((err), (relname), (servername)); \
	} while (0)

#endif							/* REDIS_WRAPPER_H */

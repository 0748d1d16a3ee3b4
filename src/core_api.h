/*
 * The boundary between the PostgreSQL side (fdw.c and friends) and the Cython
 * scanning core (scan_core.pyx).
 *
 * Plain C types only, so both sides can include it.  Core functions never call
 * anything that can ereport: they return a status and fill an RwError, and the
 * C side raises it.  RW_INTERRUPTED means a socket wait saw a pending
 * PostgreSQL interrupt; the scan's state is intact, so the caller runs
 * CHECK_FOR_INTERRUPTS() and, if that returns, calls the same function again.
 */
#ifndef REDIS_WRAPPER_CORE_API_H
#define REDIS_WRAPPER_CORE_API_H

#include <stddef.h>
#include <stdint.h>

typedef enum RwStatus
{
	RW_OK = 0,
	RW_INTERRUPTED = 1,
	RW_ERROR = 2,
	RW_WOULD_BLOCK = 3			/* rw_scan_try_next: no reply has come yet */
} RwStatus;

/* What went wrong; fdw.c maps each kind to a SQLSTATE. */
typedef enum RwErrorKind
{
	RW_ERR_NONE = 0,
	RW_ERR_CONNECT,				/* could not connect, resolve or handshake */
	RW_ERR_AUTH,				/* AUTH refused */
	RW_ERR_IO,					/* connection lost or failed mid-scan */
	RW_ERR_TIMEOUT,				/* command_timeout elapsed */
	RW_ERR_PROTOCOL,			/* malformed RESP from the server */
	RW_ERR_REDIS,				/* the server answered with an error reply */
	RW_ERR_WRONG_TYPE,			/* the key holds another type */
	RW_ERR_BAD_OPTION,			/* an option value (e.g. the URL) is invalid */
	RW_ERR_OUT_OF_MEMORY,
	RW_ERR_PRIVILEGE,			/* this role may not connect so (password_required) */
	RW_ERR_TOO_LARGE,			/* a value over max_value_size */
	RW_ERR_INTERNAL,			/* a bug: an unexpected Python exception */
	/* writes */
	RW_ERR_UNIQUE,				/* the member, field or key exists: 23505 */
	RW_ERR_NOT_NULL,			/* Redis needs a value where the row has NULL: 23502 */
	RW_ERR_BAD_VALUE,			/* a value Redis cannot store so (items of the wrong
								 * JSON shape, an empty collection): 22023 */
	RW_ERR_OUTSIDE_PATTERN,		/* a key the table's pattern does not match: 23514 */
	RW_ERR_UNSUPPORTED,			/* a write the source cannot do (UPDATE of a stream): 0A000 */
	RW_ERR_CONFLICT,			/* what the statement read changed before it was
								 * applied: 40001, the transaction may be retried */
	RW_ERR_UNKNOWN_OUTCOME		/* the connection was lost while EXEC was under way:
								 * whether the writes applied is unknown: 08007 */
} RwErrorKind;

typedef struct RwError
{
	int			kind;			/* RwErrorKind */
	char		message[1024];
	char		detail[1024];
	char		hint[512];
} RwError;

/*
 * The source types are defined by the core (core/sources/registry.pxi); the C side
 * learns their names and columns from rw_source() and nothing else of them.
 */
typedef enum RwColumnKind
{
	RW_KIND_TEXT = 0,			/* a Redis string: text */
	RW_KIND_ITEMS,				/* a list of strings, or of pairs: jsonb */
	RW_KIND_INT8,				/* a whole number, as decimal text: bigint */
	RW_KIND_FLOAT8,				/* a number as Redis writes a score ("1.5", "inf",
								 * "-inf"): double precision */
	RW_KIND_INTERVAL_MS,		/* a key's time to live, whole milliseconds as
								 * decimal text (> 0): interval */
	RW_KIND_TIMESTAMP_MS		/* a key's expiry, milliseconds since the Unix
								 * epoch as decimal text: timestamptz */
} RwColumnKind;

/*
 * Every source type yields at most this many logical columns: its fixed ones
 * and the opt-in ones (ttl, expire_at, ...).  Columns a query does not read
 * (RwScanSpec.want) cost no command and no cell.
 */
#define RW_MAX_COLUMNS 6

typedef struct RwColumnInfo
{
	const char *name;
	int			kind;			/* RwColumnKind */
	int			opt_in;			/* not in the spec's shape of the source: declared
								 * only by tables that want it (a list's index, ttl) */
} RwColumnInfo;

typedef struct RwSourceInfo
{
	const char *name;			/* src_type's value */
	int			ncolumns;
	RwColumnInfo columns[RW_MAX_COLUMNS];
	int			has_fetch;		/* the table option fetch applies */
	int			ordered_by;		/* the column whose ascending order every scan's
								 * rows come in, or -1 */
	int			reversible;		/* scans can instead return them in descending
								 * order (RwScanSpec.reverse) */
	int			sized;			/* one cheap command counts a whole table's rows
								 * (a count_only scan without clauses) */
	int			object_items;	/* its items column is an object of pairs
								 * (RW_ITEMS_OBJECT), not an array of strings */
	int			field_columns;	/* a table's other columns are fields of each row
								 * (a hash's, a stream entry's): see RW_FIELD_COLUMN */
} RwSourceInfo;

/* RwScanSpec.fetch: how a single key is read. */
#define RW_FETCH_DEFAULT (-1)	/* the source type's own choice */
#define RW_FETCH_ALL 0			/* one command for all of it */
#define RW_FETCH_SCAN 1			/* incremental reads */

/* RwScanSpec.cluster: the server option cluster, or asked of the node the URL names. */
#define RW_CLUSTER_DETECT (-1)	/* cluster_enabled in INFO cluster says */
#define RW_CLUSTER_OFF 0
#define RW_CLUSTER_ON 1

/* PostgreSQL's largest Datum (MaxAllocSize less a varlena header). */
#define RW_DEFAULT_MAX_VALUE_SIZE ((int64_t) 0x3FFFFFFF - 4)

/*
 * A restriction clause as plain data: column op values.  The C side offers
 * the clauses whose meaning it can state exactly (text equality under a
 * deterministic collation, a LIKE that is a plain prefix, ...); the core says
 * which of them Redis serves exactly (RwPlanInfo.pushed), and those are not
 * checked again by PostgreSQL.
 */
typedef enum RwOperator
{
	RW_OP_EQ = 0,				/* column = one of the values (=, IN, = ANY) */
	RW_OP_LT,
	RW_OP_LE,
	RW_OP_GT,
	RW_OP_GE,
	RW_OP_PREFIX				/* column starts with the value (LIKE 'value%') */
} RwOperator;

typedef struct RwValue
{
	const char *p;				/* the value as text, not NUL-terminated */
	int64_t		len;
} RwValue;

typedef struct RwQual
{
	int			column;			/* the logical column */
	int			op;				/* RwOperator */
	int			nvalues;		/* -1 while planning a parameter's clause */
	const RwValue *values;		/* SQL NULLs left out: they match nothing */
} RwQual;

/* At most this many clauses are offered (RwPlanInfo.pushed is a bitmask). */
#define RW_MAX_QUALS 64

/* The core's decisions for one scan, made while planning. */
typedef struct RwPlanInfo
{
	uint64_t	pushed;			/* bit i: Redis serves quals[i] exactly */
	double		rows;			/* estimated rows, < 0 when unknown */
	int			keyed;			/* the index of a pushed = qual looked up value by
								 * value: each value gives at most one row, whose
								 * column 0 is that value byte for byte, whatever
								 * other values are asked with it (so lookups of
								 * many values can be batched); -1: none */
	char		description[256];	/* what Redis is asked, for EXPLAIN */
} RwPlanInfo;

/* What one scan reads.  Strings are borrowed for the duration of rw_scan_open. */
typedef struct RwScanSpec
{
	const char *url;
	const char *user;			/* overrides the URL's user when not NULL */
	const char *password;		/* overrides the URL's password when not NULL */
	const char *sentinel_user;	/* redis+sentinel: the sentinels' user, or NULL */
	const char *sentinel_password;	/* and password, or NULL */
	int			src_type;		/* an index of rw_source() */
	const char *key;
	uint64_t	conn_key;		/* connection cache key (see connection.c) */
	int			fetch;			/* RW_FETCH_* */
	int			connect_timeout_ms;	/* 0: none */
	int			command_timeout_ms; /* 0: none */
	const char *tls_ca_file;	/* rediss:// only; NULL: the system's CAs */
	const char *tls_cert_file;	/* client certificate, or NULL */
	const char *tls_key_file;	/* its key, or NULL: in tls_cert_file */
	int			tls_verify;		/* verify the certificate and host name */
	int			cluster;		/* RW_CLUSTER_*: whether the server is a Redis Cluster */
	int			read_replicas;	/* a cluster's reads go to replicas (READONLY) */
	int			want[RW_MAX_COLUMNS];	/* which logical columns the query reads */
	int			nquals;			/* clauses the scan serves (rw_plan's pushed ones) */
	const RwQual *quals;
	int64_t		limit;			/* at most this many rows are wanted; 0: all */
	int			reverse;		/* rows in descending order of ordered_by (a
								 * reversible source) */
	int			count_only;		/* one row instead: how many rows there are, as
								 * decimal text in column 0 */
	int			password_required;	/* send a password, and no unix sockets */
	int64_t		max_value_size; /* the longest string accepted from Redis */
	int64_t		default_ttl_ms; /* writes: the time to live, in milliseconds, of a
								 * key an INSERT creates without a ttl or
								 * expire_at of its own; 0: none */
	const char *fault;			/* test-only fault injection point, or NULL */
	/* A field_columns source: the fields the table declares, by name (see RW_FIELD_COLUMN) */
	int			nfields;
	const RwValue *fields;
	const int  *want_fields;	/* nfields flags: which fields the query reads */
} RwScanSpec;

/*
 * A batch of rows.  Each row has cells_per_row cells: the logical columns,
 * then the Redis key the row came from (for error messages), then its fields.  A cell is a
 * slice of base; len < 0 means SQL NULL (or "not built", for unused columns);
 * a key cell with len < 0 means the table's own src_key.  Cells are
 * NUL-terminated and stay valid until the next call on the same scan.  A text
 * cell (not a JSON one) starts 4-byte aligned after RW_TEXT_HEADER spare bytes
 * that the C side may overwrite with a varlena header.
 */
#define RW_TEXT_HEADER 4

/*
 * An items cell (the jsonb columns) is a list of strings, 4-byte aligned:
 * int32 kind ('[' for a JSON array of them, '{' for an object of pairs),
 * int32 count, then each string as int32 length and its bytes, padded to 4.
 */
#define RW_ITEMS_ARRAY '['
#define RW_ITEMS_OBJECT '{'
/*
 * Writes: a JSON value that is neither (a scalar, or with a non-string
 * element), count 0, no strings.  The core refuses it, naming the Redis key.
 */
#define RW_ITEMS_OTHER '?'
#define RW_CELLS_PER_ROW (RW_MAX_COLUMNS + 1)
#define RW_KEY_CELL RW_MAX_COLUMNS

/*
 * Field columns: a table of a field_columns source (multi_hash, stream) may
 * declare, beside the source's own columns, fields its rows hold, named by the
 * table (RwScanSpec.fields).  Field j is logical column RW_FIELD_COLUMN + j:
 * its cell is that cell of the row, whose width (RwBatch.cells_per_row) is
 * then RW_CELLS_PER_ROW + nfields; a field a row lacks is NULL.  Fields are
 * Redis strings, as RW_KIND_TEXT columns are.
 */
#define RW_FIELD_COLUMN RW_CELLS_PER_ROW

typedef struct RwCell
{
	int64_t		off;
	int64_t		len;
} RwCell;

typedef struct RwBatch
{
	char	   *base;
	const RwCell *cells;
	int64_t		nrows;
	int			done;			/* no rows follow this batch */
	int			cells_per_row;	/* RW_CELLS_PER_ROW + the table's fields */
} RwBatch;

/* Socket waits: the core calls back into PostgreSQL through this. */
#define RW_WAIT_READABLE 1
#define RW_WAIT_WRITABLE 2
#define RW_WAIT_TIMEOUT 0
#define RW_WAIT_INTERRUPTED (-1)
#define RW_WAIT_FAILED (-2)
/* Returns the ready events, or one of the negative codes / RW_WAIT_TIMEOUT. */
typedef int (*RwWaitFn) (int fd, int events, int timeout_ms);
/* Until one of fds is readable: RW_WAIT_READABLE, or as above. */
typedef int (*RwWaitReadableFn) (const int *fds, int nfds, int timeout_ms);

/* Source type i, or NULL past the last. */
extern const RwSourceInfo *rw_source(int i);
extern void rw_core_set_wait(RwWaitFn fn, RwWaitReadableFn any);
extern int	rw_core_check_url(const char *url, RwError *err);
extern int	rw_plan(const RwScanSpec *spec, RwPlanInfo *plan, RwError *err);
extern int	rw_scan_open(const RwScanSpec *spec, void **scan, RwError *err);
extern int	rw_scan_next(void *scan, RwBatch *batch, RwError *err);
extern void rw_scan_rescan(void *scan);
/*
 * New values for the clauses of an open scan (a nested loop's next outer
 * row): the same clauses, as rw_plan took them, with other values.  The scan
 * starts again, on its connection, as a fresh rw_scan_open would.
 */
extern int	rw_scan_requalify(void *scan, const RwQual *quals, int nquals, RwError *err);
extern void rw_scan_close(void *scan);

/*
 * Asynchronous scans (PostgreSQL's async Append reads several partitions at
 * once): rw_scan_try_next is rw_scan_next that never waits for Redis to
 * answer.  RW_WOULD_BLOCK means no reply has come yet: the scan's requests
 * are sent and its state is intact, and rw_scan_socket is the socket to wait
 * for until it is readable before calling again.  Only waits for something
 * to read are left to the caller; a socket's writability (connecting, a full
 * send buffer) is waited for in place, as rw_scan_next does.  One socket per
 * scan: that is the room an Append's wait set has for each subplan.
 * *wait_ms is how long Redis may take yet (command_timeout, connect_timeout):
 * -1 for ever; once it is 0, the next call fails (or takes the late reply).
 */
extern int	rw_scan_try_next(void *scan, RwBatch *batch, RwError *err);
extern int	rw_scan_socket(void *scan, int *wait_ms);

/* What a scan has cost so far, for EXPLAIN ANALYZE. */
typedef struct RwScanStats
{
	int64_t		round_trips;	/* waits for a reply that found one */
	int64_t		commands;		/* commands sent */
	int64_t		bytes_received;
	int64_t		keys;			/* keys read (a pattern's, or the table's) */
} RwScanStats;
extern void rw_scan_stats(void *scan, RwScanStats *stats);
extern void rw_pool_invalidate(uint64_t key);
extern int	rw_pool_describe(uint64_t key, char *where, size_t size);

/*
 * Writes.  The C side hands over rows as plain data (logical columns, as
 * text; items as the items layout above); the core decides the Redis
 * commands.  Nothing is sent while rows arrive, but for reads a row's outcome
 * needs (ON CONFLICT DO NOTHING, a stream id to return): a statement's
 * writes, with checks that what it read is still so, are applied when its
 * last modify on that connection closes, in one WATCH/MULTI/EXEC; a
 * transactional table's are held until rw_xact_precommit.
 */
typedef enum RwWriteOp
{
	RW_WRITE_INSERT = 0,
	RW_WRITE_UPDATE,
	RW_WRITE_DELETE,
	RW_WRITE_TRUNCATE			/* the table's key, or every key of its pattern */
} RwWriteOp;

typedef struct RwModifySpec
{
	int			op;				/* RwWriteOp */
	int			set_mask;		/* UPDATE: bit c set for each logical column assigned */
	int			on_conflict_skip;	/* INSERT ... ON CONFLICT DO NOTHING */
	int			returning;		/* RwWriteRow.out wanted (RETURNING, AFTER triggers) */
	int			transactional;	/* hold the writes until the transaction commits */
	int			level;			/* the transaction nesting level the writes belong to */
	const int  *set_fields;		/* UPDATE: RwScanSpec.nfields flags, field j assigned
								 * (NULL: none is) */
} RwModifySpec;

/*
 * One row.  A value with p NULL is SQL NULL; in before, also a column the table
 * does not declare.  ITEMS values use the items layout (RW_ITEMS_ARRAY /
 * RW_ITEMS_OBJECT, counts and 4-byte padded strings); FLOAT8 values are
 * written as Redis reads a score ("1.5", "inf", "-inf"); INTERVAL_MS and
 * TIMESTAMP_MS ones as whole milliseconds in decimal (any sign: the core
 * refuses an expiry in the past).
 */
typedef struct RwWriteRow
{
	RwValue		before[RW_MAX_COLUMNS];	/* UPDATE, DELETE: the row as the scan read it */
	RwValue		after[RW_MAX_COLUMNS];	/* INSERT: the row; UPDATE: the set_mask columns */
	RwValue    *field_before;	/* RwScanSpec.nfields values each, as before and */
	RwValue    *field_after;	/* after are (UPDATE: the set_fields ones); NULL
								 * when the table has no fields */
	int			written;		/* out: 0 when the row was skipped (ON CONFLICT DO
								 * NOTHING, a row deleted twice) */
} RwWriteRow;

/*
 * Describe (for EXPLAIN, no I/O) the writes of a modify: which commands, and
 * when they are applied.
 */
extern int	rw_modify_describe(const RwScanSpec *spec, const RwModifySpec *m,
							   char *description, size_t size, RwError *err);
/* A modify of one table: spec says the connection and the table, as for a scan. */
extern int	rw_modify_open(const RwScanSpec *spec, const RwModifySpec *m, void **modify,
						   RwError *err);
/*
 * Queue n rows (none for TRUNCATE).  Each row's written is set; with
 * m->returning, out gets one row of cells per row given (the row as Redis
 * will hold it: a stream id assigned, a default score), valid until the next
 * call on this modify.  RW_INTERRUPTED: call again with the same rows.
 */
extern int	rw_modify_rows(void *modify, RwWriteRow *rows, int n, RwBatch *out, RwError *err);
/*
 * Every row is queued: when this is the last modify of its connection open in
 * the statement, apply the statement's writes (unless transactional).
 * RW_INTERRUPTED: call again.
 */
extern int	rw_modify_close(void *modify, RwError *err);
/* Let go of a modify, closed or not; an unclosed one's statement writes are dropped. */
extern void rw_modify_release(void *modify);

/*
 * IMPORT FOREIGN SCHEMA: a sample of the keys matching a pattern (SCAN MATCH,
 * then TYPE of each), grouped by shape.  Keys of one Redis type whose names,
 * split on ':', have the same number of parts and the same first part form a
 * group; each part where they differ becomes '*' in its pattern (the other
 * parts glob-escaped).  A key alone in its group, and every stream, stands
 * alone: src_key is the key itself, not a pattern.
 */
typedef struct RwKeyGroup
{
	const char *src_key;		/* the pattern, or the key standing alone; NUL-terminated */
	int64_t		src_key_len;	/* a key may hold NUL bytes: check with this length */
	const char *name;			/* what a table name is made of: the parts that are
								 * not '*', unescaped, joined by ':' (NUL-terminated,
								 * may hold NULs too) */
	int64_t		name_len;
	int			is_pattern;		/* src_key is a pattern (keys > 1), not a key */
	const char *redis_type;		/* what TYPE answered ("hash", "string"...) */
	int			src_type;		/* the index of rw_source() that reads the group
								 * (multi_<type> for a pattern, <type> for a key),
								 * or -1: no source type reads this Redis type */
	int64_t		nkeys;			/* keys of the sample in the group */
	/* with fields asked for, a group of hashes: the fields of its hashes
	 * sampled, first seen first, each with what all its values read as */
	int			nfields;
	const char *const *fields;	/* NUL-terminated; field_lens[i] bytes (NULs possible) */
	const int64_t *field_lens;
	const int  *field_guesses;	/* RwValueGuess */
} RwKeyGroup;

/* What every sampled value of a field reads as (the most specific that fits all). */
typedef enum RwValueGuess
{
	RW_GUESS_TEXT = 0,
	RW_GUESS_INTEGER,			/* decimal digits, a sign, at most 18 of them */
	RW_GUESS_NUMBER,			/* a decimal number, a fraction or an exponent */
	RW_GUESS_BOOLEAN,			/* true, false, t, f (any case) */
	RW_GUESS_DATE,				/* YYYY-MM-DD */
	RW_GUESS_TIMESTAMP			/* YYYY-MM-DD hh:mm[:ss[.f]], a T or a space between,
								 * an optional Z or UTC offset */
} RwValueGuess;

typedef struct RwKeyspace
{
	int64_t		nkeys;			/* keys sampled */
	int64_t		ngroups;
	const RwKeyGroup *groups;	/* in order of src_key's bytes, then redis_type's */
} RwKeyspace;

/*
 * A sampler of at most sample keys matching pattern, connecting as spec says
 * (its src_type, key, columns and clauses are not used), and with_fields,
 * of the fields of a few hashes of each group of hashes.  No I/O here.
 */
extern int	rw_sample_open(const RwScanSpec *spec, const char *pattern, int64_t sample,
						   int with_fields, void **sampler, RwError *err);
/*
 * Sample and group: out's strings and groups stay valid until
 * rw_sample_close.  RW_INTERRUPTED: call again.
 */
extern int	rw_sample_run(void *sampler, RwKeyspace *out, RwError *err);
/* Let go of a sampler, run or not (a connection mid-reply is closed, not pooled). */
extern void rw_sample_close(void *sampler);

/* The transaction: apply the transactional writes (one MULTI/EXEC per connection); resumable. */
extern int	rw_xact_precommit(RwError *err);
extern int	rw_xact_pending(void);	/* transactional writes are waiting */
extern void rw_xact_abort(void);	/* forget every pending write */
extern void rw_xact_subabort(int level);	/* forget writes of levels >= level */
extern void rw_xact_subcommit(int level);	/* writes of level move to level - 1 */

#endif							/* REDIS_WRAPPER_CORE_API_H */

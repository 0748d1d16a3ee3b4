/*
 * Declarations shared by the PostgreSQL-side C files of redis_wrapper.
 * The boundary with the Cython core is core_api.h.
 */
#ifndef REDIS_WRAPPER_H
#define REDIS_WRAPPER_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "core_api.h"

/*
 * One foreign table's effective options (option.c): what the core needs, as
 * the RwScanSpec handed to it, and what PostgreSQL-side code needs.  Strings
 * point into the catalog entries' option lists, palloc'd in the caller's context.
 */
typedef struct RwTableOptions
{
	RwScanSpec	spec;			/* url resolved from conn_url_id when set */
	char	   *relname;
	char	   *servername;
	Oid			serverid;
	Oid			umid;			/* the user mapping used, or InvalidOid */
} RwTableOptions;

/* option.c */
extern void rw_get_table_options(Oid relid, bool resolve_url, RwTableOptions *opts);
extern const char *rw_src_type_name(int src_type);

/* cells.c */
extern Datum rw_cell_datum(char *base, const RwCell *cell, bool json);

/* columns.c: the column shape each source type yields */
extern bool rw_column_is_json(int src_type, int column);
extern void rw_map_columns(TupleDesc tupdesc, const char *relname, int src_type,
						   int *attmap);

/* vault.c */
extern char *rw_vault_secret(const char *id);

/* connection.c */
extern uint64 rw_connection_key(Oid serverid, Oid umid);

/* embed.c */
extern void rw_python_start(void);
extern bool rw_core_loaded(void);

/* wait.c */
extern int	rw_pg_wait(int fd, int events, int timeout_ms);

/* fdw.c */
extern void rw_raise(const RwError *err, const char *relname, const char *servername);
extern char *rw_fault;

#endif							/* REDIS_WRAPPER_H */

/*
 * Asynchronous foreign scans (PostgreSQL 14+): an Append whose children are
 * async_capable tables (the partitions of a partitioned table, on one Redis
 * server or several) asks each for a row, and where Redis has not answered
 * yet, waits for all their sockets at once in its own WaitEventSet, which
 * also wakes for interrupts.  So the partitions' requests are all under way
 * together, and whichever answers first is read first.
 *
 * As in postgres_fdw, a request is served by the scan node itself
 * (ExecProcNodeReal: local quals and projection apply), and the scan, read
 * asynchronously, gives no row rather than wait (scan.c).  Unlike
 * postgres_fdw's, a scan never shares its connection: the pool gives each
 * open scan one of its own, so no request waits behind another's.
 */
#include "redis_wrapper.h"

#if PG_VERSION_NUM >= 140000

#include "executor/execAsync.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "storage/latch.h"

/* The table's async_capable option (or its server's); a count's, of the table it counts. */
bool
redisIsForeignPathAsyncCapable(ForeignPath *path)
{
	RelOptInfo *rel = path->path.parent;
	RwRelInfo  *info;

	if (IS_UPPER_REL(rel))
		rel = (RelOptInfo *) rel->fdw_private;
	info = (RwRelInfo *) rel->fdw_private;
	return info->opts.async_capable;
}

/*
 * A request, or its socket readable (Notify): the next row, the end, or
 * pending until Redis answers.
 */
void
redisForeignAsyncProduce(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	TupleTableSlot *slot = areq->requestee->ExecProcNodeReal(areq->requestee);

	if (!TupIsNull(slot))
		ExecAsyncRequestDone(areq, slot);
	else if (rw_scan_over((RwScanState *) node->fdw_state))
		ExecAsyncRequestDone(areq, NULL);
	else
		ExecAsyncRequestPending(areq);
}

/* A pending request's scan waits for its socket to be readable. */
void
redisForeignAsyncConfigureWait(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	AppendState *append = (AppendState *) areq->requestor;

	AddWaitEventToSet(append->as_eventset, WL_SOCKET_READABLE,
					  rw_scan_wait_socket((RwScanState *) node->fdw_state), NULL, areq);
}

#endif							/* PG_VERSION_NUM >= 140000 */

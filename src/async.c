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
 *
 * The Append waits without a timeout, so a scan's command_timeout sets a
 * timer that wakes it (through its latch); it then configures its wait
 * again, and a scan whose time is up asks the core once more, which fails
 * it (or takes the reply that came meanwhile).
 */
#include "redis_wrapper.h"

#if PG_VERSION_NUM >= 140000

#include "executor/execAsync.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "storage/latch.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

static TimeoutId wake_timer = MAX_TIMEOUTS; /* registered at its first use */

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

static void
wake_append(void)
{
	SetLatch(MyLatch);
}

/* Wake the Append within ms, unless the timer already does so sooner. */
static void
wake_within(int ms)
{
	TimestampTz at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	if (wake_timer == MAX_TIMEOUTS)
		wake_timer = RegisterTimeout(USER_TIMEOUT, wake_append);
	if (!get_timeout_active(wake_timer) || at < get_timeout_finish_time(wake_timer))
		enable_timeout_at(wake_timer, at);
}

/* A pending request's scan waits for its socket to be readable, for as long as Redis may take. */
void
redisForeignAsyncConfigureWait(AsyncRequest *areq)
{
	RwScanState *st = (RwScanState *) ((ForeignScanState *) areq->requestee)->fdw_state;
	AppendState *append = (AppendState *) areq->requestor;
	int			wait_ms;
	int			fd = rw_scan_wait_socket(st, &wait_ms);

	if (wait_ms == 0)
	{
		/* Time is up: the core's error, or the late reply (answered here, as Notify would) */
		areq->callback_pending = false;
		redisForeignAsyncProduce(areq);
		ExecAsyncResponse(areq);
		if (!areq->callback_pending)
			return;
		fd = rw_scan_wait_socket(st, &wait_ms);
	}
	AddWaitEventToSet(append->as_eventset, WL_SOCKET_READABLE, fd, NULL, areq);
	if (wait_ms > 0)
		wake_within(wait_ms);
}

#endif							/* PG_VERSION_NUM >= 140000 */

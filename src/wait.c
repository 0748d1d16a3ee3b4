/*
 * The socket wait the core uses inside PostgreSQL: a latch wait that returns
 * instead of raising.  The core has Python frames on the stack while it waits,
 * and a longjmp through them would corrupt the interpreter, so a pending
 * interrupt is reported as RW_WAIT_INTERRUPTED; the core unwinds and fdw.c
 * then runs CHECK_FOR_INTERRUPTS().
 */
#include "redis_wrapper.h"

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#else
#include "pgstat.h"				/* PG_WAIT_EXTENSION before PostgreSQL 14 */
#endif

/*
 * One wait on the latch and fds, each for sock_events: the events that ended
 * it, WL_TIMEOUT, or -1 if it failed (the error is logged, not raised).  A
 * wait set of its own, made and freed here, as WaitLatchOrSocket does.
 */
static int
wait_once(const int *fds, int nfds, int sock_events, int timeout_ms)
{
	MemoryContext cxt = CurrentMemoryContext;
	WaitEventSet *volatile set = NULL;
	volatile int rc = -1;

	PG_TRY();
	{
		WaitEvent	event;

#if PG_VERSION_NUM >= 170000
		set = CreateWaitEventSet(NULL, nfds + 2);
#else
		set = CreateWaitEventSet(CurrentMemoryContext, nfds + 2);
#endif
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < nfds; i++)
			AddWaitEventToSet(set, sock_events, fds[i], NULL, NULL);
		if (WaitEventSetWait(set, timeout_ms > 0 ? timeout_ms : -1, &event, 1, PG_WAIT_EXTENSION) == 0)
			rc = WL_TIMEOUT;
		else
			rc = event.events;
	}
	PG_CATCH();
	{
		/* Only a broken wait set ends up here; the core reports the failure. */
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		rc = -1;
	}
	PG_END_TRY();
	if (set != NULL)
		FreeWaitEventSet(set);
	return rc;
}

/* Until one of fds is ready for sock_events, timeout_ms pass (0: never) or an interrupt is pending. */
static int
wait_loop(const int *fds, int nfds, int sock_events, int timeout_ms)
{
	TimestampTz deadline = 0;

	if (timeout_ms > 0)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	for (;;)
	{
		int			rc;

		if (InterruptPending && INTERRUPTS_CAN_BE_PROCESSED())
			return RW_WAIT_INTERRUPTED;
		rc = wait_once(fds, nfds, sock_events, timeout_ms);
		if (rc < 0)
			return RW_WAIT_FAILED;
		if (rc & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			return ((rc & WL_SOCKET_READABLE) ? RW_WAIT_READABLE : 0) |
				((rc & WL_SOCKET_WRITEABLE) ? RW_WAIT_WRITABLE : 0);
		if (rc & WL_TIMEOUT)
			return RW_WAIT_TIMEOUT;
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		/* Woken for something else than an interrupt: wait out the rest. */
		if (deadline)
		{
			timeout_ms = (int) ((deadline - GetCurrentTimestamp()) / 1000);
			if (timeout_ms <= 0)
				return RW_WAIT_TIMEOUT;
		}
	}
}

/* One socket (fd, for events), or none (events 0: a sleep). */
int
rw_pg_wait(int fd, int events, int timeout_ms)
{
	int			sock_events = 0;

	if (events & RW_WAIT_READABLE)
		sock_events |= WL_SOCKET_READABLE;
	if (events & RW_WAIT_WRITABLE)
		sock_events |= WL_SOCKET_WRITEABLE;
	return wait_loop(&fd, sock_events ? 1 : 0, sock_events, timeout_ms);
}

/* Several sockets at once (a scan reading every node of a Redis Cluster): until one is readable. */
int
rw_pg_wait_readable(const int *fds, int nfds, int timeout_ms)
{
	return wait_loop(fds, nfds, WL_SOCKET_READABLE, timeout_ms);
}

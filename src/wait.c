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

/* One latch wait; -1 if it failed (the error is logged, not raised). */
static int
wait_once(int flags, int fd, int timeout_ms)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = -1;

	PG_TRY();
	{
		rc = WaitLatchOrSocket(MyLatch, flags, fd, timeout_ms, PG_WAIT_EXTENSION);
	}
	PG_CATCH();
	{
		/* Only a broken wait set ends up here; the core reports the failure. */
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
	}
	PG_END_TRY();
	return rc;
}

int
rw_pg_wait(int fd, int events, int timeout_ms)
{
	int			flags = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
	TimestampTz deadline = 0;

	if (events & RW_WAIT_READABLE)
		flags |= WL_SOCKET_READABLE;
	if (events & RW_WAIT_WRITABLE)
		flags |= WL_SOCKET_WRITEABLE;
	if (timeout_ms > 0)
	{
		flags |= WL_TIMEOUT;
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	}

	for (;;)
	{
		int			rc;

		if (InterruptPending && INTERRUPTS_CAN_BE_PROCESSED())
			return RW_WAIT_INTERRUPTED;
		rc = wait_once(flags, fd, timeout_ms);
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

/*
 * Several sockets at once (a scan reading every node of a Redis Cluster):
 * until one of fds is readable.  A wait set of their own, made and freed
 * here, every error caught as wait_once does.
 */
static int
wait_set_once(const int *fds, int nfds, int timeout_ms)
{
	MemoryContext cxt = CurrentMemoryContext;
	WaitEventSet *volatile set = NULL;
	volatile int rc = -1;

	PG_TRY();
	{
		WaitEvent	event;
		int			i;

#if PG_VERSION_NUM >= 170000
		set = CreateWaitEventSet(NULL, nfds + 2);
#else
		set = CreateWaitEventSet(CurrentMemoryContext, nfds + 2);
#endif
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (i = 0; i < nfds; i++)
			AddWaitEventToSet(set, WL_SOCKET_READABLE, fds[i], NULL, NULL);
		if (WaitEventSetWait(set, timeout_ms > 0 ? timeout_ms : -1, &event, 1, PG_WAIT_EXTENSION) == 0)
			rc = WL_TIMEOUT;
		else
			rc = event.events;
	}
	PG_CATCH();
	{
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

int
rw_pg_wait_readable(const int *fds, int nfds, int timeout_ms)
{
	TimestampTz deadline = 0;

	if (timeout_ms > 0)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	for (;;)
	{
		int			rc;

		if (InterruptPending && INTERRUPTS_CAN_BE_PROCESSED())
			return RW_WAIT_INTERRUPTED;
		rc = wait_set_once(fds, nfds, timeout_ms);
		if (rc < 0)
			return RW_WAIT_FAILED;
		if (rc & WL_SOCKET_READABLE)
			return RW_WAIT_READABLE;
		if (rc & WL_TIMEOUT)
			return RW_WAIT_TIMEOUT;
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		if (deadline)
		{
			timeout_ms = (int) ((deadline - GetCurrentTimestamp()) / 1000);
			if (timeout_ms <= 0)
				return RW_WAIT_TIMEOUT;
		}
	}
}

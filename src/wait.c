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

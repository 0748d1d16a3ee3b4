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
#include "utils/wait_event.h"

int
rw_pg_wait(int fd, int events, int timeout_ms)
{
	int			flags = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
	volatile int rc = 0;
	volatile bool failed = false;
	MemoryContext cxt = CurrentMemoryContext;

	if (events & RW_WAIT_READABLE)
		flags |= WL_SOCKET_READABLE;
	if (events & RW_WAIT_WRITABLE)
		flags |= WL_SOCKET_WRITEABLE;
	if (timeout_ms > 0)
		flags |= WL_TIMEOUT;

	if (InterruptPending && INTERRUPTS_CAN_BE_PROCESSED())
		return RW_WAIT_INTERRUPTED;

	PG_TRY();
	{
		rc = WaitLatchOrSocket(MyLatch, flags, fd, timeout_ms, PG_WAIT_EXTENSION);
	}
	PG_CATCH();
	{
		/* Only a broken wait set ends up here; the core reports it. */
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		failed = true;
	}
	PG_END_TRY();
	if (failed)
		return RW_WAIT_FAILED;

	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		if (InterruptPending && INTERRUPTS_CAN_BE_PROCESSED())
			return RW_WAIT_INTERRUPTED;
		/* Woken for something else: the core retries its non-blocking I/O. */
		return events;
	}
	if (rc & WL_TIMEOUT)
		return RW_WAIT_TIMEOUT;
	return ((rc & WL_SOCKET_READABLE) ? RW_WAIT_READABLE : 0) |
		((rc & WL_SOCKET_WRITEABLE) ? RW_WAIT_WRITABLE : 0);
}

/*
 * Writes and the PostgreSQL transaction.  A transactional table's writes wait
 * in the core until PRE_COMMIT applies them (one MULTI/EXEC per connection);
 * an abort forgets them, a subtransaction's abort forgets those of its level
 * and deeper, its commit hands them to its parent.  PREPARE TRANSACTION is
 * refused while any wait, as postgres_fdw refuses it: Redis cannot hold
 * writes prepared for a later COMMIT PREPARED.  Nothing here starts the core.
 */
#include "redis_wrapper.h"

#include "access/xact.h"
#include "miscadmin.h"

static void
xact_callback(XactEvent event, void *arg)
{
	RwError		err;

	if (!rw_core_loaded())
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			RW_CORE_CALL(rw_xact_precommit(&err), &err, NULL, NULL);
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (rw_xact_pending())
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has pending Redis writes"),
						 errhint("Tables with option transactional apply their writes at COMMIT.")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			rw_xact_abort();
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (!rw_core_loaded())
		return;
	/* the subtransaction's own level, until it is popped */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		rw_xact_subabort(GetCurrentTransactionNestLevel());
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		rw_xact_subcommit(GetCurrentTransactionNestLevel());
}

void
rw_register_xact_callbacks(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

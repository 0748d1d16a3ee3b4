/*
 * redis_wrapper: the module's entry points, the FDW handler and its callback
 * table.  Planning is in planner.c, execution in scan.c (and async.c for an
 * async Append), writes in modify.c and xact.c, IMPORT FOREIGN SCHEMA in
 * import.c, batched join lookups in prefetch.c; everything Redis happens in
 * the Cython core (scan_core.pyx), reached through core_api.h.
 */
#include "redis_wrapper.h"

#include "foreign/fdwapi.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(redis_fdw_handler);

/* Test-only fault injection (see tests); NULL or empty in normal use. */
char	   *rw_fault = NULL;

void
_PG_init(void)
{
	DefineCustomStringVariable("redis_wrapper.fault",
							   "Injects a failure into the scanning core (for tests).",
							   NULL, &rw_fault, "", PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	rw_define_planner_gucs();
	rw_prefetch_init();
	rw_register_xact_callbacks();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("redis_wrapper");
#else
	EmitWarningsOnPlaceholders("redis_wrapper");
#endif
	rw_preload();
}

Datum
redis_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = redisGetForeignRelSize;
	routine->GetForeignPaths = redisGetForeignPaths;
	routine->GetForeignPlan = redisGetForeignPlan;
	routine->GetForeignUpperPaths = redisGetForeignUpperPaths;
	routine->BeginForeignScan = redisBeginForeignScan;
	routine->IterateForeignScan = redisIterateForeignScan;
	routine->ReScanForeignScan = redisReScanForeignScan;
	routine->EndForeignScan = redisEndForeignScan;
	routine->ExplainForeignScan = redisExplainForeignScan;
	routine->AnalyzeForeignTable = redisAnalyzeForeignTable;
	routine->ImportForeignSchema = redisImportForeignSchema;

	routine->AddForeignUpdateTargets = redisAddForeignUpdateTargets;
	routine->PlanForeignModify = redisPlanForeignModify;
	routine->BeginForeignModify = redisBeginForeignModify;
	routine->ExecForeignInsert = redisExecForeignInsert;
	routine->ExecForeignUpdate = redisExecForeignUpdate;
	routine->ExecForeignDelete = redisExecForeignDelete;
	routine->EndForeignModify = redisEndForeignModify;
	routine->BeginForeignInsert = redisBeginForeignInsert;
	routine->EndForeignInsert = redisEndForeignInsert;
	routine->IsForeignRelUpdatable = redisIsForeignRelUpdatable;
	routine->ExplainForeignModify = redisExplainForeignModify;
#if PG_VERSION_NUM >= 140000
	routine->ExecForeignBatchInsert = redisExecForeignBatchInsert;
	routine->GetForeignModifyBatchSize = redisGetForeignModifyBatchSize;
	routine->ExecForeignTruncate = redisExecForeignTruncate;

	routine->IsForeignPathAsyncCapable = redisIsForeignPathAsyncCapable;
	routine->ForeignAsyncRequest = redisForeignAsyncProduce;
	routine->ForeignAsyncConfigureWait = redisForeignAsyncConfigureWait;
	routine->ForeignAsyncNotify = redisForeignAsyncProduce;
#endif
	PG_RETURN_POINTER(routine);
}

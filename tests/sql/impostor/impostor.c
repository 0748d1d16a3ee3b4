/*
 * rw_impostor: another FDW module that exports the entry point names
 * redis_wrapper exports (as the classic redis_fdw does).  Built and installed
 * by tests/test_ddl_security.py only; it accepts any options and scans nothing.
 */
#include "postgres.h"

#include "fmgr.h"
#include "foreign/fdwapi.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(redis_fdw_handler);
PG_FUNCTION_INFO_V1(redis_fdw_validator);

Datum
redis_fdw_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(makeNode(FdwRoutine));
}

Datum
redis_fdw_validator(PG_FUNCTION_ARGS)
{
	PG_RETURN_VOID();
}

/*
 * Errors from the core: each RwErrorKind becomes a SQLSTATE, and the core's
 * texts are made safe for the database encoding.  Calls into the core go
 * through RW_CORE_CALL (redis_wrapper.h), which serves interrupts and ends
 * here on failure.
 */
#include "redis_wrapper.h"

#include "mb/pg_wchar.h"

/* The core's UTF-8 text, escaped where the database encoding cannot hold it. */
static const char *
in_encoding(const char *s)
{
	int			len = strlen(s);

	return pg_verify_mbstr(GetDatabaseEncoding(), s, len, true) ? s : rw_shown(s, len, len * 4);
}

void
rw_raise(const RwError *err, const char *relname, const char *servername)
{
	int			code;

	switch (err->kind)
	{
		case RW_ERR_CONNECT:
			code = ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
			break;
		case RW_ERR_AUTH:
			code = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
			break;
		case RW_ERR_IO:
		case RW_ERR_TIMEOUT:
			code = ERRCODE_CONNECTION_FAILURE;
			break;
		case RW_ERR_PROTOCOL:
			code = ERRCODE_PROTOCOL_VIOLATION;
			break;
		case RW_ERR_REDIS:
			code = ERRCODE_FDW_ERROR;
			break;
		case RW_ERR_WRONG_TYPE:
			code = ERRCODE_WRONG_OBJECT_TYPE;
			break;
		case RW_ERR_BAD_OPTION:
			code = ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE;
			break;
		case RW_ERR_OUT_OF_MEMORY:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case RW_ERR_PRIVILEGE:
			code = ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED;
			break;
		case RW_ERR_TOO_LARGE:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case RW_ERR_UNIQUE:
			code = ERRCODE_UNIQUE_VIOLATION;
			break;
		case RW_ERR_NOT_NULL:
			code = ERRCODE_NOT_NULL_VIOLATION;
			break;
		case RW_ERR_BAD_VALUE:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case RW_ERR_OUTSIDE_PATTERN:
			code = ERRCODE_CHECK_VIOLATION;
			break;
		case RW_ERR_UNSUPPORTED:
			code = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case RW_ERR_CONFLICT:
			code = ERRCODE_T_R_SERIALIZATION_FAILURE;
			break;
		case RW_ERR_UNKNOWN_OUTCOME:
			code = ERRCODE_TRANSACTION_RESOLUTION_UNKNOWN;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", in_encoding(err->message)),
			 err->detail[0] ? errdetail_internal("%s", in_encoding(err->detail)) : 0,
			 err->hint[0] ? errhint("%s", in_encoding(err->hint)) : 0,
			 relname ? errcontext("foreign table \"%s\" on server \"%s\"", relname, servername) : 0));
}

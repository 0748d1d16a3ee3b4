# The boundary with the PostgreSQL side, declared once for Cython: everything
# comes from core_api.h itself, so no constant or layout is copied here.
from libc.stdint cimport uint64_t, int64_t

cdef extern from "core_api.h":
    ctypedef enum RwStatus:
        RW_OK
        RW_INTERRUPTED
        RW_ERROR
        RW_WOULD_BLOCK
    ctypedef enum RwErrorKind:
        RW_ERR_NONE
        RW_ERR_CONNECT
        RW_ERR_AUTH
        RW_ERR_IO
        RW_ERR_TIMEOUT
        RW_ERR_PROTOCOL
        RW_ERR_REDIS
        RW_ERR_WRONG_TYPE
        RW_ERR_BAD_OPTION
        RW_ERR_OUT_OF_MEMORY
        RW_ERR_PRIVILEGE
        RW_ERR_TOO_LARGE
        RW_ERR_INTERNAL
        RW_ERR_UNIQUE
        RW_ERR_NOT_NULL
        RW_ERR_BAD_VALUE
        RW_ERR_OUTSIDE_PATTERN
        RW_ERR_UNSUPPORTED
        RW_ERR_CONFLICT
        RW_ERR_UNKNOWN_OUTCOME
    ctypedef struct RwError:
        int kind
        char message[1024]
        char detail[1024]
        char hint[512]

    ctypedef enum RwColumnKind:
        RW_KIND_TEXT
        RW_KIND_ITEMS
        RW_KIND_INT8
        RW_KIND_FLOAT8
        RW_KIND_INTERVAL_MS
        RW_KIND_TIMESTAMP_MS
    enum:
        RW_MAX_COLUMNS
        RW_FETCH_DEFAULT
        RW_FETCH_ALL
        RW_FETCH_SCAN
        RW_CLUSTER_DETECT
        RW_CLUSTER_OFF
        RW_CLUSTER_ON
        RW_TEXT_HEADER
        RW_CELLS_PER_ROW
        RW_KEY_CELL
        RW_FIELD_COLUMN
        RW_ITEMS_ARRAY
        RW_ITEMS_OBJECT
        RW_ITEMS_OTHER
        RW_WAIT_READABLE
        RW_WAIT_WRITABLE
        RW_WAIT_TIMEOUT
        RW_WAIT_INTERRUPTED
        RW_WAIT_FAILED
    const int64_t RW_DEFAULT_MAX_VALUE_SIZE

    ctypedef struct RwColumnInfo:
        const char *name
        int kind
        int opt_in
    ctypedef struct RwSourceInfo:
        const char *name
        int ncolumns
        RwColumnInfo columns[RW_MAX_COLUMNS]
        int has_fetch
        int ordered_by
        int reversible
        int sized
        int object_items
        int field_columns

    ctypedef enum RwOperator:
        RW_OP_EQ
        RW_OP_LT
        RW_OP_LE
        RW_OP_GT
        RW_OP_GE
        RW_OP_PREFIX
    ctypedef struct RwValue:
        const char *p
        int64_t len
    ctypedef struct RwQual:
        int column
        int op
        int nvalues
        const RwValue *values
    enum:
        RW_MAX_QUALS
    ctypedef struct RwPlanInfo:
        uint64_t pushed
        double rows
        int keyed
        char description[256]

    ctypedef struct RwScanSpec:
        const char *url
        const char *user
        const char *password
        const char *sentinel_user
        const char *sentinel_password
        int src_type
        const char *key
        uint64_t conn_key
        int fetch
        int connect_timeout_ms
        int command_timeout_ms
        const char *tls_ca_file
        const char *tls_cert_file
        const char *tls_key_file
        int tls_verify
        int cluster
        int read_replicas
        int want[RW_MAX_COLUMNS]
        int nquals
        const RwQual *quals
        int64_t limit
        int reverse
        int count_only
        int password_required
        int64_t max_value_size
        int64_t default_ttl_ms
        const char *fault
        int nfields
        const RwValue *fields
        const int *want_fields
    ctypedef struct RwCell:
        int64_t off
        int64_t len
    ctypedef struct RwBatch:
        char *base
        const RwCell *cells
        int64_t nrows
        int done
        int cells_per_row

    ctypedef struct RwScanStats:
        int64_t round_trips
        int64_t commands
        int64_t bytes_received
        int64_t keys

    ctypedef int (*RwWaitFn)(int fd, int events, int timeout_ms) noexcept nogil
    ctypedef int (*RwWaitReadableFn)(const int *fds, int nfds, int timeout_ms) noexcept nogil

    ctypedef enum RwWriteOp:
        RW_WRITE_INSERT
        RW_WRITE_UPDATE
        RW_WRITE_DELETE
        RW_WRITE_TRUNCATE
    ctypedef struct RwModifySpec:
        int op
        int set_mask
        int on_conflict_skip
        int returning
        int transactional
        int level
        const int *set_fields
    ctypedef struct RwWriteRow:
        RwValue before[RW_MAX_COLUMNS]
        RwValue after[RW_MAX_COLUMNS]
        RwValue *field_before
        RwValue *field_after
        int written
    ctypedef struct RwKeyGroup:
        const char *src_key
        int64_t src_key_len
        const char *name
        int64_t name_len
        int is_pattern
        const char *redis_type
        int src_type
        int64_t nkeys
        int nfields
        const char *const *fields
        const int64_t *field_lens
        const int *field_guesses
    ctypedef enum RwValueGuess:
        RW_GUESS_TEXT
        RW_GUESS_INTEGER
        RW_GUESS_NUMBER
        RW_GUESS_BOOLEAN
        RW_GUESS_DATE
        RW_GUESS_TIMESTAMP
    ctypedef struct RwKeyspace:
        int64_t nkeys
        int64_t ngroups
        const RwKeyGroup *groups

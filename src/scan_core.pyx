# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""The core of redis_wrapper: everything that talks to Redis.

The PostgreSQL side (src/*.c) calls the rw_* functions below, declared in
core_api.h; each is a thin wrapper over the core/ files.  They never raise
into C: every failure comes back as a status plus an RwError, and the C side
turns it into an ereport.  Nothing here calls PostgreSQL except through the
wait function the C side installs with rw_core_set_wait (see
core/net/transport.pxi).

core/ holds, in include order: errors and buffers; net/ (URLs, TLS, name
lookups, the transport); resp/ (the reply reader, the command writer and the
Target that plans write to); the session's handshake, the connection, finding a
primary through Sentinel (net/sentinel.pxi), a cluster's slots and the
pool (and the Endpoint a scan or a write reads from it with); rows; sources/ (the registry of source types, ranges of a list's
index or a sorted set's score, their plans and lookups); the planner; the scan;
write/ (rows to write as values, checks, pending commands, request rounds,
stream ids, the flush, statement and transaction state, modifies and their
descriptions); cluster/ (a Redis Cluster's slot map, and writes split per
slot); the keyspace's sample for IMPORT FOREIGN SCHEMA; the module's
Python API."""

from cpython.exc cimport PyErr_Occurred
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.stdint cimport uint64_t, int32_t, int64_t

from core_api cimport *

include "core/buffers.pxi"
include "core/errors.pxi"
include "core/net/url.pxi"
include "core/net/tls.pxi"
include "core/net/resolve.pxi"
include "core/net/transport.pxi"
include "core/resp/reader.pxi"
include "core/resp/writer.pxi"
include "core/session.pxi"
include "core/conn.pxi"
include "core/cluster/slots.pxi"
include "core/net/sentinel.pxi"
include "core/pool.pxi"
include "core/rows.pxi"
include "core/sources/registry.pxi"
include "core/sources/ranges.pxi"
include "core/sources/glob.pxi"
include "core/sources/plans.pxi"
include "core/sources/lookups.pxi"
include "core/planner.pxi"
include "core/scan.pxi"
include "core/write/values.pxi"
include "core/write/checks.pxi"
include "core/write/commands.pxi"
include "core/write/exchange.pxi"
include "core/write/stream_ids.pxi"
include "core/write/flush.pxi"
include "core/write/txn.pxi"
include "core/write/modify.pxi"
include "core/write/describe.pxi"
include "core/cluster/topology.pxi"
include "core/cluster/writes.pxi"
include "core/keyspace.pxi"
include "core/python_api.pxi"


cdef public void rw_core_set_wait(RwWaitFn fn, RwWaitReadableFn any) noexcept nogil:
    global g_wait, g_wait_readable
    g_wait = fn if fn != NULL else poll_wait
    g_wait_readable = any if any != NULL else poll_wait_readable


cdef public int rw_core_check_url(const char *url, RwError *err) noexcept with gil:
    cdef Url u
    try:
        u = parse_url(url.decode('utf-8', 'surrogateescape'))
        check_identity(u, u.user, u.password, False)
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_plan(const RwScanSpec *spec, RwPlanInfo *plan, RwError *err) noexcept with gil:
    """Which clauses Redis serves, an estimate and a description (no I/O, no secrets)."""
    cdef Pushdown d
    try:
        if not 0 <= spec.src_type < N_SOURCES:
            raise CoreError(RW_ERR_BAD_OPTION, "unknown source type %d" % spec.src_type)
        d = choose_pushdown(spec)
        plan.pushed = d.pushed
        plan.rows = estimate(spec, d)
        plan.keyed = keyed(spec, d)
        copy_text(plan.description, sizeof(plan.description), describe(spec, d))
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_scan_open(const RwScanSpec *spec, void **handle, RwError *err) noexcept with gil:
    cdef Scan s
    try:
        s = Scan()
        s.open(spec)
        Py_INCREF(s)
        handle[0] = <void *> s
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef int scan_next(void *handle, RwBatch *batch, RwError *err, bint wait) noexcept with gil:
    cdef Scan s = <Scan> handle
    try:
        if wait:
            s.next_batch(batch)
        else:
            s.try_next_batch(batch)
        return RW_OK
    except BaseException as e:
        s.failed(e)
        return report(err, e)


cdef public int rw_scan_next(void *handle, RwBatch *batch, RwError *err) noexcept with gil:
    return scan_next(handle, batch, err, True)


cdef public int rw_scan_try_next(void *handle, RwBatch *batch, RwError *err) noexcept with gil:
    """rw_scan_next without waiting for Redis: RW_WOULD_BLOCK then (rw_scan_socket says on what)."""
    return scan_next(handle, batch, err, False)


cdef public int rw_scan_socket(void *handle, int *wait_ms) noexcept with gil:
    cdef Scan s = <Scan> handle
    wait_ms[0] = -1
    if s.blocked_deadline:
        wait_ms[0] = <int> max(s.blocked_deadline - now_ms(), 0)
    return s.blocked_fd


cdef public void rw_scan_rescan(void *handle) noexcept with gil:
    cdef Scan s = <Scan> handle
    try:
        s.rescan()
    except BaseException:
        s.broke()                   # reported by the next rw_scan_next


cdef public int rw_scan_requalify(void *handle, const RwQual *quals, int nquals, RwError *err) noexcept with gil:
    cdef Scan s = <Scan> handle
    try:
        s.requalify(quals, nquals)
        return RW_OK
    except BaseException as e:
        s.failed(e)
        return report(err, e)


cdef public void rw_scan_close(void *handle) noexcept with gil:
    (<Scan> handle).close()
    Py_DECREF(<object> handle)


cdef public void rw_scan_stats(void *handle, RwScanStats *stats) noexcept with gil:
    """All the scan did since rw_scan_open, rescans included."""
    stats[0] = (<Scan> handle).counters.s


cdef public void rw_pool_invalidate(uint64_t key) noexcept with gil:
    pool_invalidate(key)


cdef public int rw_pool_describe(uint64_t key, char *where, size_t size) noexcept with gil:
    """Whether key has a pooled connection; if so, where it goes (no credentials)."""
    cdef Connection c = pool_any(key)
    if c is None:
        return 0
    copy_text(where, size, c.where())
    return 1


# -- writes -----------------------------------------------------------------

cdef public int rw_modify_describe(const RwScanSpec *spec, const RwModifySpec *m, char *description,
                                   size_t size, RwError *err) noexcept with gil:
    try:
        copy_text(description, size, describe_writes(spec, m))
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_modify_open(const RwScanSpec *spec, const RwModifySpec *m, void **handle,
                               RwError *err) noexcept with gil:
    cdef Modify w
    try:
        w = Modify()
        w.open(spec, m)
        Py_INCREF(w)
        handle[0] = <void *> w
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_modify_rows(void *handle, RwWriteRow *rows, int n, RwBatch *out,
                               RwError *err) noexcept with gil:
    try:
        (<Modify> handle).rows(rows, n, out)
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_modify_close(void *handle, RwError *err) noexcept with gil:
    try:
        (<Modify> handle).close()
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public void rw_modify_release(void *handle) noexcept with gil:
    (<Modify> handle).release()
    Py_DECREF(<object> handle)


cdef public int rw_xact_precommit(RwError *err) noexcept with gil:
    try:
        commit_pending()
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_xact_pending() noexcept with gil:
    return 1 if g_xact or g_commit is not None else 0


cdef public void rw_xact_abort() noexcept with gil:
    drop_pending()


cdef public void rw_xact_subabort(int level) noexcept with gil:
    subabort_pending(level)


cdef public void rw_xact_subcommit(int level) noexcept with gil:
    subcommit_pending(level)


# -- IMPORT FOREIGN SCHEMA --------------------------------------------------

cdef public int rw_sample_open(const RwScanSpec *spec, const char *pattern, int64_t sample, int with_fields,
                               void **handle, RwError *err) noexcept with gil:
    cdef Sampler s
    try:
        s = Sampler()
        s.open(spec, pattern, sample, with_fields != 0)
        Py_INCREF(s)
        handle[0] = <void *> s
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public int rw_sample_run(void *handle, RwKeyspace *out, RwError *err) noexcept with gil:
    try:
        (<Sampler> handle).run(out)
        return RW_OK
    except BaseException as e:
        return report(err, e)


cdef public void rw_sample_close(void *handle) noexcept with gil:
    (<Sampler> handle).close()
    Py_DECREF(<object> handle)

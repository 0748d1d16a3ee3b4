# The per-backend connection cache.  fdw.c names each connection by a key
# (server and role) and invalidates keys when their server or user mapping
# changes; a connection is also matched on everything it was dialled with, so
# a changed URL or password never reuses an old one.  Only idle connections
# are cached: a scan owns its connection until it ends, and one that was
# invalidated meanwhile is closed when the scan lets go of it.

cdef dict g_idle = {}           # key -> idle Connection
cdef dict g_generation = {}     # key -> bumped by each invalidation of that key
cdef long long g_epoch = 0      # bumped by each invalidation of every key


cdef tuple current_generation(object key):
    return (g_epoch, g_generation.get(key, 0))


cdef Connection pool_acquire(object key, tuple identity, Url url, TlsOptions tls):
    """A cached connection for key dialled with identity, or a new one (not dialled yet)."""
    cdef Connection c = g_idle.pop(key, None)
    if c is not None:
        if c.identity == identity and c.alive():
            c.reused = True
            return c
        c.close()
    c = Connection()
    c.key = key
    c.generation = current_generation(key)
    c.identity = identity
    c.transport.url = c.session.url = url
    c.transport.tls = tls
    c.session.user, c.session.password, c.transport.connect_timeout_ms, c.command_timeout_ms = identity[1:5]
    return c


cdef void pool_release(Connection c) noexcept:
    """Cache a connection that is ready, idle and current; close any other."""
    try:
        if (c.state == CS_READY and c.idle() and not c.reader.pending()
                and c.generation == current_generation(c.key) and c.key not in g_idle):
            c.settle()
            g_idle[c.key] = c
            return
    except BaseException:
        pass
    c.close()


cdef void pool_invalidate(object key) noexcept:
    """Forget the connections of key, or of every key when key is None."""
    global g_epoch
    cdef Connection c
    try:
        if key is None:
            g_epoch += 1
            keys = list(g_idle)
        else:
            g_generation[key] = g_generation.get(key, 0) + 1
            keys = [key]
        for k in keys:
            c = g_idle.pop(k, None)
            if c is not None:
                c.close()
    except BaseException:
        pass

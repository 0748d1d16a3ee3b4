# The source types, each defined once, here: its name and columns (which the
# PostgreSQL side reads through rw_source()), the Redis type it reads, and how
# its keys are read (which plans.pxi follows).  A new source type is a row of
# SOURCE_TABLE (and N_SOURCES one higher), and, if its keys are read in a new
# way, a plan.

cdef enum:
    N_SOURCES = 12              # rows of SOURCE_TABLE: RwScanSpec.src_type is an index

cdef enum ReadMode:             # how a source's key or keys are read
    READ_MEMBERS                # one command for a whole key, or its SCAN-style twin
    READ_RANGE                  # LRANGE/ZRANGE: the whole range, or index batches
    READ_STREAM                 # XRANGE: - +, or id batches
    READ_PATTERN                # SCAN MATCH TYPE, each key read whole
    READ_VALUE                  # GET: a string key's one value
    READ_KEYS                   # SCAN MATCH of any type: each key's TYPE (and what else is read)

cdef enum Order:                # what a READ_RANGE source's column 1 is, in whose order it reads
    ORDER_NONE                  # not a READ_RANGE source
    ORDER_INDEX                 # list: the element's 0-based index (LRANGE start stop)
    ORDER_SCORE                 # zset: the member's score (ZRANGE ... WITHSCORES, BYSCORE)

cdef enum WriteMode:            # how rows become writes (core/write), for a key or each pattern key
    WRITE_ELEMENTS              # list: appended, set by position; duplicates allowed
    WRITE_MEMBERS               # set: unique members
    WRITE_FIELDS                # hash: unique fields, each with a value
    WRITE_SCORED                # zset: unique members, each with a score
    WRITE_ENTRIES               # stream: entries by id, append-only
    WRITE_VALUE                 # string: one value per key (SET)
    WRITE_NONE                  # keys: read-only

cdef struct Source:
    RwSourceInfo info
    const char *redis_type      # what TYPE answers for it (for patterns: for each key)
    const char *read_all        # the command returning a whole key
    bint ranged                 # read_all takes the range 0 -1 (LRANGE, ZRANGE)
    const char *read_scan       # its incremental twin (SSCAN, HSCAN), or NULL
    bint pairs                  # replies alternate field and value
    bint scalar                 # read_all answers one string (or nil), not an array
    const char *batch_read      # reads many keys at once (MGET), or NULL
    const char *lookup          # reads given members of a key (HMGET...), or NULL
    bint lookup_flags           # it answers 0/1 per member (SMISMEMBER), not a value or nil
    const char *count           # answers how many rows a whole key makes (LLEN...), or NULL
    ReadMode reader
    Order order
    const char *range_count     # counts a range of column 1 (ZCOUNT), or NULL: LLEN's arithmetic
    int default_fetch           # RW_FETCH_ALL or RW_FETCH_SCAN
    WriteMode write_mode
    const char *insert          # adds to a key (RPUSH, SADD, HSET, ZADD, XADD)
    const char *remove          # removes given members (LREM, SREM, HDEL, ZREM, XDEL)
    const char *probe           # answers for given members whether (or as what) the key
                                # holds them: what a write's checks ask (LPOS, SMISMEMBER...)
    int probe_tag               # the Tag of probe's reply shape
    int ttl_col, expire_col     # the opt-in expiry columns (RW_KIND_INTERVAL_MS,
                                # RW_KIND_TIMESTAMP_MS), or -1

from libc.limits cimport LLONG_MAX

cdef long long INDEX_MAX = LLONG_MAX    # past a list's last index: ranges up to it are open

cdef tuple ELEMENT = ((b"element", RW_KIND_TEXT),)
# column 1 of a list and a sorted set is opt-in: a table may declare element alone.
cdef tuple ELEMENT_INDEX = ((b"element", RW_KIND_TEXT), (b"index", RW_KIND_INT8, True))
cdef tuple ELEMENT_SCORE = ((b"element", RW_KIND_TEXT), (b"score", RW_KIND_FLOAT8, True))
# Every key's expiry, opt-in: PTTL (and PEXPIRETIME) are asked only when read.
cdef tuple EXPIRY = ((b"ttl", RW_KIND_INTERVAL_MS, True), (b"expire_at", RW_KIND_TIMESTAMP_MS, True))
cdef tuple KEY_ITEMS = ((b"key", RW_KIND_TEXT), (b"items", RW_KIND_ITEMS)) + EXPIRY
# Key listing: column 1 the key's type; LENGTH_COL and MEMORY_COL opt-in as the expiry is.
cdef enum:
    TYPE_COL = 1
    LENGTH_COL = 4
    MEMORY_COL = 5
cdef tuple KEY_LISTING = ((b"key", RW_KIND_TEXT), (b"type", RW_KIND_TEXT)) + EXPIRY + \
    ((b"length", RW_KIND_INT8, True), (b"memory", RW_KIND_INT8, True))

def entry(name, columns, redis_type, read_all, reader, write, ranged=False, read_scan=None, pairs=False,
          lookup=None, lookup_flags=False, fetch=None, count=None, order=ORDER_NONE, range_count=None,
          scalar=False, batch_read=None, fields=False):
    """One source type: its name and columns; the Redis type it reads; the
    command returning a whole key (ranged: it takes 0 -1) and its incremental
    twin; whether replies alternate field and value; the command looking up
    given members by column 0 (lookup_flags: it answers 0/1, not values); its
    default fetch (None: the option does not apply); the command counting a
    whole key's rows; for READ_RANGE, what column 1 is (order) and the
    command counting a range of it.  write: how rows are written (a pattern
    table's keys each as its type's: *_WRITES).  scalar: read_all answers
    one string; batch_read reads many such keys in one command.  fields: a
    table's other columns are fields of each row (RW_FIELD_COLUMN)."""
    return (name, columns, redis_type, read_all, ranged, read_scan, pairs, lookup, lookup_flags,
            reader, fetch, count, order, range_count, write, scalar, batch_read, fields)


# (mode, insert, remove, probe, the probe's reply Tag) for each Redis type written.
cdef tuple LIST_WRITES = (WRITE_ELEMENTS, b"RPUSH", b"LREM", b"LPOS", T_FLAGS)
cdef tuple SET_WRITES = (WRITE_MEMBERS, b"SADD", b"SREM", b"SMISMEMBER", T_FLAGS)
cdef tuple HASH_WRITES = (WRITE_FIELDS, b"HSET", b"HDEL", b"HMGET", T_VALUES)
cdef tuple ZSET_WRITES = (WRITE_SCORED, b"ZADD", b"ZREM", b"ZMSCORE", T_VALUES)
cdef tuple STREAM_WRITES = (WRITE_ENTRIES, b"XADD", b"XDEL", b"XRANGE", T_ENTRIES)
cdef tuple STRING_WRITES = (WRITE_VALUE, b"SET", b"DEL", b"GET", T_VALUE)
cdef tuple NO_WRITES = (WRITE_NONE, b"", b"", b"", T_STATUS)


cdef tuple SOURCE_TABLE = (
    entry(b"list", ELEMENT_INDEX, b"list", b"LRANGE", READ_RANGE, LIST_WRITES, ranged=True,
          fetch=RW_FETCH_SCAN, count=b"LLEN", order=ORDER_INDEX),
    entry(b"set", ELEMENT, b"set", b"SMEMBERS", READ_MEMBERS, SET_WRITES, read_scan=b"SSCAN",
          lookup=b"SMISMEMBER", lookup_flags=True, fetch=RW_FETCH_ALL, count=b"SCARD"),
    entry(b"hash", ((b"key", RW_KIND_TEXT), (b"value", RW_KIND_TEXT)), b"hash", b"HGETALL", READ_MEMBERS,
          HASH_WRITES, read_scan=b"HSCAN", pairs=True, lookup=b"HMGET", fetch=RW_FETCH_ALL, count=b"HLEN"),
    entry(b"zset", ELEMENT_SCORE, b"zset", b"ZRANGE", READ_RANGE, ZSET_WRITES, ranged=True, lookup=b"ZMSCORE",
          fetch=RW_FETCH_SCAN, count=b"ZCARD", order=ORDER_SCORE, range_count=b"ZCOUNT"),
    entry(b"stream", ((b"id", RW_KIND_TEXT), (b"items", RW_KIND_ITEMS)), b"stream", b"XRANGE", READ_STREAM,
          STREAM_WRITES, pairs=True, lookup=b"XRANGE", fetch=RW_FETCH_SCAN, count=b"XLEN", fields=True),
    # A pattern's keys are looked up by reading each named key whole.
    entry(b"multi_list", KEY_ITEMS, b"list", b"LRANGE", READ_PATTERN, LIST_WRITES, ranged=True,
          lookup=b"LRANGE"),
    entry(b"multi_set", KEY_ITEMS, b"set", b"SMEMBERS", READ_PATTERN, SET_WRITES, lookup=b"SMEMBERS"),
    # Hashes as rows: field columns are read by HMGET, beside or instead of HGETALL.
    entry(b"multi_hash", KEY_ITEMS, b"hash", b"HGETALL", READ_PATTERN, HASH_WRITES, pairs=True,
          lookup=b"HGETALL", fields=True),
    entry(b"multi_zset", KEY_ITEMS, b"zset", b"ZRANGE", READ_PATTERN, ZSET_WRITES, ranged=True,
          lookup=b"ZRANGE"),
    # EXISTS counts the key (a string, TYPE says first): 0 or 1 row.
    entry(b"string", ((b"value", RW_KIND_TEXT),) + EXPIRY, b"string", b"GET", READ_VALUE, STRING_WRITES,
          scalar=True, count=b"EXISTS"),
    # Without the expiry columns, each SCAN reply's keys are read by one MGET.
    entry(b"multi_string", ((b"key", RW_KIND_TEXT), (b"value", RW_KIND_TEXT)) + EXPIRY, b"string", b"GET",
          READ_PATTERN, STRING_WRITES, lookup=b"GET", scalar=True, batch_read=b"MGET"),
    # Keys of every type (redis_type empty: SCAN without TYPE); each named key's TYPE.
    entry(b"keys", KEY_LISTING, b"", b"TYPE", READ_KEYS, NO_WRITES, lookup=b"TYPE"),
)

# The C structs point into SOURCE_TABLE's bytes, which live as long as the module.
cdef Source SOURCES[N_SOURCES]


cdef int load_sources() except -1:
    cdef Source *s
    cdef int i, c
    assert len(SOURCE_TABLE) == N_SOURCES
    for i in range(N_SOURCES):
        (name, columns, redis_type, read_all, ranged, read_scan, pairs, lookup, lookup_flags,
         reader, fetch, count, order, range_count, write, scalar, batch_read, fields) = SOURCE_TABLE[i]
        s = &SOURCES[i]
        s.info.name = name
        assert len(columns) <= RW_MAX_COLUMNS
        s.info.ncolumns = len(columns)
        s.ttl_col = s.expire_col = -1
        for c in range(len(columns)):
            s.info.columns[c].name = columns[c][0]
            s.info.columns[c].kind = columns[c][1]
            s.info.columns[c].opt_in = len(columns[c]) > 2 and columns[c][2]
            if columns[c][1] == RW_KIND_INTERVAL_MS:
                s.ttl_col = c
            elif columns[c][1] == RW_KIND_TIMESTAMP_MS:
                s.expire_col = c
        s.info.has_fetch = fetch is not None
        s.redis_type = redis_type
        s.read_all = read_all
        s.ranged = ranged
        s.read_scan = NULL
        if read_scan is not None:
            s.read_scan = read_scan
        s.pairs = pairs
        s.scalar = scalar
        s.batch_read = NULL
        if batch_read is not None:
            s.batch_read = batch_read
        s.lookup = NULL
        if lookup is not None:
            s.lookup = lookup
        s.lookup_flags = lookup_flags
        s.reader = reader
        s.count = NULL
        if count is not None:
            s.count = count
        s.order = order
        # Column 1 (index, score) is the order every plan of such a source keeps.
        s.info.ordered_by = 1 if order != ORDER_NONE else -1
        # ZRANGE ... REV reads a sorted set from its highest score; LRANGE has no twin.
        s.info.reversible = order == ORDER_SCORE
        # LLEN and friends: a pattern's count is a SCAN of the keyspace instead.
        s.info.sized = count is not None
        # replies of field/value pairs: items (multi_hash, stream) are objects
        s.info.object_items = pairs
        s.info.field_columns = fields
        s.range_count = NULL
        if range_count is not None:
            s.range_count = range_count
        s.default_fetch = fetch if fetch is not None else RW_FETCH_ALL
        s.write_mode, s.insert, s.remove, s.probe, s.probe_tag = write
    return 0


load_sources()


cdef public const RwSourceInfo *rw_source(int i) noexcept nogil:
    return &SOURCES[i].info if 0 <= i < N_SOURCES else NULL

# What of a scan's clauses Redis serves.  Decided from the clauses' columns
# and operators alone, never their values, so that planning (where a
# parameter has no value yet) and execution agree: one clause on column 0 (a
# hash field, a set or sorted-set member, a stream id, a pattern table's key)
# is served by a lookup of its values, or, for a pattern table, a LIKE prefix
# by a narrower SCAN MATCH; and every comparison on a list's index or a sorted
# set's score (column 1), together, by one range in the source's own order
# (LRANGE, ZRANGE BYSCORE), or as a filter of a sorted set's lookup.
# Everything else stays a filter in PostgreSQL.

cdef class Pushdown:
    cdef int qual                   # the column-0 clause Redis serves (a lookup), -1 for none
    cdef int op                     # its RwOperator
    cdef list values                # at execution: its values, distinct, in order
    cdef bint param                 # some clause served has a parameter's values
    cdef uint64_t pushed            # bit i: quals[i] is served
    cdef Range range                # the clauses served on column 1, or None

    def __cinit__(self):
        self.qual = -1


cdef bint stream_id(bytes v):
    """Whether v is a stream id as Redis writes one ("ms-seq", no leading zeros,
    each part below 2**64): only such text can equal an entry's id."""
    ms, dash, seq = v.partition(b'-')
    for part in (ms, seq):
        if not part or not part.isdigit() or (len(part) > 1 and part[0] == 0x30) or len(part) > 20 \
                or int(part) >= 1 << 64:
            return False
    return bool(dash)


cdef inline bint is_pattern(const Source *src) noexcept:
    """Whether the table's src_key is a pattern, its rows keys of it."""
    return src.reader == READ_PATTERN or src.reader == READ_KEYS


cdef Pushdown choose_pushdown(const RwScanSpec *spec):
    cdef Pushdown d = Pushdown()
    cdef int n = min(spec.nquals, RW_MAX_QUALS)
    choose_lookup(spec, n, d)
    if SOURCES[spec.src_type].order != ORDER_NONE:
        choose_range(spec, n, d)
    return d


cdef int choose_lookup(const RwScanSpec *spec, int n, Pushdown d) except -1:
    """The first clause on column 0 that a lookup serves (see the top)."""
    cdef const Source *src = &SOURCES[spec.src_type]
    cdef const RwQual *q
    cdef int i, k
    cdef bint pattern = is_pattern(src)
    cdef bytes table_key = spec.key
    if src.lookup == NULL or (pattern and not glob_simple(table_key)):
        return 0
    for i in range(n):
        q = &spec.quals[i]
        if q.column != 0 or not (q.op == RW_OP_EQ or (q.op == RW_OP_PREFIX and pattern)):
            continue
        d.qual = i
        d.op = q.op
        d.pushed |= (<uint64_t> 1) << i
        d.param = q.nvalues < 0
        if d.param:
            return 0
        seen = set()
        d.values = []
        for k in range(q.nvalues):
            v = q.values[k].p[:q.values[k].len]
            if v in seen:
                continue
            seen.add(v)
            # A value the full scan could not have found matches nothing.
            if src.reader == READ_STREAM and not stream_id(v):
                continue
            if pattern and q.op == RW_OP_EQ and not glob_matches(table_key, v):
                continue
            d.values.append(v)
        return 0
    return 0


cdef int choose_range(const RwScanSpec *spec, int n, Pushdown d) except -1:
    """Every comparison on column 1 of a list or sorted set: their conjunction
    is one Range.  (A comparison has one value, none for a NULL; several
    values are an IN list's, which only = has.)"""
    cdef const RwQual *q
    cdef int i, k
    cdef bint by_score = SOURCES[spec.src_type].order == ORDER_SCORE
    cdef Range r = Range(by_score)
    for i in range(n):
        q = &spec.quals[i]
        if q.column != 1 or not (q.op == RW_OP_EQ or (RW_OP_LT <= q.op <= RW_OP_GE and q.nvalues <= 1)):
            continue
        d.pushed |= (<uint64_t> 1) << i
        d.range = r
        if q.nvalues < 0:
            d.param = True
            continue
        r.restrict(q.op, [parse_number(q.values[k].p[:q.values[k].len], by_score) for k in range(q.nvalues)])
    if d.range is not None and not d.param:
        r.close()
        if d.qual >= 0 and r.empty():
            d.values = []               # the lookup would find nothing within the range
    return 0


cdef int keyed(const RwScanSpec *spec, Pushdown d) noexcept:
    """The = clause served by a lookup, whose values each give at most one
    row (a member, a field, an id or a key names one), its column 0 that
    value as asked, whatever other values are asked with it: the C side may
    then ask for many outer rows' values at once and share the rows out.
    -1 for any other scan (a prefix, a range, a count)."""
    if spec.count_only or d.qual < 0 or d.op != RW_OP_EQ:
        return -1
    return d.qual


cdef str describe(const RwScanSpec *spec, Pushdown d):
    """What the scan asks Redis, for EXPLAIN."""
    cdef const Source *src = &SOURCES[spec.src_type]
    key = shown(spec.key)
    if spec.count_only:
        if d.qual >= 0:
            return describe_lookup(spec, d) + ", counting the rows"
        if d.range is not None:
            return describe_range(spec, d, True)
        if is_pattern(src):
            return 'SCAN MATCH "%s"%s, counting the keys' % (key, scan_type(src))
        return '%s "%s"' % (src.count.decode(), key)
    if d.qual >= 0:
        return describe_lookup(spec, d)
    if d.range is not None:
        return describe_range(spec, d, False)
    return '%s "%s"' % (src.info.name.decode(), key)


cdef str scan_type(const Source *src):
    """SCAN's TYPE option for a pattern source, for EXPLAIN."""
    return " TYPE %s" % src.redis_type.decode() if src.redis_type[0] else ""


cdef bint batched(const Source *src, const bint *want) noexcept:
    """Whether a pattern source's keys are read many per command (MGET):
    not when each key's expiry is read too, pipelined behind its GET."""
    return src.batch_read != NULL and expiry_of(src, want) is None


cdef bint reads_fields(const RwScanSpec *spec) noexcept:
    """Whether the query reads field columns."""
    cdef int j
    for j in range(spec.nfields if spec.want_fields != NULL else 0):
        if spec.want_fields[j]:
            return True
    return False


cdef str describe_lookup(const RwScanSpec *spec, Pushdown d):
    cdef const Source *src = &SOURCES[spec.src_type]
    cdef bint want[RW_MAX_COLUMNS]
    key = shown(spec.key)
    many = "values of a parameter" if d.param else "%d values" % len(d.values)
    for i in range(RW_MAX_COLUMNS):
        want[i] = spec.want[i] != 0
    read = (src.batch_read if batched(src, want) else src.read_all).decode()
    if is_pattern(src) and reads_fields(spec):     # hashes as rows: HMGET of the fields read
        read = "%s + HMGET" % read if want[1] else "HMGET"
    if d.op == RW_OP_PREFIX and (d.param or d.values):
        return 'SCAN MATCH "%s*"%s, then %s of each key matching "%s"' % (
            glob_escape(d.values[0]).decode('utf-8', 'backslashreplace') if not d.param else '<parameter>',
            scan_type(src), read, key)
    if is_pattern(src):
        return '%s of the keys named (%s) matching "%s"' % (read, many, key)
    if src.reader == READ_STREAM:
        return 'XRANGE "%s" id id for each id (%s)' % (key, many)
    text = '%s "%s" (%s)' % (src.lookup.decode(), key, many)
    if d.range is not None:
        text += ', keeping scores %s' % ('given by parameters' if d.param else d.range.shown())
    return text


cdef str describe_range(const RwScanSpec *spec, Pushdown d, bint count_only):
    """LRANGE "l" 10 19, ZRANGE "z" (1 5 BYSCORE, or their counts."""
    cdef const Source *src = &SOURCES[spec.src_type]
    cdef Range r = d.range
    key = shown(spec.key)
    if d.param:
        spans = '<parameters>'
    elif r.empty():
        return 'nothing: the %s range of "%s" is empty' % ("score" if r.by_score else "index", key)
    else:
        spans = r.shown()
    if count_only and not r.by_score:
        return '%s "%s", counting the rows of LRANGE %s' % (src.count.decode(), key, spans)
    command = src.range_count if count_only else src.read_all
    text = '%s "%s" %s' % (command.decode(), key, spans)
    if r.by_score and not count_only:
        text += ' BYSCORE' + (' WITHSCORES' if spec.want[1] else '')
    return text


cdef double estimate(const RwScanSpec *spec, Pushdown d):
    """Rows fetched: a lookup's values, a range's points or indexes; -1: unknown."""
    cdef Range r = d.range
    if spec.count_only:
        return 1
    if d.qual >= 0:
        if d.op == RW_OP_PREFIX:
            return -1
        return 1 if d.param else len(d.values)
    if r is None or d.param:
        return -1
    if r.points is not None:
        return len(r.points)
    return -1 if r.by_score or r.hi == INDEX_MAX else r.hi - r.lo + 1


cdef int unbatch(PatternPlan pp, int src_type) except -1:
    """Keys read one per command, as on a Redis Cluster: an MGET of keys of
    several slots is refused there (CROSSSLOT), even on one node."""
    cdef const Source *src = &SOURCES[src_type]
    if pp.batched:
        pp.batched = False
        pp.command = src.read_all
        pp.fetch_shape = &rw_string_or_nil
    return 0


cdef Plan make_plan(int src_type, bytes key, int fetch, Pushdown d, bint count_only, const bint *want,
                    bint rev, Fields fields):
    """The plan that reads a source as its registry entry says, serving the
    pushed clauses d; fetch picks one command for all of a key (RW_FETCH_ALL)
    or incremental reads.  count_only: a whole source or a range is counted
    by Redis (LLEN..., ZCOUNT, or SCAN's keys); a lookup's rows are counted as
    they come.  want: the columns read (a sorted set's scores are asked for,
    WITHSCORES, only when read; a key's expiry, length or memory likewise).
    rev: a reversible source's rows from the highest score down.  fields:
    the field columns read (multi_hash, stream), or None."""
    cdef const Source *src = &SOURCES[src_type]
    cdef Plan plan
    cdef SingleKeyPlan sp
    cdef PatternPlan pp
    cdef KeyListPlan kp
    cdef LookupPlan lp
    cdef StreamPlan st
    cdef MembersPlan mp
    cdef RangePlan rp
    # A prefix clause has its one value from quals.c; without one, no key matches.
    cdef bint prefix = d.qual >= 0 and d.op == RW_OP_PREFIX and bool(d.values)
    cdef bint lookup = d.qual >= 0 and not prefix
    cdef bint counted = count_only and not lookup
    cdef bint want_column1 = want[1]
    if is_pattern(src):
        if counted:
            pp = PatternCountPlan()
        elif src.reader == READ_KEYS:
            kp = KeyListPlan()
            kp.by_type, kp.memory = want[LENGTH_COL], want[MEMORY_COL]
            kp.expiry = expiry_of(src, want)
            kp.trailing = (kp.expiry.replies() if kp.expiry is not None else 0) + kp.memory
            pp = kp
        else:
            pp = PatternPlan()
            pp.expiry = expiry_of(src, want)
            pp.batched = batched(src, want)
            if fields is not None:
                pp.fields = fields
                pp.fields_only = not want[1]
                pp.extra_due = not pp.fields_only
                if pp.fields_only and pp.expiry is None:
                    pp.expiry = Expiry()        # PTTL alone: whether the key exists
                    pp.expiry.ttl_col = pp.expiry.expire_col = -1
        if lookup:
            pp.values = d.values
        pp.pattern = key
        if prefix:
            pp.pattern, pp.filter = glob_escape(d.values[0]) + b"*", key
        # Where PostgreSQL no longer checks the LIKE, the keys' prefix is checked here.
        pp.check_pattern = prefix
        pp.scan_type, pp.ranged, pp.pairs, pp.scalar = src.redis_type, src.ranged, src.pairs, src.scalar
        pp.command = src.batch_read if pp.batched else src.read_all
        pp.fetch_shape = &rw_values if pp.batched else &rw_string_or_nil if src.scalar else \
            &rw_pairs if src.pairs else &rw_strings
        plan = pp
    else:
        if counted and d.range is not None:
            if d.range.by_score:
                sp = ScoreCountPlan()
                (<ScoreCountPlan> sp).spans = d.range.spans()
            else:
                sp = IndexCountPlan()
                (<IndexCountPlan> sp).spans = d.range.spans()
            sp.command = src.range_count if d.range.by_score else src.count
            sp.fetch_shape = &rw_integer
        elif counted:
            sp = CountPlan()
            sp.command, sp.fetch_shape = src.count, &rw_integer
        elif src.reader == READ_VALUE:
            sp = ValuePlan()
            sp.expiry = expiry_of(src, want)
            sp.command, sp.fetch_shape = src.read_all, &rw_string_or_nil
        elif src.reader == READ_STREAM:
            st = StreamLookupPlan() if lookup else StreamPlan()
            if lookup:
                (<StreamLookupPlan> st).values = d.values
            st.whole = lookup or fetch == RW_FETCH_ALL      # a lookup asks no follow-up
            st.command, st.fetch_shape = src.read_all, &rw_entries
            st.fields = fields
            sp = st
        elif lookup:
            lp = LookupPlan()
            lp.values, lp.pairs, lp.by_score = d.values, src.pairs, src.order == ORDER_SCORE
            lp.scores = d.range
            lp.scored = []
            lp.command = src.lookup
            lp.fetch_shape = &rw_flags if src.lookup_flags else &rw_values
            sp = lp
        else:
            if d.range is not None or (fetch == RW_FETCH_SCAN and src.reader == READ_RANGE):
                # list and zset: batches of indexes, or of a score range, span after span
                rp = ScoreRangePlan() if d.range is not None and d.range.by_score else RangePlan()
                rp.spans = d.range.spans() if d.range is not None else [(0, INDEX_MAX)]
                if rev and d.range is not None:
                    rp.spans.reverse()
                rp.whole = fetch == RW_FETCH_ALL
                mp = rp
            else:
                mp = CursorPlan() if fetch == RW_FETCH_SCAN else MembersPlan()
                mp.ranged = src.ranged
            # Column 1 is a list element's index, or a sorted set member's score (WITHSCORES).
            mp.numbered = src.order == ORDER_INDEX
            mp.scored = src.order == ORDER_SCORE and want_column1
            mp.pairs = src.pairs or mp.scored
            if isinstance(mp, CursorPlan):
                mp.command = src.read_scan
                mp.fetch_shape = &rw_scan_pairs if mp.pairs else &rw_scan_strings
            else:
                mp.command = src.read_all
                mp.fetch_shape = &rw_pairs if mp.pairs else &rw_strings
            sp = mp
        sp.type_name = src.redis_type
        plan = sp
    plan.key = key
    plan.rev = rev and src.info.reversible and not count_only
    return plan

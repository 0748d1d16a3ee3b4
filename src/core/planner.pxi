# What of a scan's clauses Redis serves.  Decided from the spec alone, so that
# planning (where a parameter has no value yet) and execution agree: one
# clause on column 0 (a hash field, a set or sorted-set member, a stream id,
# a pattern table's key) is served by a lookup of its values, or, for a
# pattern table, a LIKE prefix by a narrower SCAN MATCH.  Everything else
# stays a filter in PostgreSQL.

cdef class Pushdown:
    cdef int qual                   # the clause Redis serves, -1 for none
    cdef int op                     # its RwOperator
    cdef list values                # at execution: its values, distinct, in order
    cdef bint param                 # its values come from a parameter

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


cdef Pushdown choose_pushdown(const RwScanSpec *spec):
    cdef Pushdown d = Pushdown()
    cdef const Source *src = &SOURCES[spec.src_type]
    cdef const RwQual *q
    cdef int i, k
    cdef bint pattern = src.reader == READ_PATTERN
    cdef bytes table_key = spec.key
    if src.lookup == NULL or (pattern and not glob_simple(table_key)):
        return d
    for i in range(min(spec.nquals, RW_MAX_QUALS)):
        q = &spec.quals[i]
        if q.column != 0 or not (q.op == RW_OP_EQ or (q.op == RW_OP_PREFIX and pattern)):
            continue
        d.qual = i
        d.op = q.op
        d.param = q.nvalues < 0
        if d.param:
            return d
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
        return d
    return d


cdef str describe(const RwScanSpec *spec, Pushdown d):
    """What the scan asks Redis, for EXPLAIN."""
    cdef const Source *src = &SOURCES[spec.src_type]
    key = shown(spec.key)
    if spec.count_only:
        if d.qual >= 0:
            return describe_lookup(spec, d) + ", counting the rows"
        if src.reader == READ_PATTERN:
            return 'SCAN MATCH "%s" TYPE %s, counting the keys' % (key, src.redis_type.decode())
        return '%s "%s"' % (src.count.decode(), key)
    if d.qual < 0:
        return '%s "%s"' % (src.info.name.decode(), key)
    return describe_lookup(spec, d)


cdef str describe_lookup(const RwScanSpec *spec, Pushdown d):
    cdef const Source *src = &SOURCES[spec.src_type]
    key = shown(spec.key)
    many = "values of a parameter" if d.param else "%d values" % len(d.values)
    if d.op == RW_OP_PREFIX and (d.param or d.values):
        return 'SCAN MATCH "%s*" TYPE %s, then %s of each key matching "%s"' % (
            glob_escape(d.values[0]).decode('utf-8', 'backslashreplace') if not d.param else '<parameter>',
            src.redis_type.decode(), src.read_all.decode(), key)
    if src.reader == READ_PATTERN:
        return '%s of the keys named (%s) matching "%s"' % (src.read_all.decode(), many, key)
    if src.reader == READ_STREAM:
        return 'XRANGE "%s" id id for each id (%s)' % (key, many)
    return '%s "%s" (%s)' % (src.lookup.decode(), key, many)


cdef double estimate(const RwScanSpec *spec, Pushdown d):
    if spec.count_only:
        return 1
    if d.qual < 0 or d.op == RW_OP_PREFIX:
        return -1
    return 1 if d.param else len(d.values)


cdef Plan make_plan(int src_type, bytes key, int fetch, Pushdown d, bint count_only):
    """The plan that reads a source as its registry entry says, serving the
    pushed clause d; fetch picks one command for all of a key (RW_FETCH_ALL)
    or incremental reads.  count_only: a whole source is counted by Redis
    (LLEN..., or SCAN's keys); a lookup's rows are counted as they come."""
    cdef const Source *src = &SOURCES[src_type]
    cdef Plan plan
    cdef SingleKeyPlan sp
    cdef PatternPlan pp
    cdef LookupPlan lp
    cdef StreamPlan st
    cdef MembersPlan mp
    # A prefix clause has its one value from quals.c; without one, no key matches.
    cdef bint prefix = d.qual >= 0 and d.op == RW_OP_PREFIX and bool(d.values)
    cdef bint lookup = d.qual >= 0 and not prefix
    cdef bint counted = count_only and d.qual < 0
    if src.reader == READ_PATTERN:
        pp = KeysPlan() if lookup else PatternCountPlan() if counted else PatternPlan()
        if lookup:
            (<KeysPlan> pp).values = d.values
        pp.pattern = key
        if prefix:
            pp.pattern, pp.filter = glob_escape(d.values[0]) + b"*", key
        pp.scan_type, pp.ranged, pp.pairs = src.redis_type, src.ranged, src.pairs
        pp.command = src.read_all
        pp.fetch_shape = &rw_pairs if src.pairs else &rw_strings
        plan = pp
    else:
        if counted:
            sp = CountPlan()
            sp.command, sp.fetch_shape = src.count, &rw_integer
        elif src.reader == READ_STREAM:
            st = StreamLookupPlan() if lookup else StreamPlan()
            if lookup:
                (<StreamLookupPlan> st).values = d.values
            st.whole = lookup or fetch == RW_FETCH_ALL      # a lookup asks no follow-up
            st.command, st.fetch_shape = src.read_all, &rw_entries
            sp = st
        elif lookup:
            lp = LookupPlan()
            lp.values, lp.pairs, lp.by_score = d.values, src.pairs, src.reader == READ_RANGE
            lp.scored = []
            lp.command = src.lookup
            lp.fetch_shape = &rw_flags if src.lookup_flags else &rw_values
            sp = lp
        elif fetch == RW_FETCH_SCAN and src.reader == READ_RANGE:
            sp = RangePlan()            # list and zset: index batches
            sp.command, sp.fetch_shape = src.read_all, &rw_strings
        else:
            mp = CursorPlan() if fetch == RW_FETCH_SCAN else MembersPlan()
            mp.pairs, mp.ranged = src.pairs, src.ranged
            if fetch == RW_FETCH_SCAN:
                mp.command = src.read_scan
                mp.fetch_shape = &rw_scan_pairs if src.pairs else &rw_scan_strings
            else:
                mp.command = src.read_all
                mp.fetch_shape = &rw_pairs if src.pairs else &rw_strings
            sp = mp
        sp.type_name = src.redis_type
        plan = sp
    plan.key = key
    return plan

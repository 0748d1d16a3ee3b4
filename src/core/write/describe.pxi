# What EXPLAIN says a modify does (rw_modify_describe): its Redis commands,
# what checks them, and when they are applied.  No I/O, no secrets.

cdef str describe_writes(const RwScanSpec *spec, const RwModifySpec *m):
    cdef const Source *src
    if not 0 <= spec.src_type < N_SOURCES:
        raise CoreError(RW_ERR_BAD_OPTION, "unknown source type %d" % spec.src_type)
    src = &SOURCES[spec.src_type]
    refuse_unsupported(src, m)
    key = shown(spec.key)
    insert, remove, probe = src.insert.decode(), src.remove.decode(), src.probe.decode()
    per_key = src.reader == READ_PATTERN
    mode = src.write_mode
    expiry = "PEXPIRE/PEXPIREAT/PERSIST"
    fields = "HSET/HDEL"            # hashes as rows: the fields an UPDATE assigns
    sets_fields = m.set_fields != NULL and any([m.set_fields[i] for i in range(spec.nfields)])
    sets_expiry = src.ttl_col >= 0 and m.set_mask >> src.ttl_col & 3
    if per_key:
        target = "keys matching %s" % key
        probe = "EXISTS" if m.op == RW_WRITE_INSERT else src.read_all.decode()
        if mode == WRITE_VALUE:
            replace = "SET KEEPTTL" if not m.set_mask & 1 else "RENAME + SET KEEPTTL"
        else:
            replace = "DEL + %s" % insert
        commands = {RW_WRITE_INSERT: insert,
                    RW_WRITE_UPDATE: replace if m.set_mask & 2 else "RENAME" if m.set_mask & 1 else
                    fields if sets_fields else expiry,
                    RW_WRITE_DELETE: "DEL",
                    RW_WRITE_TRUNCATE: "SCAN MATCH TYPE %s + DEL" % src.redis_type.decode()}[m.op]
    elif mode == WRITE_VALUE:
        target = key
        probe = "EXISTS" if m.op == RW_WRITE_INSERT else "GET"
        commands = {RW_WRITE_INSERT: insert, RW_WRITE_UPDATE: "SET KEEPTTL" if m.set_mask & 1 else expiry,
                    RW_WRITE_DELETE: "DEL", RW_WRITE_TRUNCATE: "DEL"}[m.op]
    else:
        target = key
        if m.op == RW_WRITE_INSERT:
            commands = insert
        elif m.op == RW_WRITE_UPDATE:
            commands = {WRITE_ELEMENTS: "LSET", WRITE_MEMBERS: "%s + %s" % (remove, insert),
                        WRITE_FIELDS: insert if not m.set_mask & 1 else "%s + %s" % (remove, insert),
                        WRITE_SCORED: "ZADD XX" if not m.set_mask & 1 else "%s + %s" % (remove, insert)}[mode]
        elif m.op == RW_WRITE_DELETE:
            commands = "LSET + LREM" if mode == WRITE_ELEMENTS else remove
        else:
            commands = "DEL"
        if mode == WRITE_ELEMENTS and m.op != RW_WRITE_DELETE:
            probe = "LINDEX"
        elif mode == WRITE_ELEMENTS:
            probe = "LINDEX or LPOS"
        elif mode == WRITE_ENTRIES:
            probe = "XINFO STREAM" if m.op == RW_WRITE_INSERT else "XRANGE"
    if m.op == RW_WRITE_UPDATE and sets_fields and commands != fields:
        commands += " + " + fields
    if m.op == RW_WRITE_UPDATE and sets_expiry and commands != expiry:
        commands += " + " + expiry
    text = "%s %s" % (commands, target)
    if m.op != RW_WRITE_TRUNCATE and not (m.op == RW_WRITE_INSERT and mode == WRITE_ELEMENTS and not per_key):
        text += ", checked with %s" % probe
    if m.transactional:
        return text + ", applied at commit in MULTI/EXEC (transactional)"
    return text + ", applied at statement end in MULTI/EXEC"

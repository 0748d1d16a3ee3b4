# One modify (a table's INSERT, UPDATE, DELETE or TRUNCATE in a statement):
# each row becomes write commands and the checks that guard them, per the
# source's write mode (registry.pxi), as the semantics table of the README
# says.  A row's side effects happen after its only possible wait (a read
# it needs now), so a call interrupted there resumes at that row.

import time

# Redis refuses expiries near LLONG_MAX ms, but only inside MULTI: refused here first.
cdef long long MAX_EXPIRY_MS = (<long long> 1) << 62

cdef enum ModifyState:
    M_OPEN
    M_CLOSING                   # its writes handed on; the statement's flush may be under way
    M_CLOSED


cdef class Modify:
    cdef Endpoint ep
    cdef const Source *src
    cdef WriteMode mode
    cdef int op, set_mask, level
    cdef long long default_ttl_ms   # INSERT: the expiry of keys created without one
    cdef bint skip, returning, transactional, per_key, touched
    cdef bytes key                  # the table's key, or its pattern
    cdef bytes type_name, insert_cmd, remove_cmd
    cdef bytes placeholder          # list DELETE by index: what LSET marks the positions with
    cdef Writes w
    cdef set seen                   # UPDATE/DELETE: row identities done; a second is skipped
    cdef set added                  # members, fields or keys the statement adds
    cdef Rows out                   # RETURNING
    cdef ModifyState state
    cdef Py_ssize_t at              # rows of the current call done (a resumed call goes on there)
    cdef bint in_call
    cdef Py_ssize_t base            # bytes the closed modifies held when this one opened
    cdef Exchange reading           # a row's read in flight
    cdef StreamIds ids
    cdef Pending pending            # statement mode
    cdef list field_names           # the table's field columns' fields (RwScanSpec.fields)
    cdef list set_fields            # UPDATE: whether each is assigned

    cdef int open(self, const RwScanSpec *spec, const RwModifySpec *m) except -1:
        cdef int i
        if not 0 <= spec.src_type < N_SOURCES:
            raise CoreError(RW_ERR_BAD_OPTION, "unknown source type %d" % spec.src_type)
        if not 0 <= m.op <= <int> RW_WRITE_TRUNCATE:
            raise CoreError(RW_ERR_INTERNAL, "unknown write %d" % m.op)
        self.src = &SOURCES[spec.src_type]
        self.mode = self.src.write_mode
        self.op, self.set_mask, self.level = m.op, m.set_mask, m.level
        self.skip, self.returning, self.transactional = m.on_conflict_skip != 0, m.returning != 0, m.transactional != 0
        self.per_key = self.src.reader == READ_PATTERN
        self.key = spec.key
        self.type_name, self.insert_cmd, self.remove_cmd = self.src.redis_type, self.src.insert, self.src.remove
        self.default_ttl_ms = max(spec.default_ttl_ms, 0)
        refuse_unsupported(self.src, m)
        if spec.nfields < 0 or (spec.nfields > 0 and not self.src.info.field_columns):
            raise CoreError(RW_ERR_INTERNAL, "field columns for a source without them")
        self.field_names = [spec.fields[i].p[:spec.fields[i].len] for i in range(spec.nfields)]
        self.set_fields = [m.set_fields != NULL and m.set_fields[i] != 0 for i in range(spec.nfields)]
        self.ep = Endpoint()
        self.ep.from_spec(spec)
        self.w = Writes()
        self.seen, self.added = set(), set()
        self.out = Rows()
        self.out.width = RW_CELLS_PER_ROW + spec.nfields
        for i in range(RW_MAX_COLUMNS):
            self.out.want[i] = True
        # Modifies close only at the statement's end: what they hold is fixed meanwhile.
        self.base = held_bytes()
        if self.op == RW_WRITE_TRUNCATE:
            self.truncate()
        if not self.transactional:
            self.pending = statement_pending(self.ep)
        return 0

    # -- the entry points' work ------------------------------------------
    cdef int rows(self, RwWriteRow *rows, int n, RwBatch *out) except -1:
        cdef RwWriteRow *r
        if self.state != M_OPEN:
            raise CoreError(RW_ERR_INTERNAL, "rows for a closed modify")
        if not self.in_call:
            self.in_call = True
            self.at = 0
            if self.returning:
                self.out.clear()
        while self.at < n:
            r = &rows[self.at]
            if self.returning:
                self.out.begin()
            r.written = self.row(r)
            if self.returning:
                self.out.commit()
            if self.w.size() + self.base > g_max_pending:
                raise too_large()
            self.at += 1
        self.in_call = False
        if out != NULL:
            out.base = self.out.arena.data
            out.cells = self.out.cells
            out.cells_per_row = self.out.width
            out.nrows = self.out.nrows
            out.done = 1
        return 0

    cdef int close(self) except -1:
        cdef Check c
        if self.state == M_CLOSED:
            return 0
        if self.state == M_OPEN:
            if self.ids is not None:
                c = self.ids.check()
                if c is not None:
                    self.w.check(c)
            self.w.finish()
            self.state = M_CLOSING
            if self.transactional:
                self.w.added_to, self.w.added = (None if self.per_key else self.key), self.added
                xact_add(self.ep, self.level, self.w)
                if self.ids is not None:
                    g_stream_last[(self.ep.name, self.key)] = self.ids.last
            else:
                statement_close(self.pending, self.w)
        if not self.transactional:
            statement_flush(self.pending)
        self.state = M_CLOSED
        return 0

    cdef void release(self) noexcept:
        if self.reading is not None:
            self.reading.abandon()
            self.reading = None
        if self.state != M_CLOSED and self.pending is not None:
            statement_drop(self.pending)
        self.state = M_CLOSED

    # -- helpers ------------------------------------------------------------
    cdef bytes column(self, int c):
        return self.src.info.columns[c].name

    cdef int touch(self) except -1:
        """The table's key: watched and its type checked, once."""
        if not self.touched:
            self.w.touch(self.key, self.type_name, self.op == RW_WRITE_INSERT or self.op == RW_WRITE_TRUNCATE)
            self.touched = True
        return 0

    cdef bytes required(self, const RwValue *v, int c, bytes key):
        if v.p == NULL:
            raise not_null(self.column(c), key)
        return v.p[:v.len]

    cdef list read(self, list commands):
        """A read a row needs now (resumable); the connection goes back after."""
        cdef list got
        cdef Py_ssize_t i
        if self.reading is None:
            self.reading = reads_for(self.ep)
        try:
            got = self.reading.round(commands)
        except Interrupted:
            raise
        except BaseException:
            self.reading.abandon()
            self.reading = None
            raise
        self.reading.done()
        self.reading = None
        # A refusal (an ACL's NOPERM) must not pass for "absent" or "there".
        for i in range(len(commands)):
            if isinstance(got[i], ReplyError) and (<ReplyError> got[i]).refusal():
                raise (<ReplyError> got[i]).error('%s "%s"' % (commands[i][1][0].decode(), shown(commands[i][1][1])))
        return got

    cdef bint member_exists(self, bytes m) except -1:
        """ON CONFLICT DO NOTHING: whether the table's key holds member m now."""
        cdef list got = self.read([(T_STATUS, [b"TYPE", self.key]),
                                   (self.src.probe_tag, [<bytes> self.src.probe, self.key, m])])
        type_check(self.key, self.type_name, True).verify(got[0])
        return got[0] != b"none" and not answers(got[1][0], None)

    cdef bint key_exists(self, bytes k) except -1:
        return self.read([(T_INT, [b"EXISTS", k])])[0] != 0

    cdef int in_pattern(self, bytes k) except -1:
        if not glob_simple(self.key):
            raise CoreError(RW_ERR_UNSUPPORTED, 'writes to a table whose key pattern "%s" has a [set] '
                            'are not supported' % shown(self.key))
        if not glob_matches(self.key, k):
            raise CoreError(RW_ERR_OUTSIDE_PATTERN, 'Redis key "%s" does not match the table\'s key pattern "%s"'
                            % (shown(k), shown(self.key)),
                            detail="Nothing was written.")
        return 0

    cdef bint taken(self, bytes name) except -1:
        """Whether the statement, or in a transaction an earlier one, adds name
        (to the table's key; for a pattern table, name is a key)."""
        return name in self.added or (self.transactional and
                                      xact_added(self.ep.name, None if self.per_key else self.key, name))

    cdef int unique(self, bytes name) except -1:
        """name joins what the statement adds; 1 if it was taken (a duplicate)."""
        if self.taken(name):
            return 1
        self.added.add(name)
        return 0

    cdef int put_items(self, bytes k, list items) except -1:
        """A pattern table's key k created with items (a multi_zset's scored by position)."""
        cdef Py_ssize_t i
        cdef bytes a, b
        if self.mode == WRITE_VALUE:
            return self.w.single([self.insert_cmd, k, items[0]])
        if self.mode == WRITE_FIELDS or self.mode == WRITE_SCORED:
            for i in range(0, len(items) if self.mode == WRITE_SCORED else len(items) // 2):
                if self.mode == WRITE_SCORED:
                    a, b = b"%d" % i, items[i]
                else:
                    a, b = items[2 * i], items[2 * i + 1]
                self.w.add_pair(self.insert_cmd, k, None, a, len(a), b, len(b))
        else:
            for a in items:
                self.w.add(self.insert_cmd, k, a, len(a))
        return 0

    # -- field columns ------------------------------------------------------
    cdef list field_pairs(self, RwWriteRow *r):
        """INSERT: the fields given (not NULL), name then value, for HSET or XADD."""
        cdef list out = []
        cdef Py_ssize_t j
        for j in range(len(self.field_names)):
            if r.field_after[j].p != NULL:
                out += [self.field_names[j], value_of(&r.field_after[j])]
        return out

    cdef int check_fields(self, bytes k, RwWriteRow *r) except -1:
        """Hashes as rows: each field of key k must hold what the row read (HMGET)."""
        cdef Py_ssize_t j
        for j in range(len(self.field_names)):
            self.w.probe(self.src, k, self.field_names[j], value_of(&r.field_before[j]), True)
        return 0

    cdef int set_fields_of(self, bytes k, RwWriteRow *r) except -1:
        """UPDATE: the assigned fields of key k set (HSET), or deleted where NULL (HDEL)."""
        cdef Py_ssize_t j
        cdef bytes f
        for j in range(len(self.field_names)):
            if self.set_fields[j]:
                f = self.field_names[j]
                if r.field_after[j].p == NULL:
                    self.w.add(self.remove_cmd, k, f, len(f))
                else:
                    self.w.add_pair(self.insert_cmd, k, None, f, len(f), r.field_after[j].p, r.field_after[j].len)
        return 0

    cdef int out_fields(self, RwWriteRow *r, bint after) except -1:
        """RETURNING's field cells: after (INSERT's row, UPDATE's assigned fields) or as read."""
        cdef Py_ssize_t j
        if not self.returning:
            return 0
        for j in range(len(self.field_names)):
            out_value(self.out, RW_FIELD_COLUMN + j, &r.field_after[j] if after and (
                self.op == RW_WRITE_INSERT or self.set_fields[j]) else &r.field_before[j], False)
        return 0

    cdef object no_fields(self, bytes k):
        return CoreError(RW_ERR_NOT_NULL, 'a row of Redis key "%s" has nothing to write: its items and '
                         'every field column are null' % shown(k), detail="Redis holds no empty hashes or entries.")

    cdef int items_kind(self):
        return RW_ITEMS_OBJECT if self.src.pairs else RW_ITEMS_ARRAY

    cdef int out_text(self, int c, bytes b) except -1:
        if self.returning and b is not None:
            self.out.store_text(c, b, len(b))
        return 0

    cdef int out_row(self, const RwValue *v0, const RwValue *v1) except -1:
        if self.returning:
            out_value(self.out, 0, v0, False)
            if self.src.info.ncolumns > 1 and 1 != self.src.ttl_col:
                out_value(self.out, 1, v1, self.src.info.columns[1].kind == RW_KIND_ITEMS)
        return 0

    # -- a key's expiry ------------------------------------------------------
    cdef int expire(self, bytes k, RwWriteRow *r, bint creating) except -1:
        """Key k's expiry as the row says: ttl by PEXPIRE, expire_at by
        PEXPIREAT, NULL by PERSIST (an UPDATE assigning it); a key an INSERT
        creates without either gets default_ttl.  RETURNING shows what was set."""
        cdef int tc = self.src.ttl_col, ec = self.src.expire_col
        cdef bint set_ttl, set_at
        cdef RwValue v
        cdef bytes default
        if tc < 0:
            return 0
        if creating:
            set_ttl, set_at = r.after[tc].p != NULL, r.after[ec].p != NULL
        else:
            set_ttl, set_at = (self.set_mask >> tc) & 1, (self.set_mask >> ec) & 1
        if set_ttl and set_at:
            raise CoreError(RW_ERR_BAD_VALUE, 'Redis key "%s" is given both a ttl and an expire_at' % shown(k),
                            hint="Give a key's ttl or its expire_at, not both.")
        if set_ttl or set_at:
            v = r.after[tc if set_ttl else ec]
            if v.p == NULL:
                self.w.single([b"PERSIST", k])
            else:
                self.w.single([b"PEXPIRE" if set_ttl else b"PEXPIREAT", k,
                               expiry_ms(v.p[:v.len], k, set_ttl)])
            if self.returning:
                out_value(self.out, tc if set_ttl else ec, &v, False)
        elif creating and self.default_ttl_ms > 0:
            default = b"%d" % self.default_ttl_ms
            self.w.single([b"PEXPIRE", k, default])
            if self.returning:
                self.out.store_text(tc, default, len(default))
        return 0

    # -- rows -------------------------------------------------------------
    cdef int row(self, RwWriteRow *r) except -1:
        """Queue one row's writes; 0 when it is skipped."""
        if self.op == RW_WRITE_INSERT:
            if self.per_key:
                return self.insert_key(r)
            if self.mode == WRITE_ELEMENTS:
                return self.insert_element(r)
            if self.mode == WRITE_ENTRIES:
                return self.insert_entry(r)
            if self.mode == WRITE_VALUE:
                return self.insert_key(r)
            return self.insert_member(r)
        if self.op == RW_WRITE_TRUNCATE:
            raise CoreError(RW_ERR_INTERNAL, "rows for a TRUNCATE")
        identity = (value_of(&r.before[0]), value_of(&r.before[1]))
        if identity in self.seen:
            if self.mode == WRITE_ELEMENTS and identity[1] is None and self.op == RW_WRITE_DELETE:
                # Equal elements without their index are told apart by nothing:
                # each row read is one deleted (the one LREM removes them all).
                self.out_row(&r.before[0], &r.before[1])
                return 1
            return 0                # a row the statement already changed
        self.seen.add(identity)
        self.note_change(identity)
        if self.per_key:
            return self.update_key(r) if self.op == RW_WRITE_UPDATE else self.delete_key(r)
        self.touch()
        if self.mode == WRITE_VALUE:
            return self.change_value(r)
        if self.op == RW_WRITE_UPDATE:
            return self.update(r)
        return self.delete(r)

    cdef int note_change(self, tuple identity) except -1:
        """Record the row an UPDATE or DELETE changes (Writes.changed)."""
        if self.per_key:
            self.w.changed.add((identity[0],))
        elif self.mode == WRITE_VALUE:
            self.w.changed.add((self.key,))
        elif self.mode == WRITE_ELEMENTS and identity[1] is not None:
            self.w.changed.add((self.key, None, identity[1]))
            self.w.positional.add(self.key)
            if self.op == RW_WRITE_DELETE:
                self.w.shifted.add(self.key)
        else:
            self.w.changed.add((self.key, identity[0]))
            if self.mode == WRITE_ELEMENTS:     # LREM of an element shifts what follows
                self.w.shifted.add(self.key)
        return 0

    cdef int insert_element(self, RwWriteRow *r) except -1:
        """list: RPUSH, merged; Redis assigns the index."""
        if r.after[0].p == NULL:
            raise not_null(self.column(0), self.key)
        if r.after[1].p != NULL:
            raise CoreError(RW_ERR_UNSUPPORTED, 'cannot insert into Redis list "%s" at a given index'
                            % shown(self.key),
                            detail="Redis assigns a new element the next index.",
                            hint="Leave the index column out of the INSERT.")
        self.touch()
        self.w.add(self.insert_cmd, self.key, r.after[0].p, r.after[0].len)
        if self.returning:
            out_value(self.out, 0, &r.after[0], False)
        return 1

    cdef int insert_member(self, RwWriteRow *r) except -1:
        """set (SADD member), hash (HSET field value), zset (ZADD score member, 0 by default)."""
        cdef bytes m = self.required(&r.after[0], 0, self.key)
        cdef RwValue second = r.after[1]
        cdef bytes zero = b"0"
        if self.mode == WRITE_FIELDS and second.p == NULL:
            raise not_null(self.column(1), self.key)
        if self.mode == WRITE_SCORED and second.p == NULL:
            second = value_at(zero)
        if self.taken(m):
            if self.skip:
                return 0
            raise duplicate(m, self.key)
        if self.skip and self.member_exists(m):
            return 0
        self.added.add(m)
        self.touch()
        self.w.probe(self.src, self.key, m, None, self.skip)
        if self.mode == WRITE_MEMBERS:
            self.w.add(self.insert_cmd, self.key, m, len(m))
        elif self.mode == WRITE_FIELDS:
            self.w.add_pair(self.insert_cmd, self.key, None, m, len(m), second.p, second.len)
        else:
            self.w.add_pair(self.insert_cmd, self.key, None, second.p, second.len, m, len(m))
        if self.returning:
            self.out_row(&r.after[0], &second)
        return 1

    cdef int insert_entry(self, RwWriteRow *r) except -1:
        """stream: XADD key id field value ..., the id chosen here when it is *."""
        cdef bytes given = value_of(&r.after[0]), new_id
        cdef list fields = self.field_pairs(r) if self.field_names else []
        if r.after[1].p == NULL and not fields:
            raise self.no_fields(self.key) if self.field_names else not_null(self.column(1), self.key)
        if r.after[1].p != NULL:
            fields = items_of(&r.after[1], RW_ITEMS_OBJECT, self.key, False) + fields
        if self.ids is None:
            self.ids = StreamIds()
            self.ids.key = self.key
            if self.transactional:
                self.ids.last = g_stream_last.get((self.ep.name, self.key))
        if given is None:
            if not self.ids.known():
                self.ids.learn(self.read(self.ids.reads()))
            new_id = self.ids.next_auto()
        else:
            new_id = self.ids.given(given)
        self.touch()
        self.w.single([self.insert_cmd, self.key, new_id] + fields)
        self.out_text(0, new_id)
        if self.returning:
            out_value(self.out, 1, &r.after[1], True)
        self.out_fields(r, True)
        return 1

    cdef int insert_key(self, RwWriteRow *r) except -1:
        """multi_*: a new key holding the items; string (the table's key) and
        multi_string: a new key holding the value (SET, as SET NX would)."""
        cdef int vc = 0 if self.mode == WRITE_VALUE and not self.per_key else 1
        cdef bytes k = self.required(&r.after[0], 0, self.key) if self.per_key else self.key
        cdef list items, fields = self.field_pairs(r) if self.field_names else []
        if r.after[vc].p == NULL and not fields:
            raise self.no_fields(k) if self.field_names else not_null(self.column(vc), k)
        if self.per_key:
            self.in_pattern(k)
        if self.mode == WRITE_VALUE:
            items = [value_of(&r.after[vc])]
        elif r.after[vc].p == NULL:
            items = fields              # hashes as rows: the fields alone
            fields = []
        else:
            items = items_of(&r.after[1], self.items_kind(), k,
                             self.mode == WRITE_MEMBERS or self.mode == WRITE_SCORED)
        if self.taken(k):
            if self.skip:
                return 0
            raise duplicate_key(k)
        if self.skip and self.key_exists(k):
            return 0
        self.added.add(k)
        if self.per_key:
            self.w.watch(k)
        else:
            self.touch()
        self.w.check(value_check(T_INT, [b"EXISTS", k], None, "the key's existence",
                                 RW_ERR_CONFLICT if self.skip else RW_ERR_UNIQUE))
        self.put_items(k, items + fields)
        if self.returning:
            if self.per_key:
                self.out.store_text(RW_KEY_CELL, k, len(k))
            out_value(self.out, vc, &r.after[vc], self.src.info.columns[vc].kind == RW_KIND_ITEMS)
            if self.per_key:
                out_value(self.out, 0, &r.after[0], False)
        self.out_fields(r, True)
        self.expire(k, r, True)
        return 1

    cdef int update(self, RwWriteRow *r) except -1:
        """A single-key source's row changed in place (or renamed)."""
        cdef bytes old = value_of(&r.before[0]), old2 = value_of(&r.before[1])
        cdef bytes new = old, new2 = old2
        cdef RwValue v0, v1
        if self.set_mask & 1:
            new = self.required(&r.after[0], 0, self.key)
        if self.set_mask & 2:
            new2 = self.required(&r.after[1], 1, self.key)
        if self.mode == WRITE_ELEMENTS:
            if old2 is None:
                raise no_column(self.key, "index", "bigint", "a list's elements by position")
            self.w.check(value_check(T_VALUE, [b"LINDEX", self.key, old2], old,
                                     "the element at index %s" % old2.decode()))
            self.w.single([b"LSET", self.key, old2, new])
        else:
            if new2 is None and self.mode != WRITE_MEMBERS:
                raise no_column(self.key, self.column(1).decode(),
                                "text" if self.mode == WRITE_FIELDS else "double precision",
                                "renaming a member")
            self.w.probe(self.src, self.key, old, self.wish(old2), False)
            if new != old:
                if self.unique(new):
                    raise duplicate(new, self.key)
                self.w.changed.add((self.key, new))
                self.w.probe(self.src, self.key, new, None, False)
            if self.mode == WRITE_MEMBERS:
                if new != old:
                    self.w.add(self.remove_cmd, self.key, old, len(old))
                    self.w.add(self.insert_cmd, self.key, new, len(new))
            elif self.mode == WRITE_FIELDS:
                if new != old:
                    self.w.add(self.remove_cmd, self.key, old, len(old))
                self.w.add_pair(self.insert_cmd, self.key, None, new, len(new), new2, len(new2))
            else:
                if new != old:
                    self.w.add(self.remove_cmd, self.key, old, len(old))
                self.w.add_pair(self.insert_cmd, self.key, None if new != old else b"XX",
                                new2, len(new2), new, len(new))
        if self.returning:
            v0, v1 = value_at(new), value_at(new2)
            self.out_row(&v0, &v1)
        return 1

    cdef int change_value(self, RwWriteRow *r) except -1:
        """string: UPDATE sets the value (SET ... KEEPTTL) or the expiry;
        DELETE removes the key.  The value read must still be there."""
        cdef bytes old = value_of(&r.before[0])
        if old is not None:
            self.w.check(value_check(T_VALUE, [b"GET", self.key], old, "the value"))
        if self.op == RW_WRITE_DELETE:
            self.w.single([b"DEL", self.key])
            self.out_row(&r.before[0], NULL)
            return 1
        if self.set_mask & 1:
            self.w.single([b"SET", self.key, self.required(&r.after[0], 0, self.key), b"KEEPTTL"])
        if self.returning:
            out_value(self.out, 0, &r.after[0] if self.set_mask & 1 else &r.before[0], False)
        self.expire(self.key, r, False)
        return 1

    cdef object wish(self, bytes second):
        """What a probe of a member read with column 1 second must answer."""
        if second is None or self.mode == WRITE_MEMBERS:
            return PRESENT
        if self.mode == WRITE_SCORED:
            return float(second)
        return second

    cdef int delete(self, RwWriteRow *r) except -1:
        cdef bytes old = value_of(&r.before[0]), old2 = value_of(&r.before[1])
        if self.mode == WRITE_ELEMENTS and old2 is not None:
            # Exactly those positions: marked, then the marks removed by one LREM at the end.
            if self.placeholder is None:
                self.placeholder = urandom(16)
                self.w.tail.append([b"LREM", self.key, b"0", self.placeholder])
            self.w.check(value_check(T_VALUE, [b"LINDEX", self.key, old2], old,
                                     "the element at index %s" % old2.decode()))
            self.w.single([b"LSET", self.key, old2, self.placeholder])
        elif self.mode == WRITE_ELEMENTS:
            # COUNT 1: an empty array when it is gone (a bare LPOS answers position 0 or nil)
            self.w.check(value_check(T_FLAGS, [b"LPOS", self.key, old, b"COUNT", b"1"], PRESENT,
                                     '"%s"' % shown(old)))
            self.w.single([b"LREM", self.key, b"0", old])
        elif self.mode == WRITE_ENTRIES:
            self.w.check(value_check(T_ENTRIES, [b"XRANGE", self.key, old, old], PRESENT,
                                     'entry "%s"' % shown(old)))
            self.w.add(self.remove_cmd, self.key, old, len(old))
        else:
            self.w.probe(self.src, self.key, old, self.wish(old2) if self.mode == WRITE_FIELDS else PRESENT, False)
            self.w.add(self.remove_cmd, self.key, old, len(old))
        self.out_row(&r.before[0], &r.before[1])
        return 1

    cdef int check_contents(self, bytes k, const RwValue *items) except -1:
        """A pattern table's key k must still hold what the row read."""
        cdef ContentsCheck c = ContentsCheck()
        self.w.touch(k, self.type_name, False)
        if items.p == NULL:
            return 0                # items not declared: only the type is checked
        if self.mode == WRITE_VALUE:
            return self.w.check(value_check(T_VALUE, [b"GET", k], value_of(items), "the value"))
        c.key, c.mode = k, self.mode
        c.items = items_of(items, 0, k, False, True)
        c.args = [self.src.read_all, k] + ([b"0", b"-1"] if self.src.ranged else [])
        c.tag = T_PAIRS if self.src.pairs else T_STRINGS
        return self.w.check(c)

    cdef int update_key(self, RwWriteRow *r) except -1:
        """multi_*: SET items replaces the key's contents, SET key renames it."""
        cdef bytes k = self.required(&r.before[0], 0, self.key), new = k
        cdef list items = None
        cdef RwValue v0
        if self.set_mask & 1:
            new = self.required(&r.after[0], 0, self.key)
            self.in_pattern(new)
        if self.set_mask & 2:
            if r.after[1].p == NULL:
                raise not_null(self.column(1), new)
            items = [value_of(&r.after[1])] if self.mode == WRITE_VALUE else \
                items_of(&r.after[1], self.items_kind(), new, self.mode == WRITE_MEMBERS or self.mode == WRITE_SCORED)
        self.check_contents(k, &r.before[1])
        if self.field_names:
            self.check_fields(k, r)
        if new != k:
            if self.unique(new):
                raise duplicate_key(new)
            self.w.changed.add((new,))
            self.w.watch(new)
            self.w.check(value_check(T_INT, [b"EXISTS", new], None, "", RW_ERR_UNIQUE))
        if items is not None and self.mode != WRITE_VALUE:
            self.w.single([b"DEL", k])
            self.put_items(new, items)
        elif new != k:
            self.w.single([b"RENAME", k, new])      # the value and the expiry move with it
        if items is not None and self.mode == WRITE_VALUE:
            self.w.single([b"SET", new, items[0], b"KEEPTTL"])
        if self.field_names:
            self.set_fields_of(new, r)
        if self.returning:
            self.out.store_text(RW_KEY_CELL, new, len(new))
            v0 = value_at(new)
            self.out_row(&v0, &r.after[1] if items is not None else &r.before[1])
        self.out_fields(r, True)
        self.expire(new, r, False)
        return 1

    cdef int delete_key(self, RwWriteRow *r) except -1:
        cdef bytes k = self.required(&r.before[0], 0, self.key)
        self.check_contents(k, &r.before[1])
        if self.field_names:
            self.check_fields(k, r)
        self.w.merged(b"DEL", None, None, 1)
        self.w.cmds.arg(k)
        if self.returning:
            self.out.store_text(RW_KEY_CELL, k, len(k))
            self.out_row(&r.before[0], &r.before[1])
        self.out_fields(r, False)
        return 1

    cdef int truncate(self) except -1:
        if self.per_key:
            self.w.sweeps.append((self.key, self.type_name))
        else:
            self.touch()
            self.w.single([b"DEL", self.key])
        return 0


cdef object duplicate_key(bytes k):
    return CoreError(RW_ERR_UNIQUE, 'duplicate key value violates uniqueness: Redis key "%s" is inserted twice'
                     % shown(k))


cdef object no_column(bytes key, str column, str type_name, str what):
    return CoreError(RW_ERR_UNSUPPORTED, 'writing %s of Redis key "%s" needs the %s column'
                     % (what, shown(key), column),
                     hint="Declare the column %s %s in the foreign table." % (column, type_name))


cdef bytes expiry_ms(bytes text, bytes k, bint ttl):
    """A ttl (> 0) or expire_at (in the future), whole milliseconds as the C
    side writes them; anything else would make Redis delete the key, or fail
    inside MULTI."""
    cdef str column = "ttl" if ttl else "expire_at"
    cdef long long v
    if not (text.isdigit() or (text[:1] == b"-" and text[1:].isdigit())) or len(text) > 19:
        raise CoreError(RW_ERR_BAD_VALUE, 'invalid %s "%s" for Redis key "%s"' % (column, shown(text), shown(k)),
                        detail="Expected whole milliseconds.")
    v = int(text)
    if ttl and v <= 0:
        raise CoreError(RW_ERR_BAD_VALUE, 'the ttl of Redis key "%s" must be positive' % shown(k),
                        detail="A ttl of %d ms would delete the key." % v,
                        hint="Delete the row to remove the key; set ttl to NULL to keep it forever.")
    if not ttl and v <= <long long> (time.time() * 1000):
        raise CoreError(RW_ERR_BAD_VALUE, 'the expire_at of Redis key "%s" is in the past' % shown(k),
                        detail="An expiry in the past would delete the key.",
                        hint="Delete the row to remove the key; set expire_at to NULL to keep it forever.")
    if v > MAX_EXPIRY_MS:
        raise CoreError(RW_ERR_BAD_VALUE, 'the %s of Redis key "%s" is too far in the future' % (column, shown(k)))
    return text


cdef int refuse_unsupported(const Source *src, const RwModifySpec *m) except -1:
    """Writes a source cannot do at all, refused before any row."""
    if src.write_mode == WRITE_NONE:
        raise CoreError(RW_ERR_UNSUPPORTED, "a Redis %s table is read-only" % src.info.name.decode(),
                        hint="Write through a foreign table of the key's own src_type.")
    if m.op == RW_WRITE_UPDATE and src.write_mode == WRITE_ENTRIES:
        raise CoreError(RW_ERR_UNSUPPORTED, "cannot update a Redis stream: streams are append-only",
                        hint="Delete the entry and insert a new one.")
    if m.op == RW_WRITE_UPDATE and src.write_mode == WRITE_ELEMENTS and src.reader != READ_PATTERN \
            and m.set_mask & 2:
        raise CoreError(RW_ERR_UNSUPPORTED, "cannot set the index of a Redis list's element",
                        detail="Redis assigns the positions of a list's elements.")
    return 0

"""Stream fields as columns (issue 13, item 5): a stream table's columns other
than id and items are each entry's fields of those names, typed, NULL where
an entry lacks one; INSERT writes them as the entry's fields (XADD)."""
import psycopg
import pytest

from conftest import rows, table


def test_entry_fields_as_typed_columns(db, r):
    r.xadd('ev', {'kind': 'login', 'n': '3'}, id='1-0')
    r.xadd('ev', {'kind': 'logout', 'other': 'x'}, id='2-0')
    t = table(db, 'sf_ev', 'stream', 'ev', "id text, kind text, n integer, what text options (field 'other')")
    assert rows(db, 'select * from %s' % t) == [('1-0', 'login', 3, None), ('2-0', 'logout', None, 'x')]
    assert rows(db, "select n from %s where id = '1-0'" % t) == [(3,)]
    t = table(db, 'sf_ev', 'stream', 'ev', 'id text, items jsonb, kind text')
    assert rows(db, 'select items, kind from %s' % t)[1] == ({'kind': 'logout', 'other': 'x'}, 'logout')


def test_a_field_that_does_not_convert_names_the_key_and_field(db, r):
    r.xadd('ev', {'n': 'many'}, id='1-0')
    t = table(db, 'sf_ev', 'stream', 'ev', 'id text, n integer')
    with pytest.raises(psycopg.errors.InvalidTextRepresentation) as e:
        db.execute('select n from %s' % t).fetchall()
    context = e.value.diag.context
    assert 'Redis key "ev"' in context and 'column "n" of type integer' in context and 'id = "1-0"' in context


def test_insert_writes_the_fields(db, r):
    t = table(db, 'sf_ev', 'stream', 'ev', 'id text, items jsonb, kind text, n integer')
    db.execute("insert into %s (id, kind, n) values ('5-0', 'a', 1)" % t)
    db.execute("""insert into %s (id, items, kind) values ('6-0', '{"x": "y"}', 'b')""" % t)
    assert r.xrange('ev') == [(b'5-0', {b'kind': b'a', b'n': b'1'}), (b'6-0', {b'x': b'y', b'kind': b'b'})]
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("insert into %s (id) values ('7-0')" % t)
    assert rows(db, "insert into %s (kind, n) values ('c', 2) returning kind, n" % t) == [('c', 2)]


def test_field_columns_of_types_that_cannot_hold_a_string_are_refused(db):
    with pytest.raises(psycopg.errors.FdwInvalidDataType):
        table(db, 'sf_bad', 'stream', 'ev', 'id text, tags int[]')


def test_fields_beside_items_across_batches(db, r):
    """With items read too, a field's value is copied from the items once the
    entry is complete: over many large entries, in one XRANGE or in batches,
    every field gets its own value (tests/core covers a batch ending mid-entry)."""
    pipe = r.pipeline()
    for i in range(600):
        pipe.xadd('big', {'n': str(i), 'tail': 't%d' % i, 'pad': 'p' * (1000 + i)}, id='%d-0' % (i + 1))
    pipe.execute()
    for fetch in ('all', 'scan'):
        t = table(db, 'sf_big', 'stream', 'big', 'id text, items jsonb, n integer, tail text')
        db.execute("alter foreign table %s options (add fetch '%s')" % (t, fetch))
        got = rows(db, 'select items, n, tail from %s' % t)
        assert len(got) == 600
        assert all(n == int(items['n']) == i and tail == items['tail'] for i, (items, n, tail) in enumerate(got))

"""IMPORT FOREIGN SCHEMA (issue 13, item 7): a sample of the keyspace, grouped
by the shape of its keys, becomes foreign tables of the spec's shapes."""
import time

import psycopg
import pytest
from psycopg import sql

from conftest import create_server, rows

PAUSE_MS = 2000


@pytest.fixture
def schemas(db):
    """Empty schemas imp_a and imp_b, dropped afterwards."""
    names = ('imp_a', 'imp_b')
    for name in names:
        db.execute('drop schema if exists %s cascade' % name)
        db.execute('create schema %s' % name)
        db.execute('grant usage, create on schema %s to public' % name)
    yield names
    db.execute('reset role')
    for name in names:
        db.execute('drop schema %s cascade' % name)


def import_schema(db, pattern, into, server='redis_server', clause='', **options):
    """IMPORT FOREIGN SCHEMA "pattern" [clause] FROM SERVER server INTO into; the NOTICEs it raised."""
    notices = []

    def handler(diag):          # a diagnostic is valid only inside the handler
        notices.append(diag.message_primary)
    opts = sql.SQL('')
    if options:
        opts = sql.SQL(' options ({})').format(sql.SQL(', ').join(
            sql.SQL('{} {}').format(sql.Identifier(k), sql.Literal(str(v))) for k, v in options.items()))
    db.add_notice_handler(handler)
    try:
        db.execute(sql.SQL('import foreign schema {} {} from server {} into {}{}').format(
            sql.Identifier(pattern), sql.SQL(clause), sql.Identifier(server), sql.Identifier(into), opts))
    finally:
        db.remove_notice_handler(handler)
    return notices


def imported(db, schema):
    """Each foreign table of schema: (name, src_type, src_key, columns, server)."""
    got = rows(db, """
        select c.relname, ft.ftoptions,
               (select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                  order by a.attnum)
                  from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
               s.srvname
          from pg_foreign_table ft
          join pg_class c on c.oid = ft.ftrelid
          join pg_namespace n on n.oid = c.relnamespace
          join pg_foreign_server s on s.oid = ft.ftserver
         where n.nspname = %s order by c.relname""", schema)
    out = []
    for name, options, columns, server in got:
        opts = dict(o.split('=', 1) for o in options)
        assert set(opts) == {'src_type', 'src_key'}
        out.append((name, opts['src_type'], opts['src_key'], columns, server))
    return out


def has_source(db, src_type):
    """Whether the installed extension has source type src_type (string types
    come from another branch)."""
    db.execute('drop foreign table if exists redis.probe_source')
    try:
        db.execute("create foreign table redis.probe_source () server redis_server "
                   "options (src_type %s, src_key 'k')" % sql.Literal(src_type).as_string(db))
    except psycopg.errors.FdwInvalidAttributeValue:
        return False
    db.execute('drop foreign table redis.probe_source')
    return True


def test_an_empty_keyspace_imports_nothing(db, r, schemas):
    assert import_schema(db, '*', 'imp_a') == []
    assert imported(db, 'imp_a') == []
    r.hset('user:1', 'f', 'v')
    import_schema(db, 'nothing:*', 'imp_a')
    assert imported(db, 'imp_a') == []


def load_mixed(r):
    for i in (1, 2, 3):
        r.hset('user:%d' % i, mapping={'name': 'n%d' % i})
    r.rpush('queue:a', 'x', 'y')
    r.rpush('queue:b', 'z')
    r.sadd('tag:red', 'm1')
    r.sadd('tag:blue', 'm2')
    r.zadd('rank:2024', {'p': 2, 'q': 1})
    r.zadd('rank:2025', {'s': 1})
    r.xadd('events:in', {'a': '1'}, id='1-1')
    r.xadd('events:out', {'b': '2'}, id='2-1')
    r.hset('config', mapping={'mode': 'fast'})
    r.rpush('jobs', 'j1', 'j2')
    r.sadd('admins', 'root')
    r.zadd('board', {'top': 10})
    r.hset('order:7:item:1', 'sku', 'a')
    r.hset('order:8:item:2', 'sku', 'b')


MIXED = [
    ('admins', 'set', 'admins', 'element text'),
    ('board', 'zset', 'board', 'element text'),
    ('config', 'hash', 'config', 'key text, value text'),
    ('events_in', 'stream', 'events:in', 'id text, items jsonb'),
    ('events_out', 'stream', 'events:out', 'id text, items jsonb'),
    ('jobs', 'list', 'jobs', 'element text'),
    ('order_item', 'multi_hash', 'order:*:item:*', 'key text, items jsonb'),
    ('queue', 'multi_list', 'queue:*', 'key text, items jsonb'),
    ('rank', 'multi_zset', 'rank:*', 'key text, items jsonb'),
    ('tag', 'multi_set', 'tag:*', 'key text, items jsonb'),
    ('user', 'multi_hash', 'user:*', 'key text, items jsonb'),
]


def test_mixed_types_become_groups_and_single_keys(db, r, schemas):
    load_mixed(r)
    import_schema(db, '*', 'imp_a')
    assert imported(db, 'imp_a') == [m + ('redis_server',) for m in MIXED]


def test_imported_tables_read_the_right_rows(db, r, schemas):
    load_mixed(r)
    import_schema(db, '*', 'imp_a')
    assert rows(db, 'select * from imp_a."user" order by key') == \
        [('user:%d' % i, {'name': 'n%d' % i}) for i in (1, 2, 3)]
    assert rows(db, 'select * from imp_a.queue order by key') == [('queue:a', ['x', 'y']), ('queue:b', ['z'])]
    assert rows(db, 'select * from imp_a.tag order by key') == [('tag:blue', ['m2']), ('tag:red', ['m1'])]
    assert rows(db, 'select * from imp_a.rank order by key') == [('rank:2024', ['q', 'p']), ('rank:2025', ['s'])]
    assert rows(db, 'select * from imp_a.events_in') == [('1-1', {'a': '1'})]
    assert rows(db, 'select * from imp_a.config') == [('mode', 'fast')]
    assert rows(db, 'select * from imp_a.jobs') == [('j1',), ('j2',)]
    assert rows(db, 'select * from imp_a.admins') == [('root',)]
    assert rows(db, 'select * from imp_a.board') == [('top',)]
    assert rows(db, 'select key from imp_a.order_item order by key') == [('order:7:item:1',), ('order:8:item:2',)]


def test_the_pattern_chooses_the_keys_sampled(db, r, schemas):
    load_mixed(r)
    import_schema(db, 'user:*', 'imp_a')
    assert [t[0] for t in imported(db, 'imp_a')] == ['user']


def test_limit_to_and_except_filter_by_table_name(db, r, schemas):
    load_mixed(r)
    import_schema(db, '*', 'imp_a', clause='limit to ("user", jobs, no_such_table)')
    assert [t[0] for t in imported(db, 'imp_a')] == ['jobs', 'user']
    import_schema(db, '*', 'imp_b', clause='except ("user", jobs, events_in)')
    assert [t[0] for t in imported(db, 'imp_b')] == \
        [m[0] for m in MIXED if m[0] not in ('user', 'jobs', 'events_in')]


def test_sample_limits_the_keys_read(db, r, schemas):
    for i in range(10):
        r.rpush('solo%d' % i, 'x')
    notices = import_schema(db, '*', 'imp_a', sample='3')
    assert len(imported(db, 'imp_a')) == 3
    assert notices == ['sampled the first 3 keys matching "*" only']
    assert import_schema(db, '*', 'imp_b') == []
    assert [t[0] for t in imported(db, 'imp_b')] == ['solo%d' % i for i in range(10)]


def test_one_sampled_key_of_a_shape_stands_alone(db, r, schemas):
    for i in range(5):
        r.hset('item:%d' % i, 'f', 'v')
    import_schema(db, '*', 'imp_a', sample='1')
    (name, src_type, src_key, columns, _), = imported(db, 'imp_a')
    assert src_type == 'hash' and name == src_key.replace(':', '_') and columns == 'key text, value text'


@pytest.mark.parametrize('options, sqlstate', [
    ({'sample': '0'}, 'HV024'),
    ({'sample': '1000001'}, 'HV024'),
    ({'sample': '1.5'}, 'HV024'),
    ({'sample': 'many'}, 'HV024'),
    ({'sample': ''}, 'HV024'),
    ({'shape': 'columns'}, 'HV024'),
    ({'samples': '10'}, 'HV00D'),
])
def test_bad_options_are_refused(db, r, schemas, options, sqlstate):
    r.hset('user:1', 'f', 'v')
    with pytest.raises(psycopg.Error) as e:
        import_schema(db, '*', 'imp_a', **options)
    assert e.value.sqlstate == sqlstate
    if 'samples' in options:
        assert 'sample, shape' in e.value.diag.message_hint
    assert imported(db, 'imp_a') == []


def test_shape_spec_is_the_default(db, r, schemas):
    r.hset('user:1', 'f', 'v')
    r.hset('user:2', 'f', 'v')
    import_schema(db, '*', 'imp_a', shape='spec', sample='1000000')
    assert [t[:3] for t in imported(db, 'imp_a')] == [('user', 'multi_hash', 'user:*')]


def test_shape_rows_makes_a_column_of_each_field_typed_by_its_values(db, r, schemas):
    """shape 'rows': a group of hashes becomes a multi_hash table with a column
    per field of the hashes sampled, first seen first, typed by what every
    sampled value of it reads as; other groups keep the spec's shape."""
    r.hset('user:1', mapping={'name': 'Ann', 'age': '41', 'active': 'true', 'joined': '2024-01-15',
                              'score': '1.5', 'seen': '2024-01-15 10:00:00+00'})
    r.hset('user:2', mapping={'name': 'Bob', 'age': '-7', 'active': 'f', 'joined': '2024-03-02',
                              'score': '2', 'seen': '2024-03-02T11:30:00Z', 'note': 'x'})
    r.hset('user:3', mapping={'name': '42', 'age': '3', 'joined': 'soon'})
    r.hset('user:4', mapping={'Odd Name': 'v', 'key': 'clash', 'items': 'clash'})
    r.rpush('jobs:1', 'a')
    r.rpush('jobs:2', 'b')
    import_schema(db, '*', 'imp_a', shape='rows')
    got = {t[0]: t[1:4] for t in imported(db, 'imp_a')}
    assert got['jobs'] == ('multi_list', 'jobs:*', 'key text, items jsonb')
    assert got['user'] == ('multi_hash', 'user:*',
                           'key text, name text, age bigint, active boolean, joined text, score numeric, '
                           'seen timestamp with time zone, note text, Odd Name text')
    assert rows(db, "select key, name, age, active, score, note from imp_a.user where key in ('user:1', 'user:2') "
                    "order by key") == [('user:1', 'Ann', 41, True, 1.5, None), ('user:2', 'Bob', -7, False, 2, 'x')]
    # Fields named like the table's own columns are not made columns (a NOTICE says so).
    assert rows(db, "select count(*) from pg_attribute where attrelid = 'imp_a.user'::regclass "
                    "and attname in ('items', 'ttl', 'expire_at')") == [(0,)]


SECRET = 'imp-s3cret-pw'


def test_a_non_superuser_imports_with_its_password_mapping(db, roles, own_redis, schemas):
    c = own_redis.client()
    c.hset('acct:1', 'owner', 'a')
    c.hset('acct:2', 'owner', 'b')
    c.config_set('requirepass', SECRET)
    create_server(db, 's_import', own_redis.url)
    db.execute('grant usage on foreign server s_import to rw_a')
    db.execute('set role rw_a')
    # No user mapping: no password to send, refused before anything is dialled.
    with pytest.raises(psycopg.errors.ProhibitedSqlStatementAttempted):
        import_schema(db, '*', 'imp_a', server='s_import')
    db.execute("create user mapping for rw_a server s_import options (password %s)"
               % sql.Literal(SECRET).as_string(db))
    notices = import_schema(db, '*', 'imp_a', server='s_import')
    assert imported(db, 'imp_a') == [('acct', 'multi_hash', 'acct:*', 'key text, items jsonb', 's_import')]
    assert rows(db, 'select key, items from imp_a.acct order by key') == \
        [('acct:1', {'owner': 'a'}), ('acct:2', {'owner': 'b'})]
    assert rows(db, "select relowner::regrole::text from pg_class where relname = 'acct'") == [('rw_a',)]
    # A wrong password is Redis's refusal, and no message shows one.
    db.execute("alter user mapping for rw_a server s_import options (set password 'wrong-pw')")
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification) as e:
        import_schema(db, '*', 'imp_b', server='s_import')
    assert SECRET not in str(e.value) and 'wrong-pw' not in str(e.value)
    assert 's_import' in (e.value.diag.context or '')
    assert not any(SECRET in n for n in notices)


def test_a_reimport_makes_the_same_tables(db, r, schemas):
    load_mixed(r)
    r.hset('odd key!:1', 'f', 'v')
    r.hset('odd key!:2', 'f', 'v')
    import_schema(db, '*', 'imp_a')
    import_schema(db, '*', 'imp_b')
    assert imported(db, 'imp_a') == imported(db, 'imp_b')
    assert len(imported(db, 'imp_a')) == len(MIXED) + 1


def test_names_are_identifiers_and_collisions_are_settled_in_order(db, r, schemas):
    r.hset('user:1', 'f', 'v')              # user:* as hashes and as sets
    r.hset('user:2', 'f', 'v')
    r.sadd('user:3', 'm')
    r.sadd('user:4', 'm')
    r.rpush('a-b', 'x')                     # both named a_b, both lists
    r.rpush('a_b', 'y')
    r.rpush('Odd Key!', 'z')
    r.rpush('42', 'n')
    r.rpush(':::', 'c')
    import_schema(db, '*', 'imp_a')
    assert [t[:3] for t in imported(db, 'imp_a')] == [
        ('a_b_list', 'list', 'a-b'),
        ('a_b_list_2', 'list', 'a_b'),
        ('key_42', 'list', '42'),
        ('keys', 'list', ':::'),
        ('odd_key', 'list', 'Odd Key!'),
        ('user_hash', 'multi_hash', 'user:*'),
        ('user_set', 'multi_set', 'user:*'),
    ]
    assert rows(db, 'select * from imp_a.a_b_list_2') == [('y',)]
    assert rows(db, 'select * from imp_a.keys') == [('c',)]


def test_glob_characters_are_escaped_in_patterns_not_in_keys(db, r, schemas):
    r.hset('a*b:1', 'f', '1')
    r.hset('a*b:2', 'f', '2')
    r.hset('axb:1', 'f', 'other')
    r.hset('axb:2', 'f', 'other')
    r.rpush('we[ir]d?', 'literal')
    r.rpush('weid?', 'not me')              # what 'we[ir]d?' matches as a pattern
    import_schema(db, '*', 'imp_a')
    got = {t[0]: t[1:3] for t in imported(db, 'imp_a')}
    assert got['a_b'] == ('multi_hash', 'a\\*b:*')
    assert got['axb'] == ('multi_hash', 'axb:*')
    assert got['we_ir_d'] == ('list', 'we[ir]d?')
    assert rows(db, 'select key from imp_a.a_b order by key') == [('a*b:1',), ('a*b:2',)]
    assert rows(db, 'select element from imp_a.we_ir_d') == [('literal',)]


def test_keys_that_are_not_text_are_skipped_with_a_notice(db, r, schemas):
    r.rpush(b'bin:\xff\xfe', 'x')           # stands alone: its key is its src_key
    r.rpush(b'nul\x00key', 'x')
    r.hset(b'blob:\xff', 'f', 'v')          # the varying part is not in the pattern
    r.hset(b'blob:\xfe', 'f', 'v')
    notices = import_schema(db, '*', 'imp_a')
    assert [t[:3] for t in imported(db, 'imp_a')] == [('blob', 'multi_hash', 'blob:*')]
    assert len(notices) == 2, notices
    assert any('bin:\\xff\\xfe' in n for n in notices) and any('nul\\x00key' in n for n in notices)
    assert rows(db, 'select count(*) from imp_a.blob') == [(2,)]


def test_string_keys(db, r, schemas):
    r.set('greeting', 'hello')
    r.set('counter:1', '1')
    r.set('counter:2', '2')
    r.rpush('other', 'x')
    notices = import_schema(db, '*', 'imp_a')
    got = imported(db, 'imp_a')
    if has_source(db, 'multi_string'):     # the string source types (branch model-keys)
        assert [t[:4] for t in got] == [('counter', 'multi_string', 'counter:*', 'key text, value text'),
                                        ('greeting', 'string', 'greeting', 'value text'),
                                        ('other', 'list', 'other', 'element text')]
        assert rows(db, 'select * from imp_a.counter order by key') == [('counter:1', '1'), ('counter:2', '2')]
    else:
        assert [t[0] for t in got] == ['other']
        assert len(notices) == 2 and all('string' in n for n in notices), notices


@pytest.mark.slow
def test_statement_timeout_interrupts_a_blocked_import(db, r, schemas):
    r.hset('user:1', 'f', 'v')
    r.hset('user:2', 'f', 'v')
    r.execute_command('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')
    db.execute("set statement_timeout = '300ms'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        import_schema(db, '*', 'imp_a')
    db.execute('reset statement_timeout')
    time.sleep(PAUSE_MS / 1000)
    import_schema(db, '*', 'imp_a')
    assert [t[0] for t in imported(db, 'imp_a')] == ['user']

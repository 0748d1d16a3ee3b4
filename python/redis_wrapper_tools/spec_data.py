"""The spec's sample data, its server and tables, and its example queries.

Shared by `./dev demo` and the test that checks every example's result."""

# The redis-cli commands of the spec's "Let's prepare some source data" section.
SAMPLE_COMMANDS = [
    ['RPUSH', 'list', 'foo', 'bar', '42'],
    ['SADD', 'set', 'foo', 'bar', '42'],
    ['HSET', 'hash', 'foo', 'bar', 'baz', 'qux'],
    ['ZADD', 'zset', '30', 'foo', '20', 'bar', '10', 'baz'],
    ['XADD', 'stream', '*', 'foo', 'bar'],
    ['XADD', 'stream', '*', 'aa', '42', 'bb', '43'],
    ['RPUSH', 'list:100', 'foo', 'bar'],
    ['RPUSH', 'list:200', 'baz'],
    ['SADD', 'set:100', 'foo'],
    ['SADD', 'set:200', 'bar'],
    ['HSET', 'hash:100', 'foo', 'bar'],
    ['HSET', 'hash:200', 'baz', 'qux'],
    ['ZADD', 'zset:100', '10', 'foo', '20', 'bar'],
    ['ZADD', 'zset:200', '40', 'baz', '30', 'qux'],
]

SETUP_SQL = """
create extension if not exists redis_wrapper;
create foreign data wrapper redis_wrapper
  handler redis_fdw_handler
  validator redis_fdw_validator;
create server redis_server
  foreign data wrapper redis_wrapper
  options (
    conn_url '{conn_url}'
  );
create schema if not exists redis;
"""

# (table, columns, src_type, src_key, spec's rows); set and hash order aside.
EXAMPLES = [
    ('list', 'element text', 'list', 'list', [('foo',), ('bar',), ('42',)]),
    ('set', 'element text', 'set', 'set', [('42',), ('foo',), ('bar',)]),
    ('hash', 'key text, value text', 'hash', 'hash', [('foo', 'bar'), ('baz', 'qux')]),
    ('zset', 'element text', 'zset', 'zset', [('baz',), ('bar',), ('foo',)]),
    ('stream', 'id text, items jsonb', 'stream', 'stream', None),   # ids are generated
    ('multi_lists', 'key text, items jsonb', 'multi_list', 'list:*',
     [('list:100', ['foo', 'bar']), ('list:200', ['baz'])]),
    ('multi_sets', 'key text, items jsonb', 'multi_set', 'set:*',
     [('set:100', ['foo']), ('set:200', ['bar'])]),
    ('multi_hashes', 'key text, items jsonb', 'multi_hash', 'hash:*',
     [('hash:200', {'baz': 'qux'}), ('hash:100', {'foo': 'bar'})]),
    ('multi_zsets', 'key text, items jsonb', 'multi_zset', 'zset:*',
     [('zset:200', ['qux', 'baz']), ('zset:100', ['foo', 'bar'])]),
]

# Beyond the spec: hashes as rows (one hash per user, its fields typed
# columns, its expiry a ttl), shown by `./dev demo` after the spec's examples.
USERS_COMMANDS = [
    ['HSET', 'users:1', 'id', '1', 'name', 'Ann', 'email', 'ann@example.com', 'signup', '2024-01-15'],
    ['HSET', 'users:2', 'id', '2', 'name', 'Bob', 'signup', '2024-03-02'],
    ['HSET', 'users:3', 'id', '3', 'name', 'Cy', 'email', 'cy@example.com', 'signup', '2024-06-30'],
    ['EXPIRE', 'users:3', '86400'],
]
USERS_TABLE = ('users', 'key text, id integer, name text, email text, signup date, ttl interval',
               'multi_hash', 'users:*')
USERS_QUERIES = [
    'select * from redis.users order by id;',
    "select name, signup from redis.users where key = 'users:2';",
    "insert into redis.users (key, id, name, signup, ttl) values ('users:4', 4, 'Dee', '2024-07-01', '1 hour');",
    "update redis.users set email = 'bob@example.com' where id = 2;",
    'select id, name, email, ttl is not null as expires from redis.users order by id;',
]

# Types whose row order Redis does not define.
UNORDERED = {'set', 'hash', 'multi_list', 'multi_set', 'multi_hash', 'multi_zset'}


def table_sql(table, columns, src_type, src_key):
    return ("create foreign table redis.%s (\n  %s\n)\n  server redis_server\n"
            "  options (\n    src_type '%s',\n    src_key '%s'\n  );" % (table, columns, src_type, src_key))


def load_sample(client):
    for command in SAMPLE_COMMANDS:
        client.execute_command(*command)

"""The spec's examples with PostgreSQL + redis_wrapper and Redis (or Valkey) in
separate containers on one container network, through the plugin's fixtures."""
import pytest

from redis_wrapper_tools import spec_data


@pytest.fixture(scope='module', params=['redis_container', 'valkey_container'])
def server(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope='module')
def db(redis_wrapper_pg, server):
    with server.get_client() as client:
        client.flushall()
        spec_data.load_sample(client)
    with redis_wrapper_pg.database(server.url()) as conn:
        yield conn


@pytest.mark.parametrize('example', spec_data.EXAMPLES, ids=[e[0] for e in spec_data.EXAMPLES])
def test_spec_example(db, server, example):
    name, columns, src_type, src_key, expected = example
    db.execute(spec_data.table_sql(name, columns, src_type, src_key))
    got = db.execute('select * from redis.%s' % name).fetchall()
    if src_type == 'stream':
        with server.get_client() as client:
            expected = [(i.decode(), {k.decode(): v.decode() for k, v in f.items()})
                        for i, f in client.xrange('stream')]
    if src_type in spec_data.UNORDERED:
        assert sorted(got, key=repr) == sorted(expected, key=repr)
    else:
        assert got == expected


def test_the_server_is_reached_by_its_name_on_the_network(db, server):
    db.execute(spec_data.table_sql('probe', 'element text', 'list', 'list'))
    db.execute('select * from redis.probe').fetchall()
    addresses = [row[0] for row in db.execute('select address from redis_wrapper_get_connections()')]
    assert addresses == ['%s:6379' % server.alias]


def test_writes_reach_the_server(db, server):
    db.execute(spec_data.table_sql('written', 'element text', 'list', 'written'))
    db.execute("insert into redis.written values ('a'), ('b')")
    with server.get_client() as client:
        assert client.lrange('written', 0, -1) == [b'a', b'b']

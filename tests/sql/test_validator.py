"""Option validation at CREATE/ALTER time, with postgres_fdw-style messages."""
import psycopg
import pytest
from psycopg import sql

from conftest import table


def test_unknown_table_option_lists_the_valid_ones(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as e:
        db.execute("create foreign table redis.v1 (element text) server redis_server "
                   "options (src_type 'list', src_key 'k', colour 'blue')")
    assert 'invalid option "colour"' in str(e.value)
    assert e.value.diag.message_hint == 'Valid options in this context are: src_type, src_key, fetch, default_ttl, batch_size, transactional, use_remote_estimate, async_capable'


def test_unknown_server_option(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as e:
        db.execute("create server v_bad foreign data wrapper redis_wrapper options (host 'x')")
    assert 'conn_url, conn_url_id' in e.value.diag.message_hint


def test_unknown_user_mapping_option(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as e:
        db.execute("create user mapping for current_user server redis_server options (pass 'x')")
    assert e.value.diag.message_hint == 'Valid options in this context are: user, password, password_required, sentinel_user, sentinel_password'


def test_wrapper_takes_no_options(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as e:
        db.execute("alter foreign data wrapper redis_wrapper options (add x '1')")
    assert e.value.diag.message_hint == 'There are no valid options in this context.'


def test_bad_src_type(db):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        db.execute("create foreign table redis.v2 (element text) server redis_server "
                   "options (src_type 'lists', src_key 'k')")
    assert '"lists"' in str(e.value)
    assert 'multi_zset' in e.value.diag.message_hint


@pytest.mark.parametrize('options,missing', [
    ("src_type 'list'", 'src_key'), ("src_key 'k'", 'src_type'), (None, 'src_type')])
def test_table_needs_src_type_and_src_key(db, options, missing):
    with pytest.raises(psycopg.errors.FdwOptionNameNotFound) as e:
        db.execute("create foreign table redis.v3 (element text) server redis_server %s"
                   % ('options (%s)' % options if options else ''))
    assert missing in str(e.value)


def test_options_cannot_be_dropped_later(db):
    t = table(db, 'v4', 'list', 'k')
    with pytest.raises(psycopg.errors.FdwOptionNameNotFound):
        db.execute("alter foreign table %s options (drop src_key)" % t)


def test_server_needs_a_url(db):
    with pytest.raises(psycopg.errors.FdwOptionNameNotFound) as e:
        db.execute("create server v_nourl foreign data wrapper redis_wrapper")
    assert 'conn_url' in str(e.value)


def test_server_takes_one_kind_of_url(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName):
        db.execute("create server v_both foreign data wrapper redis_wrapper "
                   "options (conn_url 'redis://localhost', conn_url_id 'x')")


@pytest.mark.parametrize('url', [
    'redis://user:s3cr3tpw@host:notaport/0',
    'redis://:s3cr3tpw@host:6379/s3cr3tpw',
    'http://user:s3cr3tpw@host',
    'redis://user:s3cr3tpw@',
    'redis://u:s3cr3tpw@host:6379/0?s3cr3tpw=1',
    's3cr3tpw',
    'redis://u:s3cr3tpw@h1:7000,:7001',
    'redis://u:s3cr3tpw@h1:7000,h2:s3cr3tpw',
    'redis+sentinel://u:s3cr3tpw@s1:26379,s2:26379',
    'redis+sentinel://u:s3cr3tpw@s1:26379/',
    'redis+sentinel://u:s3cr3tpw@s1/main/s3cr3tpw',
])
def test_invalid_url_is_rejected_without_echoing_the_password(db, url):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue) as e:
        db.execute(sql.SQL("create server v_url foreign data wrapper redis_wrapper options (conn_url {})")
                   .format(sql.Literal(url)))
    text = '%s %s %s' % (e.value, e.value.diag.message_detail, e.value.diag.message_hint)
    assert 'invalid Redis connection URL' in text
    assert 's3cr3tpw' not in text


@pytest.mark.parametrize('url', [
    'redis://h1:7000,h2:7001,[::1]:7002/0',
    'rediss://u:pw@h1,h2',
    'redis+sentinel://s1:26379,s2:26380/main/3',
    'rediss+sentinel://u:pw@s1/main',
])
def test_several_hosts_and_sentinel_urls_are_valid(db, url):
    db.execute(sql.SQL("create server v_hosts foreign data wrapper redis_wrapper options (conn_url {})")
               .format(sql.Literal(url)))
    db.execute("drop server v_hosts")


@pytest.mark.parametrize('value', ['-1', 'soon', '5 parsecs'])
def test_bad_timeouts(db, value):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue):
        db.execute(sql.SQL("create server v_t foreign data wrapper redis_wrapper "
                           "options (conn_url 'redis://localhost', connect_timeout {})").format(sql.Literal(value)))


def test_timeouts_take_units(db):
    db.execute("drop server if exists v_t2")
    db.execute("create server v_t2 foreign data wrapper redis_wrapper "
               "options (conn_url 'redis://localhost', connect_timeout '2s', command_timeout '1500')")
    db.execute("drop server v_t2")


def test_fetch_option_values_and_types(db):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue):
        db.execute("create foreign table redis.v5 (element text) server redis_server "
                   "options (src_type 'set', src_key 'k', fetch 'some')")
    with pytest.raises(psycopg.errors.FdwInvalidOptionName):
        db.execute("create foreign table redis.v5 (key text) server redis_server "
                   "options (src_type 'multi_list', src_key 'k:*', fetch 'scan')")

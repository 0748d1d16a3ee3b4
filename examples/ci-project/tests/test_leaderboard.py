"""Tests against PostgreSQL + redis_wrapper and Redis in containers: the
fixtures come from the redis_wrapper_tools pytest plugin, installed with the
tooling (pip install redis-wrapper-tools); nothing here starts a server."""
import leaderboard


def test_top_players(redis_wrapper_db, redis_container):
    redis_container.get_client().zadd('scores', {'ann': 30, 'bob': 10, 'cy': 20})
    leaderboard.install(redis_wrapper_db)
    assert leaderboard.top(redis_wrapper_db, 2) == [('ann', 30.0), ('cy', 20.0)]


def test_scores_join_a_local_table(redis_wrapper_db, redis_container):
    redis_container.get_client().zadd('scores', {'ann': 30, 'bob': 10})
    redis_wrapper_db.execute('create table players (login text primary key, name text)')
    redis_wrapper_db.execute("insert into players values ('ann', 'Ann Smith'), ('bob', 'Bob Jones')")
    leaderboard.install(redis_wrapper_db)
    assert leaderboard.top_with_names(redis_wrapper_db, 5) == [('Ann Smith', 30.0), ('Bob Jones', 10.0)]


def test_each_test_starts_from_an_empty_redis(redis_wrapper_db):
    leaderboard.install(redis_wrapper_db)
    assert leaderboard.top(redis_wrapper_db, 5) == []


def test_top_players_on_a_redis_cluster(redis_wrapper_cluster_db, redis_cluster):
    """Production runs a Redis Cluster: the same queries, through its seeds."""
    with redis_cluster.get_client() as client:
        client.zadd('scores', {'ann': 30, 'bob': 10, 'cy': 20})
    leaderboard.install(redis_wrapper_cluster_db)
    assert leaderboard.top(redis_wrapper_cluster_db, 2) == [('ann', 30.0), ('cy', 20.0)]

"""tests/conftest.py's redis_cluster is a cluster of local processes, for
tests/sql; here it is the plugin's, of containers, as a project's CI has it."""
from redis_wrapper_tools.testing.plugin import redis_cluster  # noqa: F401

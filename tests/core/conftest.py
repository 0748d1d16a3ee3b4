"""The core layer: the Cython core as the Python extension redis_wrapper_core
(built by ./dev test into build/pg<N>), driven with no PostgreSQL at all:
RESP byte scripts in, rows or errors out."""
import os
import re
import subprocess
import sys

import pytest

from redis_wrapper_tools.build import ROOT, build_dir

from .scripted_redis import ScriptedRedis

sys.path.insert(0, build_dir(os.environ.get('PG_CONFIG', 'pg_config')))
import redis_wrapper_core as core  # noqa: E402  (found through the path above)

# A scan that should end never waits longer than this for a reply: a hang
# becomes a timeout error (RW_ERR_TIMEOUT), not a stuck test run.
GUARD_MS = 5000


def error_kinds():
    """RwErrorKind's names without RW_ERR_, by their numbers (the enum's order in core_api.h)."""
    with open(os.path.join(ROOT, 'src', 'core_api.h')) as f:
        body = re.search(r'typedef enum RwErrorKind\s*\{(.*?)\}', f.read(), re.S).group(1)
    names = re.findall(r'^\s*RW_ERR_(\w+)', body, re.M)
    assert names[0] == 'NONE' and body.count('=') == 1     # numbered by position alone
    return names


KIND = {name: i for i, name in enumerate(error_kinds())}


def hiredis_major():
    """The major version of the hiredis the core was built with: RESP3's nil
    ("_") is a nil for hiredis 1.x, a protocol error for hiredis 0.x."""
    version = subprocess.run(['pkg-config', '--modversion', 'hiredis'], capture_output=True, text=True,
                             check=True).stdout
    return int(version.split('.')[0])


def scan(server, source, key, **kw):
    """The rows of one scan of server's source key (see core.scan)."""
    kw.setdefault('command_timeout_ms', GUARD_MS)
    return core.scan(server.url, source, key, **kw)


def failure(server, source, key, kind, *words, **kw):
    """The CoreError a scan fails with, checked to be of kind (a KIND name)
    and to say each of words."""
    with pytest.raises(core.CoreError) as e:
        scan(server, source, key, **kw)
    err = e.value
    assert err.kind == KIND[kind], (KIND, err.kind, err.message)
    for w in words:
        assert w in err.message, (w, err.message)
    return err


@pytest.fixture
def fake():
    """A factory of scripted fake Redis servers, all stopped when the test ends."""
    servers = []

    def start(script):
        servers.append(ScriptedRedis(script).start())
        return servers[-1]
    yield start
    for s in servers:
        s.stop()


# -- writes: the core's modify against a real Redis --------------------------------

@pytest.fixture
def url(redis_server, r):
    """The URL of an emptied Redis, with nothing pending in the core."""
    core.xact_abort()
    yield redis_server.url
    core.xact_abort()


def write(url, source, key, op, rows=(), **kw):
    kw.setdefault('command_timeout_ms', GUARD_MS)
    return core.modify(url, source, key, op, rows, **kw)


def fails(kind, *words):
    """A context: the CoreError raised inside must be of kind and say words."""
    class Check:
        def __enter__(self):
            self.raises = pytest.raises(core.CoreError)
            self.info = self.raises.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            err = self.info.value
            assert err.kind == KIND[kind], (kind, err.kind, err.message)
            for w in words:
                assert w in err.message, (w, err.message)
            return handled
    return Check()

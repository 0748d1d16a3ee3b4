"""Entry point of the tooling: python -m redis_wrapper_tools COMMAND (see ./dev)."""
import argparse
import os
import subprocess
import sys

from . import bench, build, demo
from .images import RELEASES
from .matrix import TARGETS


def main(argv=None):
    parser = argparse.ArgumentParser(prog='./dev')
    parser.add_argument('--pg-config', default=os.environ.get('PG_CONFIG', 'pg_config'),
                        help='pg_config of the PostgreSQL to build for (default: pg_config on PATH)')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('install', help='build the module and install it into that PostgreSQL')
    sub.add_parser('demo', help="run the spec's examples against throwaway servers")
    bench_cmd = sub.add_parser('bench', help='benchmark our scans against a raw hiredis client')
    bench_cmd.add_argument('--only', choices=['lookups', 'writes', 'partitions', 'preload', 'cluster'],
                           help='lookups: only the lookup cases (their data alone, about a minute); '
                                'writes: only the write cases; '
                                'partitions: only the async scan of a table over three servers; '
                                'preload: only a fresh backend\'s first query; '
                                'cluster: a 3-primary Redis Cluster beside one server')
    test = sub.add_parser('test', help='run the whole test suite (further arguments go to pytest)')
    test.add_argument('--backend', choices=['local', 'containers'], default='local',
                      help='local processes (default) or a container of --target')
    test.add_argument('--target', choices=sorted(TARGETS), default='debian13')
    sub.add_parser('test-matrix', help='the suite on every container target, as a table')
    image = sub.add_parser('image', help='build the PostgreSQL + redis_wrapper images from the checkout')
    image.add_argument('--target', choices=sorted(RELEASES), action='append',
                       help='debian12 (PostgreSQL 15) or debian13 (PostgreSQL 17); default: both')
    containers = sub.add_parser('test-containers',
                                help='the cross-container tests (tests/containers) on each image target')
    containers.add_argument('--target', choices=sorted(RELEASES), action='append',
                            help='debian12 or debian13; default: both')
    args, pytest_args = parser.parse_known_args(argv)
    if pytest_args and args.command not in ('test', 'test-matrix', 'test-containers'):
        parser.error('unrecognized arguments: %s' % ' '.join(pytest_args))

    # The container commands import testcontainers only when run: the matrix's
    # containers run ./dev with Debian's Python packages, which lack it.
    if args.command == 'test-matrix':
        from . import matrix
        return matrix.run_matrix(pytest_args)
    if args.command == 'test' and args.backend == 'containers':
        from . import matrix
        return matrix.run_one(args.target, pytest_args)
    if args.command == 'image':
        from . import cross
        return cross.build_images(args.target or sorted(RELEASES))
    if args.command == 'test-containers':
        from . import cross
        return cross.run(args.target or sorted(RELEASES), pytest_args)
    build.build_and_install(args.pg_config)
    if args.command == 'demo':
        demo.run(args.pg_config)
    elif args.command == 'bench':
        bench.run(args.pg_config, only=args.only)
    elif args.command == 'test':
        env = dict(os.environ, PG_CONFIG=args.pg_config)
        named = any(os.path.exists(a.split('::')[0]) for a in pytest_args if not a.startswith('-'))
        # The cross-container tests need an engine: ./dev test-containers runs them.
        tests = [] if named else [os.path.join(build.ROOT, 'tests'),
                                  '--ignore=' + os.path.join(build.ROOT, 'tests', 'containers')]
        return subprocess.call([sys.executable, '-m', 'pytest'] + tests + pytest_args, env=env)
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Entry point of the tooling: python -m redis_wrapper_tools COMMAND (see ./dev)."""
import argparse
import os
import subprocess
import sys

from . import bench, build, demo


def main(argv=None):
    parser = argparse.ArgumentParser(prog='./dev')
    parser.add_argument('--pg-config', default=os.environ.get('PG_CONFIG', 'pg_config'),
                        help='pg_config of the PostgreSQL to build for (default: pg_config on PATH)')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('install', help='build the module and install it into that PostgreSQL')
    sub.add_parser('demo', help="run the spec's examples against throwaway servers")
    sub.add_parser('bench', help='benchmark our scans against a raw hiredis client')
    sub.add_parser('test', help='run the whole test suite (further arguments go to pytest)')
    args, pytest_args = parser.parse_known_args(argv)
    if pytest_args and args.command != 'test':
        parser.error('unrecognized arguments: %s' % ' '.join(pytest_args))

    build.build_and_install(args.pg_config)
    if args.command == 'demo':
        demo.run(args.pg_config)
    elif args.command == 'bench':
        bench.run(args.pg_config)
    elif args.command == 'test':
        env = dict(os.environ, PG_CONFIG=args.pg_config)
        named = any(os.path.exists(a.split('::')[0]) for a in pytest_args if not a.startswith('-'))
        tests = [] if named else [os.path.join(build.ROOT, 'tests')]
        return subprocess.call([sys.executable, '-m', 'pytest'] + tests + pytest_args, env=env)
    return 0


if __name__ == '__main__':
    sys.exit(main())

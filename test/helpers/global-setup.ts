// One PostgreSQL for the whole run (embedded unless DATABASE_URL is set); each suite makes its own database
// on it (test/helpers/postgres.ts). Jest workers are spawned after this runs, so they inherit the variable.
// Likewise one MariaDB (a private instance unless MARIADB_URL is set; test/helpers/mariadb.ts).
import { startMariaDb } from '../../scripts/lib/mariadb';
import { startEmbeddedPostgres } from '../../scripts/lib/postgres';

async function setupPostgres(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.FINFLOW_TEST_PG_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const handle = await startEmbeddedPostgres();
  (globalThis as { __finflowPg?: typeof handle }).__finflowPg = handle;
  process.env.FINFLOW_TEST_PG_ADMIN_URL = handle.adminUrl;
}

async function setupMariaDb(): Promise<void> {
  if (process.env.MARIADB_URL) {
    process.env.FINFLOW_TEST_MARIADB_ADMIN_URL = process.env.MARIADB_URL;
    return;
  }
  try {
    const handle = await startMariaDb();
    (globalThis as { __finflowMariaDb?: typeof handle }).__finflowMariaDb = handle;
    process.env.FINFLOW_TEST_MARIADB_ADMIN_URL = handle.adminUrl;
  } catch (err) {
    // Only the suites that use MariaDB need it (e.g. installing it needs root): they fail with this reason,
    // the rest of the run goes on.
    process.env.FINFLOW_TEST_MARIADB_ERROR = (err as Error).message;
  }
}

export default async function globalSetup(): Promise<void> {
  // Started side by side: both are a second or so of mostly waiting. If one fails, jest runs no teardown, so
  // stop the other here rather than leave it running.
  const results = await Promise.allSettled([setupPostgres(), setupMariaDb()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    const g = globalThis as { __finflowPg?: { stop(): Promise<void> }; __finflowMariaDb?: { stop(): Promise<void> } };
    await Promise.allSettled([g.__finflowPg?.stop(), g.__finflowMariaDb?.stop()]);
    throw failed.reason;
  }
}

// One PostgreSQL for the whole run (embedded unless DATABASE_URL is set); each suite makes its own database
// on it (test/helpers/postgres.ts). Jest workers are spawned after this runs, so they inherit the variable.
import { startEmbeddedPostgres } from '../../scripts/lib/postgres';

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.FINFLOW_TEST_PG_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const handle = await startEmbeddedPostgres();
  (globalThis as { __finflowPg?: typeof handle }).__finflowPg = handle;
  process.env.FINFLOW_TEST_PG_ADMIN_URL = handle.adminUrl;
}

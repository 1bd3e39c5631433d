import { randomBytes } from 'node:crypto';
import { createDatabase } from '../../scripts/lib/pg-admin';

/** A fresh, uniquely named database for one suite on the run's PostgreSQL server. */
export async function freshDatabase(prefix: string): Promise<string> {
  const admin = process.env.FINFLOW_TEST_PG_ADMIN_URL;
  if (!admin) throw new Error('FINFLOW_TEST_PG_ADMIN_URL is unset: jest globalSetup did not run');
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  return createDatabase(admin, name);
}

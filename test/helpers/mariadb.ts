import { randomBytes } from 'node:crypto';
import { createMariaDatabase } from '../../scripts/lib/mariadb';

/** A fresh, uniquely named database for one suite on the run's MariaDB server. */
export async function freshMariaDatabase(prefix: string): Promise<string> {
  const admin = process.env.FINFLOW_TEST_MARIADB_ADMIN_URL;
  if (!admin)
    throw new Error(
      process.env.FINFLOW_TEST_MARIADB_ERROR
        ? `MariaDB did not start for this run (set MARIADB_URL to use another server): ${process.env.FINFLOW_TEST_MARIADB_ERROR}`
        : 'FINFLOW_TEST_MARIADB_ADMIN_URL is unset: jest globalSetup did not run',
    );
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  return createMariaDatabase(admin, name);
}

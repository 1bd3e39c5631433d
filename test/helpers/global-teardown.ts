import type { MariaDbHandle } from '../../scripts/lib/mariadb';
import type { PostgresHandle } from '../../scripts/lib/postgres';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __finflowPg?: PostgresHandle; __finflowMariaDb?: MariaDbHandle };
  await Promise.all([g.__finflowPg?.stop(), g.__finflowMariaDb?.stop()]);
}

import type { PostgresHandle } from '../../scripts/lib/postgres';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __finflowPg?: PostgresHandle }).__finflowPg?.stop();
}

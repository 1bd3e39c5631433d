// A PostgreSQL pool for a long-running process (a worker, the gateway, the codec server). node-postgres emits
// 'error' on the pool when the server drops an idle connection (a restart, a failover); without a listener that
// event crashes the process. The pool discards the broken connection and opens a new one on next use, and a query
// in flight fails on its own (its activity or request is retried), so the listener has nothing to do but exist.
import { Pool, type PoolConfig } from 'pg';

export function resilientPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', () => undefined);
  return pool;
}

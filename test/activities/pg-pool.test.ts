// A long-running process's PostgreSQL pool outlives the server dropping its idle connections (a restart, a
// failover, an administrator's pg_terminate_backend): node-postgres reports that as an 'error' on the pool, which
// would crash a worker without a listener. Real PostgreSQL.
import { Client } from 'pg';
import { resilientPool } from '../../activities/pg-pool';
import { freshDatabase } from '../helpers/postgres';

let url: string;

beforeAll(async () => {
  url = await freshDatabase('pg_pool_resilience');
}, 120_000);

describe('a resilient pool', () => {
  it('survives the server dropping its idle connection and answers the next query on a new one', async () => {
    const pool = resilientPool({ connectionString: url, max: 1 });
    try {
      const first = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = first.rows[0].pid;
      const admin = new Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      } finally {
        await admin.end();
      }
      // The pool sees its idle connection go (the 'error' that crashes a process with no listener: jest would
      // report it as uncaught) and discards it...
      for (let i = 0; i < 100 && pool.totalCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(pool.totalCount).toBe(0);
      // ...and the next query runs on a new backend.
      const next = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(next.rows[0].pid).not.toBe(pid);
    } finally {
      await pool.end();
    }
  });
});

import { Client } from 'pg';
import { freshDatabase } from '../helpers/postgres';

describe('the embedded PostgreSQL harness', () => {
  it('gives each suite its own empty database on a real server', async () => {
    const urlA = await freshDatabase('harness');
    const urlB = await freshDatabase('harness');
    expect(urlA).not.toBe(urlB);
    const a = new Client({ connectionString: urlA });
    const b = new Client({ connectionString: urlB });
    await a.connect();
    await b.connect();
    try {
      const version = await a.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number(version.rows[0].server_version_num)).toBeGreaterThanOrEqual(140000);
      await a.query('CREATE TABLE t (amount numeric(20,2))');
      await a.query("INSERT INTO t VALUES ('0.10'), ('0.20')");
      const total = await a.query<{ s: string }>('SELECT sum(amount)::text AS s FROM t');
      expect(total.rows[0].s).toBe('0.30');
      const other = await b.query("SELECT to_regclass('public.t') AS t");
      expect(other.rows[0].t).toBeNull();
    } finally {
      await a.end();
      await b.end();
    }
  });
});

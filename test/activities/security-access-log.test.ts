import { Pool } from 'pg';
import { InMemoryAccessLog, PgAccessLog, type AccessEvent } from '../../activities/security/access-log';
import { freshDatabase } from '../helpers/postgres';

const event: AccessEvent = {
  actor: 'ana@acme',
  action: 'read',
  resource: 'close:ACME:2026-10/bank',
  fields: ['bank.account_number'],
  purpose: 'bank reconciliation review',
  outcome: 'allowed',
};

describe('the in-memory access log', () => {
  it('records who, what, when, which fields and why', async () => {
    const at = new Date('2026-10-31T18:00:00Z');
    const log = new InMemoryAccessLog(() => at);
    await log.record(event);
    expect(log.entries).toEqual([{ ...event, id: '1', at }]);
  });

  it('refuses an event without actor, resource or purpose, or with an unknown action', async () => {
    const log = new InMemoryAccessLog();
    await expect(log.record({ ...event, actor: ' ' })).rejects.toThrow(/lacks actor/);
    await expect(log.record({ ...event, purpose: '', resource: '' })).rejects.toThrow(/lacks resource, purpose/);
    await expect(log.record({ ...event, action: 'peek' as never })).rejects.toThrow(/action "peek"/);
    expect(log.entries).toHaveLength(0);
  });
});

describe('the PostgreSQL access log', () => {
  let pool: Pool;
  let log: PgAccessLog;
  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('security_access_log'), max: 2 });
    log = new PgAccessLog(pool);
    await log.ensureSchema();
    await log.ensureSchema();
  });
  afterAll(async () => {
    await pool.end();
  });

  it('stores each event with a server timestamp and lists them by actor and resource', async () => {
    await log.record(event);
    await log.record({ ...event, actor: 'bob@acme', action: 'decode', outcome: 'denied', fields: [] });
    const mine = await log.list({ actor: 'ana@acme' });
    expect(mine).toEqual([{ ...event, id: expect.any(String), at: expect.any(Date) }]);
    expect(Math.abs(mine[0].at.getTime() - Date.now())).toBeLessThan(60_000);
    const all = await log.list({ resource: event.resource });
    expect(all.map((e) => [e.actor, e.action, e.outcome])).toEqual([
      ['ana@acme', 'read', 'allowed'],
      ['bob@acme', 'decode', 'denied'],
    ]);
  });

  it('is append-only: updates, deletes and truncation are refused', async () => {
    await log.record({ ...event, actor: 'carol@acme' });
    await expect(pool.query("UPDATE access_log SET actor = 'mallory' WHERE actor = 'carol@acme'")).rejects.toThrow(
      /append-only \(UPDATE refused\)/,
    );
    await expect(pool.query("DELETE FROM access_log WHERE actor = 'carol@acme'")).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE access_log')).rejects.toThrow(/append-only/);
    expect(await log.list({ actor: 'carol@acme' })).toHaveLength(1);
  });

  it('refuses through its constraints an action outside read, change, decode and shred', async () => {
    await expect(
      pool.query(
        "INSERT INTO access_log (actor, action, resource, purpose, outcome) VALUES ('x', 'peek', 'r', 'p', 'allowed')",
      ),
    ).rejects.toThrow(/access_log_action_check/);
  });
});

import { Pool } from 'pg';
import { AuditLedger, entryHash, GENESIS_HASH, type ExportedCheckpoint } from '../../activities/audit-ledger';
import { generateSigningKey } from '../../activities/compliance/signing';
import { freshDatabase } from '../helpers/postgres';

const key = generateSigningKey();
const pools: Pool[] = [];

async function freshLedger(
  opts: { checkpointEvery?: number } = {},
): Promise<{ ledger: AuditLedger; pool: Pool; url: string }> {
  const url = await freshDatabase('audit_ledger');
  const pool = new Pool({ connectionString: url, max: 4 });
  pools.push(pool);
  const ledger = await AuditLedger.open({ pool, signingKey: key, ...opts });
  return { ledger, pool, url };
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

async function fill(ledger: AuditLedger, n: number): Promise<void> {
  for (let i = 1; i <= n; i++)
    await ledger.append({
      actor: i % 2 ? 'sam.supervisor' : 'worker',
      action: i % 2 ? 'approval.approved' : 'reconciliation.completed',
      subject: `close:ACME:2026-10/item-${i}`,
      payload: { i, amount: `${i}000.50`, nested: { z: 1, a: [true, null, 'x'] } },
      at: `2026-11-0${1 + (i % 5)}T10:00:00.${String(i).padStart(3, '0')}Z`,
    });
}

/** A DBA with superuser rights goes around the append-only trigger. */
async function asDba(pool: Pool, sql: string, params: unknown[] = []): Promise<void> {
  const db = await pool.connect();
  try {
    await db.query('ALTER TABLE audit_ledger DISABLE TRIGGER audit_ledger_no_change');
    await db.query(sql, params);
    await db.query('ALTER TABLE audit_ledger ENABLE TRIGGER audit_ledger_no_change');
  } finally {
    db.release();
  }
}

describe('the audit ledger', () => {
  it('chains every entry to the one before it with a hash anyone can recompute', async () => {
    const { ledger } = await freshLedger();
    await fill(ledger, 5);
    const entries = await ledger.entries();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i].prevHash).toBe(entries[i - 1].hash);
    for (const e of entries) {
      const { hash, ...content } = e;
      expect(entryHash(content)).toBe(hash);
    }
    expect(entries[2].payload).toEqual({ i: 3, amount: '3000.50', nested: { z: 1, a: [true, null, 'x'] } });
    expect(await ledger.verify()).toMatchObject({ ok: true, entries: 5, lastSeq: 5, lastHash: entries[4].hash });
  });

  it('keeps one unbroken chain when many writers append at once', async () => {
    const { ledger, url } = await freshLedger();
    const writers = await Promise.all(
      [0, 1, 2].map(async () => {
        const pool = new Pool({ connectionString: url, max: 3 });
        pools.push(pool);
        return AuditLedger.open({ pool });
      }),
    );
    await Promise.all(
      writers.flatMap((w, wi) =>
        Array.from({ length: 15 }, (_, i) =>
          w.append({ actor: `writer-${wi}`, action: 'test.append', subject: `s-${i}` }),
        ),
      ),
    );
    const v = await ledger.verify();
    expect(v).toMatchObject({ ok: true, entries: 45, lastSeq: 45 });
  });

  it('is refused UPDATE, DELETE and TRUNCATE by the database itself', async () => {
    const { ledger, pool } = await freshLedger();
    await fill(ledger, 2);
    await expect(pool.query(`UPDATE audit_ledger SET actor = 'mallory' WHERE seq = 1`)).rejects.toThrow(
      'audit_ledger is append-only: UPDATE refused',
    );
    await expect(pool.query('DELETE FROM audit_ledger WHERE seq = 2')).rejects.toThrow(
      'audit_ledger is append-only: DELETE refused',
    );
    await expect(pool.query('TRUNCATE audit_ledger CASCADE')).rejects.toThrow('append-only: TRUNCATE refused');
    await ledger.checkpoint();
    await expect(pool.query('DELETE FROM audit_ledger_checkpoints')).rejects.toThrow(
      'audit_ledger_checkpoints is append-only: DELETE refused',
    );
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('detects a payload edited behind its back and reports that entry as the first broken one', async () => {
    const { ledger, pool } = await freshLedger();
    await fill(ledger, 8);
    await asDba(pool, `UPDATE audit_ledger SET payload = jsonb_set(payload, '{amount}', '"3.50"') WHERE seq = 3`);
    expect((await ledger.entries(3, 1))[0].payload).toMatchObject({ amount: '3.50' });
    const v = await ledger.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBroken).toEqual({ seq: 3, reason: 'its content does not match its hash: the entry was edited' });
    expect(v.entries).toBe(2);
  });

  it('detects a deleted entry', async () => {
    const { ledger, pool } = await freshLedger();
    await fill(ledger, 6);
    await asDba(pool, 'DELETE FROM audit_ledger WHERE seq = 4');
    const v = await ledger.verify();
    expect(v.firstBroken).toEqual({ seq: 4, reason: 'entry 4 is missing (the next entry is 5): deleted' });
  });

  it('detects an edit whose author also recomputed that entry’s hash, at the next entry', async () => {
    const { ledger, pool } = await freshLedger();
    await fill(ledger, 5);
    const [e2] = await ledger.entries(2, 1);
    const forged = { ...e2, actor: 'mallory' };
    const { hash: _h, ...content } = forged;
    await asDba(pool, 'UPDATE audit_ledger SET actor = $1, hash = $2 WHERE seq = 2', ['mallory', entryHash(content)]);
    const v = await ledger.verify();
    expect(v.firstBroken?.seq).toBe(3);
    expect(v.firstBroken?.reason).toContain('prev_hash does not match the hash of entry 2');
  });

  it('catches a wholesale rewritten chain, and a cut-off tail, with checkpoints exported earlier', async () => {
    const { ledger, pool } = await freshLedger({ checkpointEvery: 4 });
    await fill(ledger, 9);
    const stored = await ledger.checkpoints();
    expect(stored.map((c) => c.seq)).toEqual([4, 8]);
    const head = await ledger.checkpoint();
    expect(head.seq).toBe(9);
    const exported: ExportedCheckpoint[] = JSON.parse(JSON.stringify([...stored, head]));
    expect((await ledger.verify({ publicKey: key.publicKey, trusted: exported })).checkpointsChecked).toBe(6);

    // Rewrite entry 6 and re-chain everything after it: the chain alone now looks perfect.
    const entries = await ledger.entries();
    let prev = entries[4].hash;
    const db = await pool.connect();
    try {
      await db.query('ALTER TABLE audit_ledger DISABLE TRIGGER audit_ledger_no_change');
      for (const e of entries.slice(5)) {
        const content = { ...e, prevHash: prev, subject: e.seq === 6 ? 'rewritten' : e.subject };
        const { hash: _old, ...rest } = content;
        const hash = entryHash(rest);
        await db.query('UPDATE audit_ledger SET subject = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [
          rest.subject,
          prev,
          hash,
          e.seq,
        ]);
        prev = hash;
      }
      await db.query('ALTER TABLE audit_ledger ENABLE TRIGGER audit_ledger_no_change');
    } finally {
      db.release();
    }
    const v = await ledger.verify({ publicKey: key.publicKey, trusted: exported });
    expect(v.ok).toBe(false);
    expect(v.firstBroken?.seq).toBe(8);
    expect(v.firstBroken?.reason).toMatch(/checkpoint at seq 8 signed hash .* rewritten/);

    const { ledger: l2, pool: p2 } = await freshLedger();
    await fill(l2, 5);
    const cp = await l2.checkpoint();
    // The DBA removes the last entry and, since it references that entry, the stored checkpoint: only the exported
    // copy is left to tell.
    const db2 = await p2.connect();
    try {
      await db2.query('ALTER TABLE audit_ledger_checkpoints DISABLE TRIGGER audit_ledger_checkpoints_no_change');
      await db2.query('DELETE FROM audit_ledger_checkpoints');
      await db2.query('ALTER TABLE audit_ledger DISABLE TRIGGER audit_ledger_no_change');
      await db2.query('DELETE FROM audit_ledger WHERE seq = 5');
    } finally {
      db2.release();
    }
    expect((await l2.verify()).ok).toBe(true);
    const v2 = await l2.verify({ publicKey: key.publicKey, trusted: [cp] });
    expect(v2.firstBroken).toEqual({
      seq: 5,
      reason: 'the checkpoint at seq 5 is beyond the end of the ledger (seq 4): entries were removed',
    });
  });

  it('refuses a checkpoint whose signature was forged', async () => {
    const { ledger } = await freshLedger();
    await fill(ledger, 3);
    const cp = await ledger.checkpoint();
    const forged = { ...cp, hash: 'f'.repeat(64) };
    const v = await ledger.verify({ publicKey: key.publicKey, trusted: [forged] });
    expect(v.firstBroken).toEqual({ seq: 3, reason: 'the checkpoint at seq 3 has a signature that does not verify' });
    const stranger = generateSigningKey();
    expect((await ledger.verify({ publicKey: stranger.publicKey })).firstBroken?.reason).toContain(
      'signature that does not verify',
    );
  });

  it('returns the existing entry for a repeated idempotency key instead of appending twice', async () => {
    const { ledger } = await freshLedger();
    const input = {
      actor: 'worker',
      action: 'evidence.generated',
      subject: 'pkg',
      idempotencyKey: 'close:ACME:2026-10/evidence',
    };
    const a = await ledger.append(input);
    const b = await ledger.append(input);
    expect(b).toEqual(a);
    expect((await ledger.entries()).length).toBe(1);
    await expect(ledger.append({ ...input, action: 'other' })).rejects.toThrow(/idempotency key .* was already used/);
  });

  it('refuses a payload that would not survive storage exactly', async () => {
    const { ledger } = await freshLedger();
    await expect(ledger.append({ actor: 'a', action: 'b', subject: 'c', payload: { n: 2 ** 60 } })).rejects.toThrow(
      'integer 1152921504606847000 is beyond 2^53: write it as a string at .n',
    );
    await expect(ledger.append({ actor: '', action: 'b', subject: 'c' })).rejects.toThrow(
      'actor must be a non-empty string',
    );
    expect(await ledger.entries()).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import {
  type ExceptionInput,
  type ExceptionRow,
  type MatchInput,
  type MatchRow,
  type ResultStore,
  createResultStore,
  exceptionFromRecon,
  matchFromRecon,
  runIdOf,
} from '../../activities/result-store';
import { MIGRATIONS } from '../../activities/result-store/schema';
import { ColumnSealer } from '../../activities/security/column-seal';
import { minorToString } from '../../domain/money';
import type { ReconException, ReconMatch } from '../../domain/recon';
import { freshDatabase } from '../helpers/postgres';

const N = 100_000;
const CATEGORIES = ['amount_mismatch', 'missing_in_a', 'missing_in_b', 'timing_difference', 'rounding'];

/** Deterministic exceptions: amounts in cents with both signs, some without a difference. */
function* exceptions(n: number, salt = 0): Generator<ExceptionInput> {
  for (let i = 1; i <= n; i++) {
    const cents = BigInt(((i * 7919 + salt) % 2_000_001) - 1_000_000);
    yield {
      itemId: `GL:${i}`,
      side: i % 3 === 0 ? 'both' : i % 3 === 1 ? 'a' : 'b',
      key: `ACC-${i % 1000}`,
      category: CATEGORIES[i % CATEGORIES.length],
      currency: 'EUR',
      amount: minorToString(cents, 2),
      difference: i % 3 === 0 ? minorToString(cents / 7n, 2) : null,
      evidence: { records: [`GL:${i}`], note: i % 1000 === 0 ? 'tab\there\nline "quoted" \\ back' : 'plain' },
      partition: i % 8,
    };
  }
}

function expectedTotals(n: number) {
  const byCat = new Map<string, { count: number; amount: bigint; difference: bigint }>();
  for (const x of exceptions(n)) {
    const t = byCat.get(x.category) ?? { count: 0, amount: 0n, difference: 0n };
    t.count++;
    t.amount += BigInt(x.amount!.replace('.', ''));
    t.difference += x.difference ? BigInt(x.difference.replace('.', '')) : 0n;
    byCat.set(x.category, t);
  }
  return byCat;
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

async function all<T = ExceptionRow>(it: AsyncIterable<T[]>): Promise<{ rows: T[]; largest: number }> {
  const rows: T[] = [];
  let largest = 0;
  for await (const b of it) {
    largest = Math.max(largest, b.length);
    rows.push(...b);
  }
  return { rows, largest };
}

describe('the reconciliation result store', () => {
  let pool: Pool;
  let store: ResultStore;
  let seq = 0;
  const run = async () => {
    const r = { workflowId: 'recon:ACME:2026-10:gl-vs-erp', workflowRunId: `run-${++seq}`, reconId: 'gl-vs-erp' };
    const { runId } = await store.startRun({ ...r, definitionHash: 'sha256:abc' });
    return runId;
  };

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('result_store'), max: 4 });
    store = createResultStore({ pool });
    await store.migrate();
  });

  afterAll(async () => {
    await pool.end();
  });

  it('applies its migrations once, however often it is asked', async () => {
    expect(await store.migrate()).toEqual([]);
    const { rows } = await pool.query('SELECT version FROM recon_schema_migrations');
    expect(rows.map((r) => r.version).sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('starts a run once per workflow execution and refuses the same run with another definition', async () => {
    const input = { workflowId: 'recon:X:2026-10:a-b', workflowRunId: 'r1', reconId: 'a-b', definitionHash: 'h1' };
    expect(await store.startRun(input)).toEqual({ runId: 'recon:X:2026-10:a-b/r1', created: true });
    expect(await store.startRun(input)).toEqual({ runId: runIdOf(input.workflowId, 'r1'), created: false });
    const f = await failureOf(store.startRun({ ...input, definitionHash: 'h2' }));
    expect(f.type).toBe('RunConflict');
    expect(f.nonRetryable).toBe(true);
  });

  it(`writes ${N} exceptions in one bulk write and the same batch again changes nothing`, async () => {
    const runId = await run();
    expect(await store.writeExceptions(runId, exceptions(N))).toEqual({ rows: N, changed: N });
    expect(await store.writeExceptions(runId, exceptions(N))).toEqual({ rows: N, changed: 0 });
    const { rows } = await pool.query('SELECT count(*)::int n FROM recon_exceptions WHERE run_id = $1', [runId]);
    expect(rows[0].n).toBe(N);

    const totals = await store.exceptionTotals(runId);
    const want = expectedTotals(N);
    const got = new Map<string, { count: number; amount: bigint; difference: bigint }>();
    for (const t of totals) {
      const g = got.get(t.category) ?? { count: 0, amount: 0n, difference: 0n };
      g.count += t.count;
      g.amount += BigInt(t.amount.replace('.', ''));
      g.difference += BigInt(t.difference.replace('.', ''));
      got.set(t.category, g);
      expect(t.open).toBe(t.count);
    }
    expect(got).toEqual(want);
  });

  it('streams exceptions back in bounded batches, in category/key/item order, with exact values', async () => {
    const runId = await run();
    await store.writeExceptions(runId, exceptions(20_000));
    let n = 0;
    let largest = 0;
    let prev = '';
    let sum = 0n;
    for await (const batch of store.streamExceptions(runId, { batchSize: 3000 })) {
      largest = Math.max(largest, batch.length);
      for (const x of batch) {
        const order = `${x.category}\u0000${x.key}\u0000${x.itemId}`;
        expect(order > prev).toBe(true);
        prev = order;
        sum += BigInt(x.amount!.replace('.', ''));
        n++;
      }
    }
    expect(n).toBe(20_000);
    expect(largest).toBeLessThanOrEqual(3000);
    let want = 0n;
    for (const x of exceptions(20_000)) want += BigInt(x.amount!.replace('.', ''));
    expect(sum).toBe(want);
  });

  it('keeps every value exactly: large and small decimals, evidence with awkward text, no partition', async () => {
    const runId = await run();
    const item: ExceptionInput = {
      itemId: 'ERP:INV-0042',
      side: 'both',
      key: 'DE89 3704 0044 0532 0130 00',
      category: 'transposition',
      currency: 'EUR',
      amount: '123456789012345678901234.5678',
      difference: '0.10',
      evidence: { a: '1234.50', b: '1243.50', note: 'tab\tnew\nline \\ "q" é' },
    };
    await store.writeExceptions(runId, [item]);
    const { rows } = await all(store.streamExceptions(runId));
    expect(rows).toEqual([
      {
        ...item,
        runId,
        partition: null,
        rule: null,
        aItems: [],
        bItems: [],
        amountA: null,
        amountB: null,
        accepted: false,
        status: 'open',
        reasonCode: null,
        explanation: null,
        explainedBy: null,
        explainedAt: null,
        resolvedBy: null,
        resolvedAt: null,
      },
    ]);
  });

  it('lets a rewrite correct computed fields but never loses an explanation', async () => {
    const runId = await run();
    const batch = [...exceptions(10)];
    await store.writeExceptions(runId, batch);
    await store.explainException(runId, 'GL:4', {
      explanation: 'bank fee booked in November',
      by: 'controller@acme',
      at: '2026-11-02T09:00:00Z',
    });
    const corrected = batch.map((x) => (x.itemId === 'GL:4' ? { ...x, category: 'timing_difference' } : x));
    expect(await store.writeExceptions(runId, corrected)).toEqual({ rows: 10, changed: 1 });
    const row = (await all(store.streamExceptions(runId))).rows.find((r) => r.itemId === 'GL:4')!;
    expect(row).toMatchObject({
      category: 'timing_difference',
      status: 'explained',
      explanation: 'bank fee booked in November',
      explainedBy: 'controller@acme',
      explainedAt: '2026-11-02T09:00:00+00:00',
    });
  });

  it('refuses a batch that names one item twice, and stores none of it', async () => {
    const runId = await run();
    const batch = [...exceptions(5), { ...[...exceptions(2)][1], category: 'rounding' }];
    const f = await failureOf(store.writeExceptions(runId, batch));
    expect(f.type).toBe('DuplicateItem');
    expect(f.message).toMatch(/item GL:2 appears more than once/);
    const { rows } = await pool.query('SELECT count(*)::int n FROM recon_exceptions WHERE run_id = $1', [runId]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses an amount that is not an exact decimal string, naming the item, and stores none of the batch', async () => {
    const runId = await run();
    const batch = [...exceptions(5)];
    (batch[3] as { amount: unknown }).amount = 12.5;
    const f = await failureOf(store.writeExceptions(runId, batch));
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('exception 4 (GL:4): amount is not a decimal string: 12.5');
    const { rows } = await pool.query('SELECT count(*)::int n FROM recon_exceptions WHERE run_id = $1', [runId]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses results for a run that was never started', async () => {
    const f = await failureOf(store.writeExceptions('recon:nope/r0', exceptions(1)));
    expect(f.type).toBe('RunNotStarted');
  });

  it('records who explained and who resolved an exception, and when', async () => {
    const runId = await run();
    await store.writeExceptions(runId, exceptions(5));
    const early = await failureOf(store.resolveException(runId, 'GL:1', { by: 'cfo@acme' }));
    expect(early.type).toBe('ExplanationRequired');
    const explained = await store.explainException(runId, 'GL:1', {
      explanation: 'duplicate posting reversed on 3 Nov',
      by: 'ap@acme',
      at: '2026-11-03T08:00:00Z',
    });
    expect(explained).toMatchObject({ status: 'explained', explainedBy: 'ap@acme', resolvedBy: null });
    const resolved = await store.resolveException(runId, 'GL:1', { by: 'controller@acme', at: '2026-11-04T10:30:00Z' });
    expect(resolved).toMatchObject({
      status: 'resolved',
      explanation: 'duplicate posting reversed on 3 Nov',
      explainedBy: 'ap@acme',
      explainedAt: '2026-11-03T08:00:00+00:00',
      resolvedBy: 'controller@acme',
      resolvedAt: '2026-11-04T10:30:00+00:00',
    });
    // A retried resolve by the same person is a no-op; anyone else meets the first resolution.
    expect(await store.resolveException(runId, 'GL:1', { by: 'controller@acme' })).toEqual(resolved);
    expect((await failureOf(store.resolveException(runId, 'GL:1', { by: 'someone@acme' }))).type).toBe(
      'ExceptionAlreadyResolved',
    );
    expect((await failureOf(store.explainException(runId, 'GL:1', { explanation: 'other', by: 'ap@acme' }))).type).toBe(
      'ExceptionAlreadyResolved',
    );
    expect((await failureOf(store.explainException(runId, 'GL:99', { explanation: 'x', by: 'ap@acme' }))).type).toBe(
      'ExceptionNotFound',
    );
    // One step: resolved with its explanation.
    const direct = await store.resolveException(runId, 'GL:2', {
      by: 'controller@acme',
      explanation: 'write-off approved',
    });
    expect(direct).toMatchObject({ status: 'resolved', explanation: 'write-off approved', explainedBy: null });
    expect(Date.parse(direct.resolvedAt!)).not.toBeNaN();

    const open = await all(store.streamExceptions(runId, { statuses: ['open'] }));
    expect(open.rows.map((r) => r.itemId).sort()).toEqual(['GL:3', 'GL:4', 'GL:5']);
    const totals = await store.exceptionTotals(runId);
    expect(totals.reduce((s, t) => s + t.resolved, 0)).toBe(2);
  });

  it("stores the engine's exceptions and matches as they are, an accepted difference as explained by its rule", async () => {
    const runId = await run();
    const accepted: ReconException = {
      id: 'GL:7',
      category: 'within_tolerance',
      open: false,
      rule: 'tol-1',
      key: 'ACC-7',
      currency: 'EUR',
      a: ['GL:7'],
      b: ['ERP:7'],
      amount_a: '100.00',
      amount_b: '99.98',
      difference: '0.02',
      evidence: { absolute_limit: '0.05' },
    };
    const missing: ReconException = {
      id: 'ERP:9',
      category: 'missing_in_a',
      open: true,
      key: 'ACC-9',
      currency: 'EUR',
      a: [],
      b: ['ERP:9'],
      amount_a: '0.00',
      amount_b: '-12.30',
      difference: '12.30',
      evidence: { key_on_other_side: 0 },
    };
    const match: ReconMatch = {
      id: 'GL:7',
      rule: 'tol-1',
      rule_type: 'tolerance',
      key: 'ACC-7',
      currency: 'EUR',
      a: ['GL:7'],
      b: ['ERP:7'],
      amount_a: '100.00',
      amount_b: '99.98',
      difference: '0.02',
    };
    await store.writeExceptions(
      runId,
      [accepted, missing].map((x) => exceptionFromRecon(x, 3)),
    );
    await store.writeMatches(runId, [matchFromRecon(match, 3)]);
    const { rows } = await all(store.streamExceptions(runId));
    expect(rows.find((r) => r.itemId === 'GL:7')).toMatchObject({
      side: 'both',
      amount: '100.00',
      amountA: '100.00',
      amountB: '99.98',
      difference: '0.02',
      rule: 'tol-1',
      aItems: ['GL:7'],
      bItems: ['ERP:7'],
      accepted: true,
      status: 'explained',
      explanation: 'accepted by rule tol-1 (within_tolerance)',
      explainedBy: 'rule:tol-1',
      partition: 3,
      evidence: { absolute_limit: '0.05' },
    });
    expect(rows.find((r) => r.itemId === 'ERP:9')).toMatchObject({
      side: 'b',
      amount: '-12.30',
      accepted: false,
      status: 'open',
      explanation: null,
      rule: null,
    });
    const open = await all(store.streamExceptions(runId, { statuses: ['open'] }));
    expect(open.rows.map((r) => r.itemId)).toEqual(['ERP:9']);
    const matches = [];
    for await (const b of store.streamMatches(runId)) matches.push(...b);
    expect(matches).toEqual([{ ...matchFromRecon(match, 3), runId }]);
  });

  it('writes and streams matches idempotently', async () => {
    const runId = await run();
    const matches: MatchInput[] = Array.from({ length: 5000 }, (_, i) => ({
      itemId: `exact:GL:${i}|ERP:${i}`,
      rule: i % 2 ? 'exact' : 'tolerance',
      key: `ACC-${i % 50}`,
      currency: 'EUR',
      aItems: [`GL:${i}`],
      bItems: i % 10 === 0 ? [`ERP:${i}`, `ERP:${i}b`] : [`ERP:${i}`],
      amountA: `${i}.05`,
      amountB: i % 2 ? `${i}.05` : `${i}.04`,
      difference: i % 2 ? '0.00' : '0.01',
      partition: i % 4,
    }));
    expect(await store.writeMatches(runId, matches)).toEqual({ rows: 5000, changed: 5000 });
    expect(await store.writeMatches(runId, matches)).toEqual({ rows: 5000, changed: 0 });
    const back: MatchInput[] = [];
    for await (const b of store.streamMatches(runId, { batchSize: 1000 }))
      for (const { runId: r, ...m } of b) {
        expect(r).toBe(runId);
        back.push(m);
      }
    expect(back.sort((x, y) => x.itemId.localeCompare(y.itemId))).toEqual(
      [...matches].sort((x, y) => x.itemId.localeCompare(y.itemId)),
    );
  });

  it('refuses a matches batch that names one pair twice, and stores none of it', async () => {
    const runId = await run();
    const pair = (i: number): MatchInput => ({
      itemId: `exact:GL:${i}|ERP:${i}`,
      rule: 'exact',
      key: `ACC-${i}`,
      currency: 'EUR',
      aItems: [`GL:${i}`],
      bItems: [`ERP:${i}`],
      amountA: '1.00',
      amountB: '1.00',
      difference: '0.00',
    });
    const f = await failureOf(store.writeMatches(runId, [pair(1), pair(2), pair(3), pair(2)]));
    expect(f.type).toBe('DuplicateItem');
    expect(f.message).toMatch(/item exact:GL:2\|ERP:2 appears more than once in one write to recon_matches/);
    const { rows } = await pool.query('SELECT count(*)::int n FROM recon_matches WHERE run_id = $1', [runId]);
    expect(rows[0].n).toBe(0);
  });

  it('rewrites a matches batch that is partly stored already: the stored pairs are kept, the new ones added', async () => {
    const runId = await run();
    const pair = (i: number, amount = '2.00'): MatchInput => ({
      itemId: `exact:GL:${i}|ERP:${i}`,
      rule: 'exact',
      key: `ACC-${i}`,
      currency: 'EUR',
      aItems: [`GL:${i}`],
      bItems: [`ERP:${i}`],
      amountA: amount,
      amountB: amount,
      difference: '0.00',
    });
    expect(await store.writeMatches(runId, [pair(1), pair(2)])).toEqual({ rows: 2, changed: 2 });
    // A retried partition that now sees a corrected amount for pair 2 and one more pair.
    expect(await store.writeMatches(runId, [pair(1), pair(2, '2.50'), pair(3)])).toEqual({ rows: 3, changed: 2 });
    const { rows } = await pool.query<{ item_id: string; amount_a: string }>(
      'SELECT item_id, amount_a::text FROM recon_matches WHERE run_id = $1 ORDER BY item_id',
      [runId],
    );
    expect(rows).toEqual([
      { item_id: 'exact:GL:1|ERP:1', amount_a: '2.00' },
      { item_id: 'exact:GL:2|ERP:2', amount_a: '2.50' },
      { item_id: 'exact:GL:3|ERP:3', amount_a: '2.00' },
    ]);
  });

  it('finishes a run with its summary and keeps the first finish time on a retry', async () => {
    const runId = await run();
    await store.finishRun(runId, { status: 'exceptions', summary: { matched: 10, exceptions: 2, amount: '12.30' } });
    const first = await store.getRun(runId);
    await store.finishRun(runId, { status: 'exceptions', summary: { matched: 10, exceptions: 2, amount: '12.30' } });
    const second = await store.getRun(runId);
    expect(second).toEqual(first);
    expect(second).toMatchObject({
      runId,
      reconId: 'gl-vs-erp',
      definitionHash: 'sha256:abc',
      status: 'exceptions',
      summary: { matched: 10, exceptions: 2, amount: '12.30' },
    });
    expect(Date.parse(second!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(second!.startedAt));
    expect((await failureOf(store.finishRun('recon:none/x', { status: 'balanced', summary: {} }))).type).toBe(
      'RunNotStarted',
    );
  });

  describe('with a key for the run', () => {
    const IBAN = 'DE89370400440532013000';
    const item: ExceptionInput = {
      itemId: 'BANK:7',
      side: 'a',
      key: IBAN,
      category: 'missing_in_b',
      amount: '-99.99',
      evidence: { iban: IBAN },
    };
    const match: MatchInput = {
      itemId: 'exact:BANK:8|GL:8',
      rule: 'exact',
      key: 'DE44500105175407324931',
      aItems: ['BANK:8'],
      bItems: ['GL:8'],
      amountA: '10.00',
      amountB: '10.00',
      difference: '0.00',
    };
    /** A store sealing under one dataset key, as a worker with keys does; `shredded` stands for a shredded key. */
    const keyed = (key = randomBytes(32), state: { shredded?: boolean } = {}) =>
      createResultStore({
        pool,
        sealerFor: async () => {
          if (state.shredded) throw new Error('dataset "recon:ACME:2026-10:gl-vs-erp" was crypto-shredded');
          return new ColumnSealer('recon:ACME:2026-10:gl-vs-erp', key);
        },
      });
    const rawOf = async (runId: string) =>
      JSON.stringify(
        (
          await pool.query(
            `SELECT key, evidence::text AS evidence, explanation FROM recon_exceptions WHERE run_id = $1
             UNION ALL SELECT key, NULL, NULL FROM recon_matches WHERE run_id = $1`,
            [runId],
          )
        ).rows,
      );

    it('stores keys, evidence and explanations sealed and gives them back in clear', async () => {
      const secure = keyed();
      const runId = await run();
      await secure.writeExceptions(runId, [item]);
      await secure.writeMatches(runId, [match]);
      await secure.explainException(runId, 'BANK:7', { explanation: `account ${IBAN} closed`, by: 'ap' });
      const raw = await rawOf(runId);
      expect(raw).not.toContain(IBAN);
      expect(raw).not.toContain('0532');
      expect(raw).not.toContain('DE44500105175407324931');
      // The explanation sealed on its own; the exception's key and evidence and the match's key as references into
      // sealed blocks (one per column written).
      expect(raw.match(/ff1:/g)).toHaveLength(1);
      expect(raw.match(/ff2:/g)).toHaveLength(3);
      const blocks = await pool.query('SELECT body FROM recon_sealed_blocks WHERE run_id = $1', [runId]);
      expect(blocks.rows).toHaveLength(3);
      for (const { body } of blocks.rows as { body: Buffer }[]) {
        expect(Buffer.isBuffer(body)).toBe(true);
        for (const clear of [IBAN, 'DE44500105175407324931', 'exact:BANK:8', 'BANK:7'])
          expect(body.includes(Buffer.from(clear))).toBe(false);
      }
      const [row] = (await all(secure.streamExceptions(runId))).rows;
      expect(row).toMatchObject({
        key: IBAN,
        evidence: { iban: IBAN },
        explanation: `account ${IBAN} closed`,
        amount: '-99.99',
      });
      const matches: MatchRow[] = [];
      for await (const b of secure.streamMatches(runId)) matches.push(...b);
      expect(matches).toMatchObject([{ key: 'DE44500105175407324931', amountA: '10.00' }]);
    });

    it('refuses to read a sealed run without its key, naming the column and item, and keeps totals readable', async () => {
      const runId = await run();
      await keyed().writeExceptions(runId, [item]);
      const f = await failureOf(all(store.streamExceptions(runId)));
      expect(f.type).toBe('DataKeyMissingError');
      expect(f.message).toMatch(/recon_exceptions\.key of item BANK:7 .* encrypted/);
      expect(await store.exceptionTotals(runId)).toMatchObject([
        { category: 'missing_in_b', count: 1, amount: '-99.99' },
      ]);
    });

    it('fails closed on an exception key or evidence moved to another item, a tampered block, a tampered explanation and a clear value put into a sealed run', async () => {
      const key = randomBytes(32);
      const secure = keyed(key);
      const runId = await run();
      await secure.writeExceptions(runId, [item, { ...item, itemId: 'BANK:9', key: 'DE02120300000000202051' }]);
      await secure.explainException(runId, 'BANK:7', { explanation: `account ${IBAN} closed`, by: 'ap' });
      const columnOf = async (column: 'key' | 'evidence::text' | 'explanation', id: string) =>
        (
          await pool.query(`SELECT ${column} AS v FROM recon_exceptions WHERE run_id = $1 AND item_id = $2`, [
            runId,
            id,
          ])
        ).rows[0].v as string;
      const set = (column: 'key' | 'evidence' | 'explanation', id: string, v: string) =>
        pool.query(`UPDATE recon_exceptions SET ${column} = $3 WHERE run_id = $1 AND item_id = $2`, [runId, id, v]);
      const failure = () => failureOf(all(secure.streamExceptions(runId)));

      const originalKey = await columnOf('key', 'BANK:7');
      expect(originalKey).toMatch(/^ff2:[A-Za-z0-9_-]+:0000$/);
      await set('key', 'BANK:7', await columnOf('key', 'BANK:9'));
      let f = await failure();
      expect(f.type).toBe('DataDecryptionError');
      expect(f.message).toMatch(/recon_exceptions\.key of item BANK:7 .* belongs to another item/);
      await set('key', 'BANK:7', IBAN);
      f = await failure();
      expect(f.message).toMatch(/recon_exceptions\.key of item BANK:7 .* not encrypted/);
      await set('key', 'BANK:7', originalKey);

      const originalEvidence = await columnOf('evidence::text', 'BANK:7');
      expect(JSON.parse(originalEvidence)).toMatch(/^ff2:/);
      await set('evidence', 'BANK:7', await columnOf('evidence::text', 'BANK:9'));
      f = await failure();
      expect(f.message).toMatch(/recon_exceptions\.evidence of item BANK:7 .* belongs to another item/);
      await set('evidence', 'BANK:7', JSON.stringify({ iban: IBAN }));
      f = await failure();
      expect(f.message).toMatch(/recon_exceptions\.evidence of item BANK:7 .* not encrypted/);
      await set('evidence', 'BANK:7', originalEvidence);

      // The people's explanations are sealed one by one: a flipped or moved one does not authenticate.
      const explanation = await columnOf('explanation', 'BANK:7');
      await set('explanation', 'BANK:9', explanation);
      f = await failure();
      expect(f.message).toMatch(/BANK:9.*does not authenticate/);
      await set('explanation', 'BANK:9', null as unknown as string);

      const blockId = originalKey.split(':')[1];
      const { rows } = await pool.query('SELECT body FROM recon_sealed_blocks WHERE run_id = $1 AND block_id = $2', [
        runId,
        blockId,
      ]);
      const flipped = Buffer.from(rows[0].body as Buffer);
      flipped[flipped.length - 20] ^= 0x01;
      await pool.query('UPDATE recon_sealed_blocks SET body = $3 WHERE run_id = $1 AND block_id = $2', [
        runId,
        blockId,
        flipped,
      ]);
      f = await failure();
      expect(f.message).toMatch(new RegExp(`sealed block ${blockId} of run .* does not authenticate`));
      await pool.query('UPDATE recon_sealed_blocks SET body = $3 WHERE run_id = $1 AND block_id = $2', [
        runId,
        blockId,
        rows[0].body,
      ]);

      const back = (await all(secure.streamExceptions(runId))).rows;
      expect(back.map((r) => [r.itemId, r.key, r.evidence])).toEqual([
        ['BANK:7', IBAN, { iban: IBAN }],
        ['BANK:9', 'DE02120300000000202051', { iban: IBAN }],
      ]);
      expect(back[0].explanation).toBe(`account ${IBAN} closed`);
      // One exception read alone opens its blocks too.
      const alone = await secure.explainException(runId, 'BANK:9', { explanation: 'duplicate posting', by: 'ap' });
      expect(alone).toMatchObject({ key: 'DE02120300000000202051', evidence: { iban: IBAN } });
      // Another dataset key opens nothing.
      f = await failureOf(all(keyed(randomBytes(32)).streamExceptions(runId)));
      expect(f.type).toBe('DataDecryptionError');
    });

    it('reads back the keys and evidence of exceptions spread over more sealed blocks than it keeps open, in category order', async () => {
      const secure = keyed();
      const runId = await run();
      // 40,000 exceptions: 10 blocks per column, each batch of the category-ordered read points into all of them.
      const many: ExceptionInput[] = Array.from({ length: 40_000 }, (_, i) => ({
        ...item,
        itemId: `BANK:${i}`,
        key: `DE${String(i).padStart(20, '0')}`,
        category: i % 2 ? 'missing_in_b' : 'amount_mismatch',
        evidence: { n: i },
      }));
      await secure.writeExceptions(runId, many);
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM recon_sealed_blocks WHERE run_id = $1',
        [runId],
      );
      expect(rows[0].n).toBe(20);
      const back = new Map<string, [string, unknown]>();
      let previous = '';
      for await (const batch of secure.streamExceptions(runId, { batchSize: 3000 }))
        for (const r of batch) {
          expect(r.category >= previous).toBe(true);
          previous = r.category;
          back.set(r.itemId, [r.key, r.evidence]);
        }
      expect(back.size).toBe(40_000);
      for (const x of many) expect(back.get(x.itemId)).toEqual([x.key, x.evidence]);
    });

    const matches = (n: number, from = 0): MatchInput[] =>
      Array.from({ length: n }, (_, i) => ({
        ...match,
        itemId: `exact:BANK:${from + i}|GL:${from + i}`,
        key: `DE${String(from + i).padStart(20, '0')}`,
      }));
    const matchKeyOf = async (runId: string, itemId: string) =>
      (await pool.query('SELECT key FROM recon_matches WHERE run_id = $1 AND item_id = $2', [runId, itemId])).rows[0]
        .key as string;

    it('seals the keys of many matches a block at a time and reads every one back, also after a rewrite', async () => {
      const secure = keyed();
      const runId = await run();
      await secure.writeMatches(runId, matches(10_000));
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM recon_sealed_blocks WHERE run_id = $1',
        [runId],
      );
      expect(rows[0].n).toBe(3); // 4096 + 4096 + 1808
      expect(await matchKeyOf(runId, 'exact:BANK:4096|GL:4096')).toMatch(/^ff2:[A-Za-z0-9_-]+:0000$/);
      const read = async () => {
        const out: MatchRow[] = [];
        for await (const b of secure.streamMatches(runId, { batchSize: 1000 })) out.push(...b);
        return new Map(out.map((m) => [m.itemId, m.key]));
      };
      let back = await read();
      expect(back.size).toBe(10_000);
      for (const m of matches(10_000)) expect(back.get(m.itemId)).toBe(m.key);
      // A retried write of some of them (the staging path) gives them a new block; the others keep theirs.
      await secure.writeMatches(runId, [...matches(5, 100), ...matches(1, 20_000)]);
      back = await read();
      expect(back.size).toBe(10_001);
      for (const m of [...matches(10_000), ...matches(1, 20_000)]) expect(back.get(m.itemId)).toBe(m.key);
    });

    it('fails closed on a block reference moved to another row, a tampered, missing or moved block, and no key', async () => {
      const secure = keyed();
      const runId = await run();
      const otherRun = await run();
      await secure.writeMatches(runId, matches(3));
      const first = 'exact:BANK:0|GL:0';
      const ref = await matchKeyOf(runId, first);
      const blockId = ref.split(':')[1];
      const setKey = (id: string, v: string) =>
        pool.query('UPDATE recon_matches SET key = $3 WHERE run_id = $1 AND item_id = $2', [runId, id, v]);
      const failure = () => failureOf(all(secure.streamMatches(runId)));

      await setKey(first, await matchKeyOf(runId, 'exact:BANK:1|GL:1'));
      let f = await failure();
      expect(f.type).toBe('DataDecryptionError');
      expect(f.message).toMatch(/recon_matches\.key of item exact:BANK:0\|GL:0 .* belongs to another item/);
      await setKey(first, ref);

      const { rows } = await pool.query('SELECT body FROM recon_sealed_blocks WHERE run_id = $1', [runId]);
      const body = rows[0].body as Buffer;
      const setBody = (v: Buffer) =>
        pool.query('UPDATE recon_sealed_blocks SET body = $2 WHERE run_id = $1', [runId, v]);
      const flipped = Buffer.from(body);
      flipped[flipped.length - 20] ^= 0x01;
      await setBody(flipped);
      f = await failure();
      expect(f.message).toMatch(new RegExp(`sealed block ${blockId} of run .* does not authenticate`));

      // The same block under another run does not open there.
      await pool.query('INSERT INTO recon_sealed_blocks (run_id, block_id, body) VALUES ($1, $2, $3)', [
        otherRun,
        blockId,
        body,
      ]);
      await pool.query(
        `INSERT INTO recon_matches (run_id, item_id, rule, key, a_items, b_items, amount_a, amount_b, difference)
         VALUES ($1, $2, 'exact', $3, '[]', '[]', 1, 1, 0)`,
        [otherRun, first, ref],
      );
      const moved = await failureOf(all(secure.streamMatches(otherRun)));
      expect(moved.message).toMatch(/does not authenticate/);

      await pool.query('DELETE FROM recon_sealed_blocks WHERE run_id = $1', [runId]);
      f = await failure();
      expect(f.message).toMatch(new RegExp(`recon_matches\\.key of item .* its sealed block ${blockId} is missing`));

      f = await failureOf(all(store.streamMatches(runId)));
      expect(f.type).toBe('DataKeyMissingError');
    });

    it('can neither read nor write the sealed columns once the dataset is shredded', async () => {
      const state = { shredded: false };
      const secure = keyed(randomBytes(32), state);
      const runId = await run();
      await secure.writeExceptions(runId, [item]);
      state.shredded = true;
      await expect(all(secure.streamExceptions(runId))).rejects.toThrow(/crypto-shredded/);
      await expect(secure.writeExceptions(runId, [{ ...item, itemId: 'BANK:10' }])).rejects.toThrow(/crypto-shredded/);
      await expect(secure.explainException(runId, 'BANK:7', { explanation: 'x', by: 'ap' })).rejects.toThrow(
        /crypto-shredded/,
      );
      expect((await store.exceptionTotals(runId))[0]).toMatchObject({ count: 1, amount: '-99.99' });
    });
  });
});

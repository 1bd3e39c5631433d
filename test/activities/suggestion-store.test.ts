// Suggested matches decided in the result store (issue 15), on real PostgreSQL: the engine's suggestions written as
// a reconciliation writes them, a confirm and a reject applied all or nothing with their history rows, the records
// returned to the leftovers keeping their age, keys and evidence sealed under the run's key like the engine's own
// rows, and refusals (not a suggestion, two items, another run, a decided one) recorded with nothing changed.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { createResultStore, exceptionFromRecon, type ResultStore } from '../../activities/result-store';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { createSuggestionStore, type SuggestionRequest } from '../../activities/result-store/suggestions';
import { ColumnSealer } from '../../activities/security/column-seal';
import { freshDatabase } from '../helpers/postgres';
import { run as reconcileRows } from '../unit/recon-fixtures';

const ANN = { id: 'ann', roles: ['accountant'] };
const IBAN = 'DE44500105175407324931';

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a refusal');
}

describe('suggested matches decided in the result store', () => {
  let pool: Pool;
  let n = 0;

  /** A run holding the engine's exceptions: an ambiguous exact match on a key naming an account, a manual pair. */
  async function newRun(results: ResultStore): Promise<string> {
    const { runId } = await results.startRun({
      workflowId: 'recon:ACME:2026-10:bank',
      workflowRunId: `run-${++n}`,
      reconId: 'bank',
      definitionHash: 'sha256:x',
    });
    const r = reconcileRows(
      [
        { id: 'exact', type: 'exact' },
        { id: 'near', type: 'tolerance', absolute: '1.00', auto: false },
      ],
      [
        [IBAN, '10.00'],
        ['K2', '20.00'],
        ['K3', '5.00'],
      ],
      [
        [IBAN, '10.00'],
        [IBAN, '10.00'],
        ['K2', '20.40'],
      ],
    );
    await results.writeExceptions(
      runId,
      r.exceptions.map((x) => exceptionFromRecon(x)),
    );
    await results.finishRun(runId, { status: 'exceptions', summary: r.summary });
    await pool.query(`UPDATE recon_exceptions SET first_seen = '2026-09-15' WHERE run_id = $1`, [runId]);
    return runId;
  }

  const req = (runId: string, over: Partial<SuggestionRequest> = {}): SuggestionRequest => ({
    runId,
    reconId: 'bank',
    actor: ANN,
    ownerRoles: ['accountant'],
    action: { action: 'reject', reason: 'different payers' },
    itemIds: ['A:2'],
    at: '2026-11-02T10:00:00.000Z',
    ...over,
  });

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('suggestion_store'), max: 4 });
    await createResultStore({ pool }).migrate();
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('seals the returned records’ keys and evidence under the run’s key, and reads them back in clear with their age', async () => {
    const key = randomBytes(32);
    const sealerFor = async () => new ColumnSealer('recon:ACME:2026-10:bank', key);
    const results = createResultStore({ pool, sealerFor });
    const store = createSuggestionStore({ pool, results, sealerFor });
    const runId = await newRun(results);
    const pending = await store.list(runId, { asOf: '2026-11-02' });
    const ambiguous = pending.items.find((s) => s.rule === 'exact');
    expect(ambiguous).toMatchObject({ key: IBAN, firstSeen: '2026-09-15', candidateCount: 2 });
    const done = await store.decide(
      req(runId, { itemIds: [ambiguous!.itemId], action: { action: 'reject', reason: 'none of them' } }),
    );
    expect(done).toMatchObject({ count: 1, totals: [{ currency: 'EUR', total: '-10.00' }] });
    expect(done.decision.returned.map((r) => r.itemId)).toEqual([
      'returned:A:1:A:1',
      'returned:A:1:B:1',
      'returned:A:1:B:2',
    ]);
    const raw = await pool.query(`SELECT key, evidence::text FROM recon_exceptions WHERE run_id = $1`, [runId]);
    expect(JSON.stringify(raw.rows)).not.toContain('DE4450');
    const rows = await createExceptionActionStore({ pool, results, sealerFor }).rows(runId);
    const returned = rows.filter((r) => r.itemId.startsWith('returned:'));
    expect(returned.map((r) => [r.itemId, r.category, r.key, r.state, r.firstSeen, r.amount])).toEqual([
      ['returned:A:1:B:1', 'missing_in_a', IBAN, 'open', '2026-09-15', '-10.00'],
      ['returned:A:1:B:2', 'missing_in_a', IBAN, 'open', '2026-09-15', '-10.00'],
      ['returned:A:1:A:1', 'missing_in_b', IBAN, 'open', '2026-09-15', '10.00'],
    ]);
    const stream: unknown[] = [];
    for await (const batch of results.streamExceptions(runId)) stream.push(...batch);
    expect(stream.find((x) => (x as { itemId: string }).itemId === 'returned:A:1:B:1')).toMatchObject({
      evidence: { returned_from: 'A:1', returned_because: 'suggestion_rejected', decided_by: 'ann', candidates: 2 },
    });
    // A worker without the key reads none of it.
    const err = await failureOf(
      createSuggestionStore({ pool, results: createResultStore({ pool }) }).list(runId, { asOf: '2026-11-02' }),
    );
    expect(err.type).toBe('DataKeyMissingError');
  });

  it('keeps the exceptions’ totals per currency equal before and after a decision', async () => {
    const results = createResultStore({ pool });
    const store = createSuggestionStore({ pool, results });
    const runId = await newRun(results);
    const sum = async () =>
      (
        await pool.query<{ t: string }>(
          `SELECT sum(difference)::text AS t FROM recon_exceptions
            WHERE run_id = $1 AND status NOT IN ('confirmed', 'rejected')`,
          [runId],
        )
      ).rows[0].t;
    const before = await sum();
    await store.decide(req(runId, { itemIds: ['A:1'], action: { action: 'confirm', candidate: 1 } }));
    // The confirmed candidate (0.00) left the exceptions; the other candidate's record came back (-10.00).
    expect(await sum()).toBe(before);
    await store.decide(req(runId));
    expect(await sum()).toBe(before);
  });

  it('refuses what is not a decision on one pending suggestion of this run, records it and changes nothing', async () => {
    const results = createResultStore({ pool });
    const store = createSuggestionStore({ pool, results });
    const runId = await newRun(results);
    const missing = await pool.query(
      `SELECT item_id FROM recon_exceptions WHERE run_id = $1 AND category <> 'suggested_match'`,
      [runId],
    );
    const other = missing.rows[0].item_id as string;
    const refusals = [
      await failureOf(store.decide(req(runId, { itemIds: [other] }))),
      await failureOf(store.decide(req(runId, { itemIds: ['A:1', 'A:2'] }))),
      await failureOf(store.decide(req(runId, { claimedRunId: 'recon:ACME:2026-10:bank/run-0' }))),
      await failureOf(store.decide(req(runId, { itemIds: ['A:99'] }))),
      await failureOf(store.decide(req(runId, { actor: { id: 'sam', roles: ['supervisor'] } }))),
      await failureOf(
        store.decide(req(runId, { expected: { count: 1, totals: [{ currency: 'EUR', total: '-0.41' }] } })),
      ),
    ];
    expect(refusals.map((e) => e.type)).toEqual([
      'InvalidExceptionAction',
      'InvalidExceptionAction',
      'ExceptionOfAnotherRun',
      'ExceptionNotFound',
      'ExceptionActionUnauthorised',
      'ExceptionSelectionChanged',
    ]);
    expect(refusals[0].message).toMatch(/is a missing_in_b, not a suggested match/);
    const history = await createExceptionActionStore({ pool, results }).history(runId);
    expect(history.map((h) => [h.action, h.accepted, h.refusalType])).toEqual(
      refusals.map((e) => ['reject', false, e.type]),
    );
    const states = await pool.query(`SELECT DISTINCT status FROM recon_exceptions WHERE run_id = $1`, [runId]);
    expect(states.rows).toEqual([{ status: 'open' }]);
    // A token counts once.
    const proof = { nonce: `nonce-${runId}`, kid: 'k', issuer: 'finflow-cli' };
    await store.decide(req(runId, { proof }));
    const replay = await failureOf(store.decide(req(runId, { itemIds: ['A:1'], proof })));
    expect(replay.type).toBe('ExceptionActionReplayed');
  });
});

// The statement of a run read back from the result store (PostgreSQL) is the statement of the engine's own result.
import { Pool } from 'pg';
import { bankStatementOfRun } from '../../activities/reports/bank-statement-run';
import { createResultStore, exceptionFromRecon, type ResultStore } from '../../activities/result-store';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { bankStatementHtml } from '../../activities/reports/bank-statement';
import { bankReconciliationStatement, bookBalance } from '../../domain/recon/bank-statement';
import { parseDefinition } from '../../domain/recon/definition';
import { normaliseRecords } from '../../domain/recon/normalise';
import { reconcile } from '../../domain/recon/reconcile';
import { freshDatabase } from '../helpers/postgres';
import { bankDefinition, generateBankScenario, PERIOD_END } from '../unit/recon-bank-generator';

describe('the bank reconciliation statement of a stored run', () => {
  let pool: Pool;
  let store: ResultStore;

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('bank_statement'), max: 2 });
    store = createResultStore({ pool });
    await store.migrate();
  });
  afterAll(async () => {
    await pool.end();
  });

  it('reads every exception of the run, in batches, and agrees with the statement of the in-memory result', async () => {
    const scenario = generateBankScenario(300, 29);
    const def = parseDefinition(bankDefinition);
    const result = reconcile(normaliseRecords(scenario.bank, def, 'a'), normaliseRecords(scenario.gl, def, 'b'), def);
    const { runId } = await store.startRun({
      workflowId: 'recon:ACME:2026-01:bank-vs-gl',
      workflowRunId: 'r1',
      reconId: 'bank-vs-gl',
      definitionHash: 'sha256:bank',
    });
    await store.writeExceptions(
      runId,
      result.exceptions.map((x) => exceptionFromRecon(x)),
    );
    const input = {
      currency: 'EUR',
      period_end: PERIOD_END,
      bank_side: 'a' as const,
      balance_per_bank: {
        amount: bookBalance(
          '500.00',
          scenario.bank.map((r) => r.values.amount as string),
          'EUR',
        ),
        source: 'statement',
        date: PERIOD_END,
      },
      balance_per_books: {
        amount: bookBalance(
          '500.00',
          scenario.gl.map((r) => r.values.amount as string),
          'EUR',
        ),
        source: 'GL 1000',
      },
    };
    const stored = await bankStatementOfRun(store, runId, input, 7);
    expect(stored).toEqual(bankReconciliationStatement({ ...input, exceptions: result.exceptions }));
    expect(stored.items).toHaveLength(result.exceptions.filter((e) => e.open).length);
    expect(stored.agrees).toBe(true);
    expect(stored.bank_adjustments[0]).toEqual(
      expect.objectContaining({ kind: 'deposit_in_transit', count: scenario.planted.in_transit }),
    );
  });

  it('lists the items a person explained as bank_error or book_error through the exception actions under their own headings', async () => {
    const scenario = generateBankScenario(200, 31);
    const def = parseDefinition(bankDefinition);
    const result = reconcile(normaliseRecords(scenario.bank, def, 'a'), normaliseRecords(scenario.gl, def, 'b'), def);
    const { runId } = await store.startRun({
      workflowId: 'recon:ACME:2026-01:bank-vs-gl',
      workflowRunId: 'r2',
      reconId: 'bank-vs-gl',
      definitionHash: 'sha256:bank',
    });
    await store.writeExceptions(
      runId,
      result.exceptions.map((x) => exceptionFromRecon(x)),
    );
    const fee = result.exceptions.find((e) => e.category === 'bank_fee')!;
    const short = result.exceptions.find((e) => e.category === 'amount_mismatch')!;
    const actions = createExceptionActionStore({ pool, results: store });
    const explain = (itemId: string, reasonCode: string, at: string) =>
      actions.apply({
        runId,
        reconId: 'bank-vs-gl',
        actor: { id: 'ann', roles: ['accountant'] },
        ownerRoles: ['accountant'],
        action: { action: 'explain', reasonCode, text: `${reasonCode} said by ann` },
        itemIds: [itemId],
        at,
      });
    const input = {
      currency: 'EUR',
      period_end: PERIOD_END,
      bank_side: 'a' as const,
      balance_per_bank: {
        amount: bookBalance(
          '0.00',
          scenario.bank.map((r) => r.values.amount as string),
          'EUR',
        ),
        source: 'statement',
      },
      balance_per_books: {
        amount: bookBalance(
          '0.00',
          scenario.gl.map((r) => r.values.amount as string),
          'EUR',
        ),
        source: 'GL 1000',
      },
    };
    const before = await bankStatementOfRun(store, runId, input);
    await explain(fee.id, 'bank_error', '2026-02-02T09:00:00Z');
    await explain(short.id, 'book_error', '2026-02-02T09:05:00Z');
    const after = await bankStatementOfRun(store, runId, input);

    const kind = (s: typeof after, k: string) =>
      [...s.bank_adjustments, ...s.book_adjustments].find((t) => t.kind === k) as { count: number; total: string };
    // The fee the bank charged in error comes out of the balance per bank; the books no longer carry it.
    expect(kind(after, 'bank_error')).toEqual({ kind: 'bank_error', count: 1, total: fee.amount_a.replace('-', '') });
    expect(kind(after, 'bank_fee').count).toBe(kind(before, 'bank_fee').count - 1);
    // The short payment keyed wrongly in the books: the books are brought to what the bank received.
    const shortDiff = bookBalance(short.amount_a, [`-${short.amount_b}`], 'EUR');
    expect(kind(after, 'book_error')).toEqual({ kind: 'book_error', count: 1, total: shortDiff });
    expect(kind(after, 'paired_difference').count).toBe(kind(before, 'paired_difference').count - 1);
    expect(after.items.filter((i) => i.kind.endsWith('_error')).map((i) => [i.kind, i.exception_id])).toEqual([
      ['bank_error', fee.id],
      ['book_error', short.id],
    ]);
    expect(after.items_to_explain).toBe(before.items_to_explain - 1);
    expect(before.agrees).toBe(true);
    expect(after.agrees).toBe(true);
    const html = bankStatementHtml(after);
    expect(html).toContain('Errors by the bank (a person said so)');
    expect(html).toContain('Errors in the books (a person said so)');
  });
});

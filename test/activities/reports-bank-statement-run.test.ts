// The statement of a run read back from the result store (PostgreSQL) is the statement of the engine's own result.
import { Pool } from 'pg';
import { bankStatementOfRun } from '../../activities/reports/bank-statement-run';
import { createResultStore, exceptionFromRecon, type ResultStore } from '../../activities/result-store';
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
});

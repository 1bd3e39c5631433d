// The bank reconciliation statement rebuilt from the result store after people explained items (issue 17), on real
// PostgreSQL: the balances come from the statement the run wrote, the items from the exceptions as they stand now.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { writeBankStatementReports } from '../../activities/reports/bank-statement';
import { rebuildBankStatement, StatementRebuildError } from '../../activities/reports/bank-statement-rebuild';
import { bankStatementOfRun } from '../../activities/reports/bank-statement-run';
import { createResultStore, exceptionFromRecon, type ResultStore } from '../../activities/result-store';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { bookBalance } from '../../domain/recon/bank-statement';
import { parseDefinition } from '../../domain/recon/definition';
import { normaliseRecords } from '../../domain/recon/normalise';
import { reconcile } from '../../domain/recon/reconcile';
import { Command } from 'commander';
import { registerReconCommands } from '../../client/commands/recon';
import type { CloseStatus } from '../../workflows/types';
import { freshDatabase } from '../helpers/postgres';
import { bankDefinition, generateBankScenario, PERIOD_END } from '../unit/recon-bank-generator';

describe('the bank reconciliation statement rebuilt after people explained items', () => {
  let pool: Pool;
  let store: ResultStore;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    url = await freshDatabase('bank_statement_rebuild');
    pool = new Pool({ connectionString: url, max: 2 });
    store = createResultStore({ pool });
    await store.migrate();
    dir = await mkdtemp(join(tmpdir(), 'finflow-statement-rebuild-'));
  });
  afterAll(async () => {
    await pool.end();
  });

  /** A stored run of the generated bank scenario and the statement the run wrote, as the run's report step does. */
  async function storedRun(name: string) {
    const scenario = generateBankScenario(150, 41);
    const def = parseDefinition(bankDefinition);
    const result = reconcile(normaliseRecords(scenario.bank, def, 'a'), normaliseRecords(scenario.gl, def, 'b'), def);
    const { runId } = await store.startRun({
      workflowId: `recon:ACME:2026-01:${name}`,
      workflowRunId: 'r1',
      reconId: name,
      definitionHash: 'sha256:bank',
    });
    await store.writeExceptions(
      runId,
      result.exceptions.map((x) => exceptionFromRecon(x)),
    );
    const written = await bankStatementOfRun(store, runId, {
      currency: 'EUR',
      period_end: PERIOD_END,
      bank_side: 'a',
      balance_per_bank: {
        amount: bookBalance(
          '100.00',
          scenario.bank.map((r) => r.values.amount as string),
          'EUR',
        ),
        source: 'statement.xml CLBD (line 9)',
        date: PERIOD_END,
      },
      balance_per_books: {
        amount: bookBalance(
          '100.00',
          scenario.gl.map((r) => r.values.amount as string),
          'EUR',
        ),
        source: 'GL 1000',
      },
    });
    const runDir = await mkdtemp(join(dir, 'run-'));
    const files = await writeBankStatementReports(written, runDir, name);
    return { runId, result, written, path: files.json.path, runFiles: files };
  }

  it('lists what a person explained under its heading, keeps the balances, and leaves the run\'s statement as it was', async () => {
    const { runId, result, written, path } = await storedRun('bank-rebuild');
    const fee = result.exceptions.find((e) => e.category === 'bank_fee')!;
    const actions = createExceptionActionStore({ pool, results: store });
    await actions.apply({
      runId,
      reconId: 'bank-rebuild',
      actor: { id: 'ann', roles: ['accountant'] },
      ownerRoles: ['accountant'],
      action: { action: 'explain', reasonCode: 'bank_error', text: 'charged twice, bank refunds on 3 Feb' },
      itemIds: [fee.id],
      at: '2026-02-02T09:00:00Z',
    });
    const before = await readFile(path, 'utf8');
    const out = join(dir, 'rebuilt');
    const rebuilt = await rebuildBankStatement(store, { runId, statementPath: path, outDir: out });

    expect(rebuilt.before).toEqual(written);
    expect(rebuilt.statement.balance_per_bank).toEqual(written.balance_per_bank);
    expect(rebuilt.statement.balance_per_books).toEqual(written.balance_per_books);
    const errors = rebuilt.statement.items.filter((i) => i.kind === 'bank_error');
    expect(errors.map((i) => i.exception_id)).toEqual([fee.id]);
    expect(written.items.find((i) => i.exception_id === fee.id)?.kind).toBe('bank_fee');
    expect(rebuilt.statement.agrees).toBe(true);
    expect(rebuilt.files.json.path).toBe(join(out, `bank-rebuild_bank-statement_${PERIOD_END}.json`));
    expect(JSON.parse(await readFile(rebuilt.files.json.path, 'utf8'))).toEqual(rebuilt.statement);
    expect(rebuilt.files.pdf.path.endsWith('.pdf')).toBe(true);
    // The run's own statement (named in the close's evidence by its SHA-256) is untouched.
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('refuses a run the store does not hold, a sealed statement, one missing a balance, and a side that is not the bank', async () => {
    const one = await storedRun('bank-one');
    const out = join(dir, 'refused');
    await expect(
      rebuildBankStatement(store, { runId: 'no-such-run', statementPath: one.path, outDir: out }),
    ).rejects.toThrow('the result store holds no run no-such-run');
    await expect(
      rebuildBankStatement(store, { runId: one.runId, statementPath: `${one.path}.sealed`, outDir: out }),
    ).rejects.toThrow(/is sealed/);
    await expect(
      rebuildBankStatement(store, { runId: one.runId, statementPath: one.path, outDir: out, bankSide: 'b' }),
    ).rejects.toThrow("lists side a's records as the bank's, not side b's");
    const broken = join(dir, `bank-one_bank-statement_${PERIOD_END}.json`);
    await writeFile(broken, JSON.stringify({ ...one.written, balance_per_books: { amount: 5 } }));
    const refused = rebuildBankStatement(store, { runId: one.runId, statementPath: broken, outDir: out });
    await expect(refused).rejects.toThrow(StatementRebuildError);
    await expect(refused).rejects.toThrow(`${broken}: field balance_per_books: expected`);
    await expect(
      rebuildBankStatement(store, { runId: one.runId, statementPath: join(dir, 'statement.json'), outDir: out }),
    ).rejects.toThrow(/is not a bank statement JSON/);
  });

  it('finflow recon statement finds the run and its statement from the close and prints the rebuilt statement', async () => {
    const { runId, result, path } = await storedRun('bank-cli');
    const fee = result.exceptions.find((e) => e.category === 'bank_fee')!;
    await createExceptionActionStore({ pool, results: store }).apply({
      runId,
      reconId: 'bank-cli',
      actor: { id: 'ann', roles: ['accountant'] },
      ownerRoles: ['accountant'],
      action: { action: 'explain', reasonCode: 'bank_error', text: 'the bank charged it in error' },
      itemIds: [fee.id],
      at: '2026-02-02T09:00:00Z',
    });
    // The close's status as its query answers it: the reconciliation task's result names the run and its reports.
    const status = {
      closeId: 'close:ACME:2026-01',
      tasks: [
        {
          id: 'bank_rec',
          kind: 'reconciliation',
          state: 'done_with_exceptions',
          result: { reconId: 'bank-cli', runId, reports: [{ kind: 'bank_statement', format: 'json', path }] },
        },
      ],
    } as unknown as CloseStatus;
    const lines: string[] = [];
    const cli = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerReconCommands(program, (x) => lines.push(x), {
        closeStatus: async (id) => {
          expect(id).toBe('close:ACME:2026-01');
          return status;
        },
        openStore: async () => ({ store, close: async () => undefined }),
      });
      await program.parseAsync(['recon', 'statement', ...args], { from: 'user' });
    };
    const out = join(dir, 'cli');
    await cli('--close', 'close:ACME:2026-01', '--recon', 'bank_rec', '--out', out);
    const printed = lines.join('\n');
    expect(printed.split('\n')[0]).toBe(`bank reconciliation statement EUR at ${PERIOD_END}: agrees`);
    expect(printed).toMatch(/items to explain: \d+ \(were \d+ when the run wrote it\)/);
    expect(printed).toMatch(/bank_error: 1, \d+\.\d\d/);
    expect(printed).toContain(join(out, `bank-cli_bank-statement_${PERIOD_END}.pdf`));
    lines.length = 0;
    await cli('--run', runId, '--statement', path, '--out', out, '--json');
    expect(JSON.parse(lines[0]).items.find((i: { exception_id: string }) => i.exception_id === fee.id).kind).toBe(
      'bank_error',
    );
    // Without a store handed in: the one DATABASE_URL names (no keys configured, the run is not sealed).
    lines.length = 0;
    const program = new Command().exitOverride();
    registerReconCommands(program, (x) => lines.push(x), { env: { DATABASE_URL: url } });
    await program.parseAsync(['recon', 'statement', '--run', runId, '--statement', path, '--out', out, '--json'], {
      from: 'user',
    });
    expect(JSON.parse(lines[0]).agrees).toBe(true);
    await expect(cli('--out', out)).rejects.toThrow('name the run and its statement');
    await expect(cli('--close', 'close:ACME:2026-01', '--out', out)).rejects.toThrow('--close needs --recon');
    await expect(cli('--close', 'close:ACME:2026-01', '--recon', 'gl', '--out', out)).rejects.toThrow(
      'close:ACME:2026-01 has no task or reconciliation gl',
    );
  });
});

// The scenario generator against real PostgreSQL and MariaDB: what it says it planted is what the tables hold, and
// what the reconciliation engine (domain/recon, the same code the activities run) finds in the loaded rows.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { Pool as MysqlPool } from 'mysql2/promise';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { statementEntryRows } from '../../activities/connectors/statement';
import { parseStatementFile } from '../../activities/connectors/statement-file';
import { Dec } from '../../domain/money';
import { CATEGORIES, normaliseRecords, parseDefinition, reconcile, type RawRecord } from '../../domain/recon';
import {
  bankDefinition,
  bankEntries,
  BANK_ACCOUNTS,
  BANK_CATEGORIES,
  glCashSql,
  erpChunks,
  generateScenario,
  glChunks,
  glVsErpDefinition,
  loadErp,
  PLANTABLE,
  planScenario,
  plantedKeys,
  plantedTruth,
  scenarioSql,
  writeSideCsv,
  type GeneratedScenario,
} from '../../examples/monthly-close/generator';
import { freshMariaDatabase } from '../helpers/mariadb';
import { freshDatabase } from '../helpers/postgres';

const RECORDS = 20_000;
const run = promisify(execFile);

describe('scenario generator', () => {
  let pg: Pool;
  let my: MysqlPool;
  let dir: string;
  let gen: GeneratedScenario;

  beforeAll(async () => {
    pg = new Pool({ connectionString: await freshDatabase('scenario_gen'), max: 2 });
    my = createMysqlPool(await freshMariaDatabase('scenario_gen'));
    dir = mkdtempSync(join(tmpdir(), 'finflow-scenario-'));
    gen = await generateScenario({ records: RECORDS, seed: 7, pg, mysql: my, bankDir: dir });
  }, 120_000);

  afterAll(async () => {
    await pg?.end();
    await my?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is deterministic: the same seed gives the same rows, another seed other rows', () => {
    const first = (seed: number) => {
      const plan = planScenario({ records: 5000, seed });
      return [glChunks(plan).next().value, erpChunks(plan).next().value] as string[];
    };
    expect(first(11)).toEqual(first(11));
    expect(first(12)[0]).not.toBe(first(11)[0]);
    expect(
      readFileSync(__filename.replace(/test\/activities\/.*$/, 'examples/monthly-close/generator.ts'), 'utf8'),
    ).not.toMatch(/Math\.random\(|Date\.now\(/);
  });

  it('plants every GL-vs-ERP category, about one per 2,000 rows, counts the others at 0, and refuses impossible plans', () => {
    expect(Object.keys(gen.truth.categories).sort()).toEqual([...CATEGORIES].sort());
    for (const c of CATEGORIES) expect(gen.truth.categories[c]).toBe(PLANTABLE.has(c) ? 10 : 0);
    expect(() => planScenario({ records: 100, discrepancies: { bank_fee: 1 } })).toThrow(/does not plant bank_fee/);
    expect(() => planScenario({ records: 20 })).toThrow(
      /27 planted discrepancies and 1 bank entries do not fit in 20 records/,
    );
    expect(() => planScenario({ records: 0 })).toThrow(/records must be an integer/);
    expect(() => planScenario({ records: 10, period: '2026-13' })).toThrow(/period must be yyyy-MM/);
  });

  it('holds in PostgreSQL and MariaDB exactly the counts and sums of the planted truth', async () => {
    const t = gen.truth;
    const gl = (
      await pg.query<{ n: string; s: string }>('SELECT count(*)::text n, sum(balance)::text s FROM journal_lines')
    ).rows[0];
    expect([Number(gl.n), gl.s]).toEqual([t.gl.records, t.gl.amount]);
    expect(t.gl.records).toBe(RECORDS - t.categories.missing_in_a);
    const [rows] = await my.query('SELECT CAST(COUNT(*) AS CHAR) n, CAST(SUM(total) AS CHAR) s FROM erp_postings');
    const erp = (rows as { n: string; s: string }[])[0];
    expect([Number(erp.n), new Dec(erp.s).toFixed(4)]).toEqual([t.erp.records, t.erp.amountRaw]);
    expect(t.erp.records).toBe(RECORDS - t.categories.missing_in_b + t.categories.duplicate_key);
    // Counting while loading and walking the plan give the same truth.
    expect(plantedTruth(gen.plan)).toEqual(t);
    // The ERP's debit/credit flag and unsigned amount agree with its signed total.
    const [bad] = await my.query(
      "SELECT COUNT(*) n FROM erp_postings WHERE (dc = 'D') <> (total >= 0) OR ABS(ABS(total) - amt) >= 0.005",
    );
    expect(Number((bad as { n: number }[])[0].n)).toBe(0);
  });

  it('loads the ERP in several LOAD DATA blocks with the same rows and totals as in one', async () => {
    const totals = await loadErp(my, gen.plan, 'erp_postings_blocks', 3000);
    expect(totals).toEqual(gen.truth.erp);
    // Same rows: a checksum over every column of every row, order-independent.
    const digest = async (table: string) => {
      const [rows] = await my.query(
        `SELECT CAST(COUNT(*) AS CHAR) n, CAST(SUM(CRC32(CONCAT_WS('|', ${[
          'doc_ref',
          'acct_num',
          'dept_id',
          'post_date',
          'curr',
          'dc',
          'amt',
          'total',
          'memo',
        ].join(', ')}))) AS CHAR) h FROM ${table}`,
      );
      return (rows as { n: string; h: string }[])[0];
    };
    expect(await digest('erp_postings_blocks')).toEqual(await digest('erp_postings'));
  });

  it('journal lines read like a ledger: debit or credit per line, balance = debit - credit, dates in the period', async () => {
    const { rows } = await pg.query<{ bad: string; lo: string; hi: string; accounts: string }>(
      `SELECT count(*) FILTER (WHERE balance <> debit - credit OR (debit <> 0 AND credit <> 0))::text bad,
              min(posting_date)::text lo, max(posting_date)::text hi, count(DISTINCT account_code)::text accounts
       FROM journal_lines`,
    );
    expect(rows[0]).toEqual({ bad: '0', lo: '2026-10-01', hi: '2026-10-31', accounts: expect.any(String) });
    expect(Number(rows[0].accounts)).toBeGreaterThan(20);
  });

  it('the reconciliation engine, run over the loaded rows, finds exactly the planted discrepancies per key', async () => {
    const definition = parseDefinition(
      glVsErpDefinition({ gl: { connector: 'postgres' }, erp: { connector: 'mysql' } }),
    );
    const sql = scenarioSql();
    const glRows = (
      await pg.query<Record<string, string>>({ text: sql.gl, types: { getTypeParser: () => (v: string) => v } })
    ).rows;
    const [erpRows] = await my.query(sql.erp);
    const raws = (rows: Record<string, unknown>[]): RawRecord[] =>
      rows.map((values, k) => ({ line: k + 1, values: values as RawRecord['values'] }));
    const a = normaliseRecords(raws(glRows), definition, 'a');
    const b = normaliseRecords(raws(erpRows as Record<string, unknown>[]), definition, 'b');
    const result = reconcile(a, b, definition);

    const found: Record<string, string[]> = {};
    for (const e of result.exceptions) (found[e.category] ??= []).push(e.key);
    const keys = plantedKeys(gen.plan);
    for (const c of CATEGORIES) expect([c, (found[c] ?? []).sort()]).toEqual([c, [...keys[c]].sort()]);
    expect(result.matches.length).toBe(gen.truth.matched.exact + gen.truth.matched.accepted);
    expect(result.summary.a).toMatchObject({
      records_in: gen.truth.gl.records,
      amounts: [expect.objectContaining({ currency: 'USD', amount_in: gen.truth.gl.amount })],
    });
    expect(result.summary.b).toMatchObject({
      records_in: gen.truth.erp.records,
      amounts: [expect.objectContaining({ currency: 'USD', amount_in: gen.truth.erp.amount })],
    });
  });

  it('writes camt.053 and MT940 statements that the statement connectors read, balanced, with the planted bank truth', async () => {
    const camt = await parseStatementFile(gen.files!.camt053);
    const mt940 = await parseStatementFile(gen.files!.mt940);
    expect([camt.format, mt940.format]).toEqual(['camt053', 'mt940']);
    expect(camt.statements[0].account).toBe(BANK_ACCOUNTS.camt053);
    expect(mt940.statements[0].account).toBe(BANK_ACCOUNTS.mt940);
    for (const f of [camt, mt940]) expect(f.statements[0].balanceCheck.status).toBe('balanced');
    const entries = [...camt.statements[0].entries, ...mt940.statements[0].entries];
    const sum = entries.reduce((s, e) => s.plus(e.amount), new Dec(0));
    expect([entries.length, sum.toFixed(2)]).toEqual([
      gen.truth.bank.statements.records,
      gen.truth.bank.statements.amount,
    ]);
    // Entries name the GL document they settle (fees their own reference).
    const gl = new Set(
      (
        await pg.query<{ d: string }>("SELECT document_no d FROM journal_lines WHERE account_code IN ('1010','1020')")
      ).rows.map((r) => r.d),
    );
    const onBank = new Set(entries.map((e) => e.reference));
    const fees = entries.filter((e) => !gl.has(e.reference!));
    const notOnBank = [...gl].filter((d) => !onBank.has(d));
    expect([fees.length, notOnBank.length]).toEqual([
      gen.truth.bank.categories.missing_in_b,
      gen.truth.bank.categories.missing_in_a,
    ]);
    expect(gl.size).toBe(gen.truth.bank.glCash.records);
    expect(gen.truth.bank.categories.timing_difference).toBe(50);
    expect(bankEntries(gen.plan).filter((e) => e.bookingDate > '2026-10-31').length).toBeLessThanOrEqual(50);
  });

  it('each bank statement, reconciled by the engine against its GL cash account, gives the planted bank truth', async () => {
    for (const bank of ['camt053', 'mt940'] as const) {
      const truth = gen.truth.bank.perBank[bank];
      const definition = parseDefinition(
        bankDefinition(bank, {
          statement: { connector: bank, path: gen.files![bank] },
          gl: { connector: 'postgres', system: 'gl', sql: glCashSql(bank) },
        }),
      );
      const file = await parseStatementFile(gen.files![bank]);
      const statementRows: RawRecord[] = [];
      for await (const r of statementEntryRows([file])) statementRows.push({ line: r.line, values: r.record });
      const glRows = (
        await pg.query<Record<string, string>>({
          text: glCashSql(bank),
          types: { getTypeParser: () => (v: string) => v },
        })
      ).rows.map((values, k) => ({ line: k + 1, values }));
      const result = reconcile(
        normaliseRecords(statementRows, definition, 'a'),
        normaliseRecords(glRows, definition, 'b'),
        definition,
      );
      const found: Record<string, string[]> = {};
      for (const e of result.exceptions) (found[e.category] ??= []).push(e.key);
      for (const c of BANK_CATEGORIES)
        expect([bank, c, (found[c] ?? []).sort()]).toEqual([bank, c, [...truth.keys[c]].sort()]);
      expect(Object.keys(found).sort()).toEqual(BANK_CATEGORIES.filter((c) => truth.categories[c] > 0).sort());
      expect(result.matches).toHaveLength(truth.matched);
      expect([statementRows.length, glRows.length]).toEqual([truth.statements.records, truth.glCash.records]);
    }
    const { camt053, mt940 } = gen.truth.bank.perBank;
    for (const c of BANK_CATEGORIES)
      expect(camt053.categories[c] + mt940.categories[c]).toBe(gen.truth.bank.categories[c]);
  });

  it('has a command line that loads given servers and prints the same truth as the library', async () => {
    const pgUrl = await freshDatabase('scenario_cli');
    const myUrl = await freshMariaDatabase('scenario_cli');
    const truthPath = join(dir, 'truth.json');
    const cli = join(__dirname, '../../examples/monthly-close/generator-cli.ts');
    const { stdout } = await run(process.execPath, [
      '-r',
      '@swc-node/register',
      cli,
      '--records',
      '2000',
      '--seed',
      '5',
      '--pg',
      pgUrl,
      '--mariadb',
      myUrl,
      '--bank-dir',
      join(dir, 'cli-bank'),
      '--truth',
      truthPath,
    ]);
    const printed = JSON.parse(stdout) as { records: number; truth: unknown; files: { camt053: string } };
    expect(printed.truth).toEqual(plantedTruth(planScenario({ records: 2000, seed: 5 })));
    expect(JSON.parse(readFileSync(truthPath, 'utf8'))).toEqual(printed);
    expect((await parseStatementFile(printed.files.camt053)).format).toBe('camt053');
    await expect(run(process.execPath, ['-r', '@swc-node/register', cli, '--records', '10'])).rejects.toThrow(
      /give --pg and --mariadb|do not fit in 10 records/,
    );
  }, 60_000);

  it('writes each side as CSV with a header and the same totals', async () => {
    const path = join(dir, 'erp.csv');
    const totals = await writeSideCsv(gen.plan, 'erp', path);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('doc_ref,acct_num,dept_id,post_date,curr,dc,amt,total,memo');
    expect([lines.length - 1, totals]).toEqual([
      gen.truth.erp.records,
      { records: gen.truth.erp.records, amount: gen.truth.erp.amount },
    ]);
  });
});

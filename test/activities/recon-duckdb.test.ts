// The DuckDB data plane (activities/recon/duckdb) against today's TypeScript one on the same CSV files: the same
// matches, exceptions, categories, evidence and control totals; bad input named by file, line and field; a
// definition it cannot compile falls back to today's path and says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as iconv from 'iconv-lite';
import { reconcileFiles, type ReconcileFilesResult } from '../../activities/recon/duckdb';
import {
  CATEGORIES,
  NormalisationError,
  parseDefinition,
  type ReconciliationDefinition,
  type ReconciliationDefinitionInput,
} from '../../domain/recon';
import { normalisingCsvDefinition, writeNormalisingCsv } from '../../bench/lib/recon-csv';
import { planScenario, plantedKeys, plantedTruth } from '../../examples/monthly-close/generator';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-recon-duckdb-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctx = { asOf: '2026-10-31', log: () => undefined };

/** A result in an order that does not depend on the plane: by id. */
function canonical(r: ReconcileFilesResult) {
  const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return { matches: byId(r.matches), exceptions: byId(r.exceptions), gave_up: r.gave_up, summary: r.summary };
}

async function both(def: ReconciliationDefinition) {
  const ts = await reconcileFiles(def, { ...ctx, engine: 'typescript' });
  const lines: string[] = [];
  const dd = await reconcileFiles(def, { ...ctx, engine: 'duckdb', log: (l) => lines.push(l) });
  return { ts, dd, lines };
}

function write(name: string, text: string, encoding: 'utf-8' | 'windows-1252' = 'utf-8'): string {
  const path = join(dir, name);
  writeFileSync(path, encoding === 'utf-8' ? text : iconv.encode(text, encoding));
  return path;
}

/** The GL (debit/credit) and ERP (German amounts, dd.MM.yyyy, padded keys) files of normalisingCsvDefinition. */
function sides(name: string, gl: string[], erp: string[]): ReconciliationDefinition {
  const files = {
    gl: write(
      `${name}-gl.csv`,
      `document_no,account_code,department_code,posting_date,currency,debit,credit,description\n${gl.join('\n')}\n`,
    ),
    erp: write(
      `${name}-erp.csv`,
      `doc_ref;acct_num;dept_id;post_date;curr;total;memo\n${erp.join('\n')}\n`,
      'windows-1252',
    ),
  };
  return parseDefinition(normalisingCsvDefinition(files));
}

describe('DuckDB data plane for CSV sources', () => {
  it('finds every planted discrepancy of normalising exports exactly as the TypeScript engine does', async () => {
    const plan = planScenario({ records: 6000, seed: 20261207 });
    const def = parseDefinition(normalisingCsvDefinition(await writeNormalisingCsv(plan, dir)));
    const { ts, dd, lines } = await both(def);

    expect(dd.engine).toBe('duckdb');
    expect(lines).toEqual([]);
    expect(dd.stats?.settledPairs).toBeGreaterThan(5000);
    expect(canonical(dd)).toEqual(canonical(ts));
    const truth = plantedTruth(plan);
    const keys = plantedKeys(plan);
    for (const c of CATEGORIES) {
      expect([c, dd.summary.exceptions_by_category[c]]).toEqual([c, truth.categories[c]]);
      expect(
        dd.exceptions
          .filter((e) => e.category === c)
          .map((e) => e.key)
          .sort(),
      ).toEqual([...keys[c]].sort());
    }
    expect(dd.summary.a.amounts[0].amount_in).toBe(truth.gl.amount);
    expect(dd.summary.b.amounts[0].amount_in).toBe(truth.erp.amount);
    expect(dd.summary.matches).toBe(truth.matched.exact + truth.matched.accepted);
  });

  it('keeps control totals beyond 2^53 minor units exact, with a tolerance pair, a duplicate key and one-sided records', async () => {
    const big = '999999999999.99';
    const gl: string[] = [];
    const erp: string[] = [];
    for (let i = 1; i <= 120; i++) {
      const doc = `D-${String(i).padStart(4, '0')}`;
      gl.push(`${doc},4000,D010,2026-10-05,USD,${big},,big line`);
      erp.push(`  ${doc.toLowerCase()} ;4000;D010;05.10.2026;usd;999.999.999.999,9900;Buchung Büro`);
    }
    gl.push('T-1,4000,D010,2026-10-06,USD,,10.00,tolerance');
    erp.push('t-1;4000;D010;06.10.2026;USD;-10,5000;Buchung');
    gl.push('DUP-1,4000,D010,2026-10-07,USD,5.00,,dup');
    erp.push('dup-1;4000;D010;07.10.2026;USD;5,0000;eins', 'dup-1;4000;D010;07.10.2026;USD;5,0000;zwei');
    gl.push('ONLY-GL,4000,D010,2026-10-08,USD,1.00,,gl only');
    erp.push('only-erp;4000;D010;08.10.2026;USD;2,0049;erp only');
    const def = sides('big', gl, erp);
    const { ts, dd } = await both(def);

    expect(dd.engine).toBe('duckdb');
    expect(canonical(dd)).toEqual(canonical(ts));
    const sumA = 120n * 99999999999999n - 1000n + 500n + 100n;
    expect(sumA).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    const units = (minor: bigint) => `${minor / 100n}.${String(minor % 100n).padStart(2, '0')}`;
    expect(dd.summary.a.amounts).toEqual([
      {
        currency: 'USD',
        amount_in: units(sumA),
        amount_matched: units(120n * 99999999999999n - 1000n),
        amount_unmatched: units(600n),
      },
    ]);
    expect(dd.summary.matches_by_rule).toEqual({ exact: 120, tolerance: 1 });
    expect(dd.exceptions.map((e) => [e.category, e.key]).sort()).toEqual([
      ['duplicate_key', 'DUP-1'],
      ['missing_in_a', 'ONLY-ERP'],
      ['missing_in_b', 'ONLY-GL'],
      ['within_tolerance', 'T-1'],
    ]);
  });

  it('names the file, line and field of a malformed German amount and of an impossible date, as the TypeScript engine does', async () => {
    const gl = [
      'A-1,4000,D010,2026-10-05,USD,1.00,,x',
      'A-2,4000,D010,2026-10-05,USD,2.00,,x',
      'A-3,4000,D010,2026-10-05,USD,3.00,,x',
    ];
    const amount = sides('bad-amount', gl, [
      'a-1;4000;D010;05.10.2026;USD;1,0000;m',
      'a-2;4000;D010;05.10.2026;USD;2,00,00;m',
      'a-3;4000;D010;05.10.2026;USD;3,0000;m',
    ]);
    const date = sides('bad-date', gl, [
      'a-1;4000;D010;05.10.2026;USD;1,0000;m',
      'a-2;4000;D010;05.10.2026;USD;2,0000;m',
      'a-3;4000;D010;31.02.2026;USD;3,0000;m',
    ]);
    for (const [def, file, line, field, text] of [
      [amount, 'bad-amount-erp.csv', 3, 'balance', 'not a decimal amount: "2,00,00"'],
      [date, 'bad-date-erp.csv', 4, 'posting_date', '"31.02.2026" matches none of the formats dd.MM.yyyy'],
    ] as const) {
      const failure = async (engine: 'typescript' | 'duckdb') => {
        try {
          await reconcileFiles(def, { ...ctx, engine });
        } catch (err) {
          return err as NormalisationError;
        }
        throw new Error(`the ${engine} plane accepted line ${line}`);
      };
      const dd = await failure('duckdb');
      const ts = await failure('typescript');
      expect(dd).toBeInstanceOf(NormalisationError);
      expect([dd.source, dd.line, dd.field, dd.problem]).toEqual([file, line, field, text]);
      expect(dd.message).toContain(`${file} line ${line} (record ERP:${line}), field "${field}"`);
      expect([dd.source, dd.line, dd.field, dd.problem]).toEqual([ts.source, ts.line, ts.field, ts.problem]);
    }
  });

  it('normalises awkward values (NBSP padding, signs, parentheses, trailing minus, leading zeros, lookups, two date formats, every rounding mode) as domain/recon does', async () => {
    const a = write(
      'awkward-a.csv',
      [
        'id,amount,booked,ccy,kind',
        '\u00a0K-0001\u00a0,+.5,2026-10-01,EUR,x',
        'k-0002 ,5.,2026-10-02,,y',
        'K-0003,-0.125,2026-10-03,eur,x',
        'K-0004,12.345,2026-10-04,EUR,z',
        'K-0005,-12.355,2026-10-05,EUR,x',
        'K-0006,1000,2026-10-06,EUR,x',
        'K-0007,7.775,2026-10-07,EUR,x',
        'K-0008,0.004,2026-10-08,EUR,x',
        'K-0009,-3.3,2026-10-09,EUR,x',
        '',
      ].join('\n'),
    );
    const b = write(
      'awkward-b.csv',
      [
        'ref\tbetrag\tdatum\twaehrung',
        '0000k-0001\t0,50\t01.10.2026\tEUR',
        '00k-0002\t(5,00)\t2026/10/02\t',
        'k-0003\t0,13-\t03.10.2026\tEUR',
        'k-0004\t12,35\t04.10.2026\tEUR',
        'k-0005\t-12,36\t05.10.2026\tEUR',
        'k-0006\t1 000,00\t06.10.2026\tEUR',
        'k-0007\t7,78\t07.10.2026\tEUR',
        'k-0008\t0,00\t08.10.2026\tEUR',
        'k-0009\t3,30\t09.10.2026\tEUR',
        '',
      ].join('\n'),
    );
    for (const mode of ['half_even', 'half_up', 'half_down', 'down', 'up', 'floor', 'ceiling'] as const) {
      const def = parseDefinition({
        id: 'awkward',
        a: {
          name: 'A',
          source: { connector: 'csv', path: a },
          classification: 'internal',
          key_fields: ['key'],
          value_fields: ['amount'],
          date_field: 'booked',
          currency_field: 'ccy',
          mappings: [{ from: 'id', to: 'key' }],
          transformations: [
            { op: 'trim', field: 'key' },
            { op: 'upper', field: 'key' },
            { op: 'default', field: 'ccy', value: 'EUR' },
            { op: 'lookup', field: 'kind', map: { x: 'X', y: 'Y' }, unmapped: 'keep', into: 'kind_code' },
            { op: 'round', field: 'amount', places: 2, mode },
          ],
        },
        b: {
          name: 'B',
          source: { connector: 'csv', path: b, delimiter: '\t' },
          classification: 'internal',
          key_fields: ['key'],
          value_fields: ['amount'],
          date_field: 'booked',
          currency: 'EUR',
          currency_field: 'waehrung',
          mappings: [
            { from: 'ref', to: 'key' },
            { from: 'betrag', to: 'amount' },
            { from: 'datum', to: 'booked' },
          ],
          transformations: [
            { op: 'strip_leading_zeros', field: 'key' },
            { op: 'upper', field: 'key' },
            {
              op: 'decimal_format',
              field: 'amount',
              decimal_separator: ',',
              group_separator: ' ',
              parentheses_negative: true,
              trailing_minus: true,
            },
            { op: 'negate', field: 'amount' },
            { op: 'scale', field: 'amount', factor: '-1' },
            { op: 'date', field: 'booked', formats: ['dd.MM.yyyy', 'yyyy/MM/dd'] },
          ],
        },
        rules: [
          { id: 'exact', type: 'exact', compare_date: true, expect_unique: true },
          { id: 'near', type: 'tolerance', absolute: '0.01', max_days_apart: 0, expect_unique: true },
        ],
      });
      const { ts, dd, lines } = await both(def);
      expect([mode, dd.engine, lines]).toEqual([mode, 'duckdb', []]);
      expect(canonical(dd)).toEqual(canonical(ts));
      expect(dd.summary.a.records_in).toBe(9);
      expect(dd.stats?.settledPairs).toBeGreaterThanOrEqual(3);
    }
  });

  it('leaves a rule marked auto: false to domain/recon, which proposes the pairs SQL would have settled', async () => {
    const def = sides(
      'manual',
      ['M-1,4000,D010,2026-10-05,USD,10.00,,same', 'M-2,4000,D010,2026-10-06,USD,20.00,,near'],
      ['m-1;4000;D010;05.10.2026;USD;10,0000;a', 'm-2;4000;D010;06.10.2026;USD;20,4000;b'],
    );
    const manual = parseDefinition({
      ...def,
      rules: def.rules.map((r) => (r.type === 'exact' ? { ...r, auto: false } : r)),
    } as ReconciliationDefinitionInput);
    const { ts, dd, lines } = await both(manual);
    expect(lines.join('\n')).toMatch(/falls back to the TypeScript one/);
    expect(canonical(dd)).toEqual(canonical(ts));
    expect(dd.exceptions.map((e) => [e.category, e.key, e.rule]).sort()).toEqual([
      ['suggested_match', 'M-1', 'exact'],
      ['within_tolerance', 'M-2', 'tolerance'],
    ]);
    expect(dd.summary.matches_by_rule).toEqual({ exact: 0, tolerance: 1 });
  });

  it('leaves a definition with a sum_window rule to domain/recon, whose review of the one-to-one pairs SQL would skip', async () => {
    const def = sides(
      'slips',
      ['S-1,4000,D010,2026-10-05,USD,10.00,,a', 'S-2,4000,D010,2026-10-06,USD,20.00,,b'],
      ['s-1;4000;D010;05.10.2026;USD;10,0000;a', 's-2;4000;D010;06.10.2026;USD;20,0000;b'],
    );
    const withSlips = parseDefinition({
      ...def,
      rules: [...def.rules, { id: 'slip', type: 'sum_window', one_side: 'a', days_before: 1 }],
    } as ReconciliationDefinitionInput);
    const { ts, dd, lines } = await both(withSlips);
    expect(lines.join('\n')).toMatch(/a sum_window rule reviews the one-to-one pairs before it/);
    expect(canonical(dd)).toEqual(canonical(ts));
  });

  it('reads a file with a byte-order mark and CRLF line ends as the TypeScript plane does', async () => {
    const gl = write(
      'crlf-gl.csv',
      '\ufeffdocument_no,account_code,department_code,posting_date,currency,debit,credit,description\r\n' +
        'C-1,4000,D010,2026-10-05,USD,1.00,,x\r\nC-2,4000,D010,2026-10-05,USD,,2.50,y\r\n',
    );
    const erp = write(
      'crlf-erp.csv',
      'doc_ref;acct_num;dept_id;post_date;curr;total;memo\r\nc-1;4000;D010;05.10.2026;USD;1,0000;m\r\nc-2;4000;D010;05.10.2026;USD;-2,5000;n\r\n',
      'windows-1252',
    );
    const { ts, dd, lines } = await both(parseDefinition(normalisingCsvDefinition({ gl, erp })));
    expect([dd.engine, lines, dd.stats?.settledPairs]).toEqual(['duckdb', [], 2]);
    expect(canonical(dd)).toEqual(canonical(ts));
  });

  it('leaves a ragged row to the CSV connector, which names its file and line', async () => {
    const def = sides(
      'ragged',
      ['G-1,4000,D010,2026-10-05,USD,1.00,,x', 'G-2,4000,D010,2026-10-05,USD,2.00,,x'],
      ['g-1;4000;D010;05.10.2026;USD;1,0000;m', 'g-2;4000;D010;05.10.2026;USD;2,0000'],
    );
    const lines: string[] = [];
    await expect(reconcileFiles(def, { ...ctx, engine: 'duckdb', log: (l) => lines.push(l) })).rejects.toThrow(
      /ragged-erp\.csv.*line 3.*has 6 fields, the header has 7/,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/falls back to the TypeScript one: ragged-erp\.csv: DuckDB could not read it \(.*Line: 3/);
  });

  it('falls back to the TypeScript plane with a log line when a transformation does not compile to SQL', async () => {
    const def = sides(
      'regex',
      ['R-1,4000,D010,2026-10-05,USD,1.00,,ref inv/123456'],
      ['r-1;4000;D010;05.10.2026;USD;1,0000;m'],
    );
    const input: ReconciliationDefinitionInput = {
      ...def,
      a: {
        ...def.a,
        transformations: [
          ...def.a.transformations,
          { op: 'regex_extract', field: 'description', into: 'invoice', pattern: 'inv/(\\d+)', output: '$1' },
        ],
      },
    };
    const { ts, dd, lines } = await both(parseDefinition(input));
    expect(dd.engine).toBe('typescript');
    expect(lines).toEqual([
      'reconciliation gl-vs-erp-csv: the DuckDB data plane falls back to the TypeScript one: side a: regex_extract (JavaScript regular expressions) does not compile to SQL',
    ]);
    expect(canonical(dd)).toEqual(canonical(ts));
    expect(dd.summary.matches).toBe(1);
  });
});

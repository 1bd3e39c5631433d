// The DuckDB plane's SQL normalisation (activities/recon/duckdb/compile-side.ts) against domain/recon's on the
// values where its shortcuts could part from it: a date transformation's DATE used as the side's date without a
// second ISO check, a decimal_format's output read as an amount without a second trim and check, dates of one-digit
// days and months, blank and whitespace-only cells. Good files give the same result; bad ones the same file, line,
// field and problem.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as iconv from 'iconv-lite';
import { reconcileFiles, type ReconcileFilesResult } from '../../activities/recon/duckdb';
import { NormalisationError, parseDefinition, type ReconciliationDefinitionInput } from '../../domain/recon';
import { normalisingCsvDefinition } from '../../bench/lib/recon-csv';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-recon-duckdb-normalise-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctx = { asOf: '2026-10-31', log: () => undefined };
const GL = [
  'A-1,4000,D010,2026-10-05,USD,1.00,,x',
  'A-2,4000,D010,2026-10-06,USD,,2.00,x',
  'A-3,4000,D010,2026-10-07,USD,3.00,,x',
];

/** The bench's GL/ERP definition over these ERP lines, the ERP date read with `formats`. */
function definition(name: string, erp: string[], formats = ['dd.MM.yyyy']): ReconciliationDefinitionInput {
  const gl = join(dir, `${name}-gl.csv`);
  const erpFile = join(dir, `${name}-erp.csv`);
  writeFileSync(
    gl,
    `document_no,account_code,department_code,posting_date,currency,debit,credit,description\n${GL.join('\n')}\n`,
  );
  writeFileSync(
    erpFile,
    iconv.encode(`doc_ref;acct_num;dept_id;post_date;curr;total;memo\n${erp.join('\n')}\n`, 'windows-1252'),
  );
  const def = normalisingCsvDefinition({ gl, erp: erpFile });
  return {
    ...def,
    b: {
      ...def.b,
      transformations: (def.b.transformations ?? []).map((t) => (t.op === 'date' ? { ...t, formats } : t)),
    },
  };
}

function canonical(r: ReconcileFilesResult) {
  const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return { matches: byId(r.matches), exceptions: byId(r.exceptions), gave_up: r.gave_up, summary: r.summary };
}

async function outcome(input: ReconciliationDefinitionInput, engine: 'typescript' | 'duckdb') {
  const lines: string[] = [];
  try {
    const r = await reconcileFiles(parseDefinition(input), { ...ctx, engine, log: (l) => lines.push(l) });
    return { engine: r.engine, lines, result: canonical(r) };
  } catch (err) {
    if (!(err instanceof NormalisationError)) throw err;
    return { engine, lines, refused: [err.source, err.line, err.field, err.problem] };
  }
}

describe('the DuckDB plane normalising dates and amounts', () => {
  it('reads one-digit days and months, padded dates and either of two formats as domain/recon does', async () => {
    const input = definition(
      'digits',
      [
        'a-1;4000;D010; 5.10.2026 ;USD;1,0000;m',
        'a-2;4000;D010;2026/10/6;USD;-2,0000;m',
        'a-3;4000;D010;07.1.2026;USD;3,0000;m',
      ],
      ['d.M.yyyy', 'yyyy/M/d'],
    );
    const ts = await outcome(input, 'typescript');
    const dd = await outcome(input, 'duckdb');
    expect([dd.engine, dd.lines]).toEqual(['duckdb', []]);
    expect(dd).toEqual({ ...ts, engine: 'duckdb' });
    // The third pair differs in date only (7 January against 7 October): found, not matched.
    expect(dd.result?.summary.matches).toBe(2);
    expect(dd.result?.summary.exceptions).toBeGreaterThan(0);
  });

  it('leaves a windows-1252 file with bytes 0x80-0x9F (a euro sign) to the TypeScript plane, naming the line', async () => {
    const input = definition('euro', [
      'a-1;4000;D010;05.10.2026;USD;1,0000;m',
      'a-2;4000;D010;06.10.2026;USD;-2,0000;Miete 2 \u20ac',
      'a-3;4000;D010;07.10.2026;USD;3,0000;m',
    ]);
    const ts = await outcome(input, 'typescript');
    const dd = await outcome(input, 'duckdb');
    expect(dd.lines).toEqual([
      'reconciliation gl-vs-erp-csv: the DuckDB data plane falls back to the TypeScript one: euro-erp.csv: windows-1252 bytes 0x80-0x9F (line 3) are read by the TypeScript plane',
    ]);
    expect(dd).toEqual({ ...ts, lines: dd.lines, engine: 'typescript' });
    expect(dd.result?.summary.matches).toBe(3);
  });

  it.each([
    ['a blank date', 'a-2;4000;D010;   ;USD;2,0000;m', 3, 'posting_date'],
    ['an empty date', 'a-2;4000;D010;;USD;2,0000;m', 3, 'posting_date'],
    ['a date of the wrong format', 'a-2;4000;D010;2026-10-06;USD;2,0000;m', 3, 'posting_date'],
    ['a month 13', 'a-2;4000;D010;06.13.2026;USD;2,0000;m', 3, 'posting_date'],
    ['a blank amount', 'a-2;4000;D010;06.10.2026;USD;  ;m', 3, 'balance'],
    ['an amount with two decimal commas', 'a-2;4000;D010;06.10.2026;USD;1,2,3;m', 3, 'balance'],
    ['a bad amount and a bad date on one line', 'a-2;4000;D010;32.10.2026;USD;2,x;m', 3, 'balance'],
  ])('refuses %s naming the file, line and field as domain/recon does', async (_what, bad, line, field) => {
    const input = definition(`bad-${line}-${field}-${bad.length}`, [
      'a-1;4000;D010;05.10.2026;USD;1,0000;m',
      bad,
      'a-3;4000;D010;07.10.2026;USD;3,0000;m',
    ]);
    const ts = await outcome(input, 'typescript');
    const dd = await outcome(input, 'duckdb');
    expect(dd.lines).toEqual([]);
    expect(dd.refused?.slice(0, 3)).toEqual([`bad-${line}-${field}-${bad.length}-erp.csv`, line, field]);
    expect(dd.refused).toEqual(ts.refused);
  });
});

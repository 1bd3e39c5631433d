// The seed scenario's GL and ERP sides (examples/monthly-close/generator.ts, planted truth known) as two CSV files
// that need normalising before they compare, as exports from two systems do:
//   GL  (UTF-8, ','): debit and credit columns (one of them empty), ISO dates.
//   ERP (windows-1252, ';'): keys padded and lower-case, German amounts with 4 decimals (`-1.234,5678`), dates
//       dd.MM.yyyy, currency lower-case, a memo with a non-ASCII letter (ü, one byte in windows-1252).
// bench:recon --mode csv and the DuckDB data plane's equivalence test read them.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as iconv from 'iconv-lite';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import {
  erpRows,
  formatMinor,
  glRow,
  TOLERANCE_CENTS,
  type ErpRow,
  type GlRow,
  type ScenarioPlan,
} from '../../examples/monthly-close/generator';

/** `-1234567` ten-thousandths as `-123,4567`; `12345678901` as `1.234.567,8901`. */
export function germanAmount4(v: number): string {
  const text = formatMinor(Math.abs(v), 4);
  const [int, frac] = text.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${v < 0 ? '-' : ''}${grouped},${frac}`;
}

export function glCsvLine(plan: ScenarioPlan, g: GlRow): string {
  const b = g.balanceCents;
  return [
    g.documentNo,
    g.accountCode,
    g.departmentCode,
    g.postingDate,
    plan.currency,
    b > 0 ? formatMinor(b, 2) : '',
    b < 0 ? formatMinor(-b, 2) : '',
    g.description,
  ].join(',');
}

export function erpCsvLine(plan: ScenarioPlan, e: ErpRow): string {
  const [y, m, d] = e.postDate.split('-');
  return [
    `  ${e.docRef.toLowerCase()} `,
    e.acctNum,
    e.deptId,
    `${d}.${m}.${y}`,
    plan.currency.toLowerCase(),
    germanAmount4(e.total4),
    `Buchung ${e.memo.replace('posting ', '')} Büro`,
  ].join(';');
}

function* chunks(plan: ScenarioPlan, side: 'gl' | 'erp', from = 0, to = plan.records): Generator<string> {
  yield side === 'gl'
    ? 'document_no,account_code,department_code,posting_date,currency,debit,credit,description\n'
    : 'doc_ref;acct_num;dept_id;post_date;curr;total;memo\n';
  let buf: string[] = [];
  for (let i = from; i < to; i++) {
    if (side === 'gl') {
      const g = glRow(plan, i);
      if (g) buf.push(glCsvLine(plan, g));
    } else for (const e of erpRows(plan, i)) buf.push(erpCsvLine(plan, e));
    if (buf.length >= 4096) {
      yield `${buf.join('\n')}\n`;
      buf = [];
    }
  }
  if (buf.length > 0) yield `${buf.join('\n')}\n`;
}

/** Writes gl.csv (UTF-8) and erp.csv (windows-1252) of the plan into `dir`. */
export async function writeNormalisingCsv(plan: ScenarioPlan, dir: string): Promise<{ gl: string; erp: string }> {
  const gl = join(dir, 'gl.csv');
  const erp = join(dir, 'erp.csv');
  await Promise.all([
    pipeline(Readable.from(chunks(plan, 'gl')), createWriteStream(gl)),
    pipeline(
      Readable.from(
        (function* () {
          for (const c of chunks(plan, 'erp')) yield iconv.encode(c, 'windows-1252');
        })(),
      ),
      createWriteStream(erp),
    ),
  ]);
  return { gl, erp };
}

/**
 * The GL-vs-ERP reconciliation over those files: the seed's rules (exact on key and date, then a tolerance of 1.00
 * on the same date, both expecting one record per document), with the normalisation each file needs.
 */
export function normalisingCsvDefinition(files: { gl: string; erp: string }): ReconciliationDefinitionInput {
  return {
    id: 'gl-vs-erp-csv',
    name: 'GL vs ERP exports (CSV)',
    a: {
      name: 'GL',
      source: { connector: 'csv', path: files.gl },
      classification: 'internal',
      key_fields: ['document_no'],
      value_fields: ['balance'],
      date_field: 'posting_date',
      currency_field: 'currency',
      transformations: [{ op: 'debit_credit', debit: 'debit', credit: 'credit', into: 'balance' }],
    },
    b: {
      name: 'ERP',
      source: { connector: 'csv', path: files.erp, delimiter: ';', encoding: 'windows-1252' },
      classification: 'internal',
      key_fields: ['document_no'],
      value_fields: ['balance'],
      date_field: 'posting_date',
      currency_field: 'currency',
      mappings: [
        { from: 'doc_ref', to: 'document_no' },
        { from: 'acct_num', to: 'account_code' },
        { from: 'dept_id', to: 'department_code' },
        { from: 'total', to: 'balance' },
        { from: 'post_date', to: 'posting_date' },
        { from: 'curr', to: 'currency' },
      ],
      transformations: [
        { op: 'trim', field: 'document_no' },
        { op: 'upper', field: 'document_no' },
        { op: 'decimal_format', field: 'balance', decimal_separator: ',', group_separator: '.' },
        { op: 'round', field: 'balance', places: 2, mode: 'half_even' },
        { op: 'date', field: 'posting_date', formats: ['dd.MM.yyyy'] },
      ],
    },
    rules: [
      { id: 'exact', type: 'exact', compare_date: true, expect_unique: true },
      {
        id: 'tolerance',
        type: 'tolerance',
        absolute: formatMinor(TOLERANCE_CENTS, 2),
        max_days_apart: 0,
        expect_unique: true,
      },
    ],
    categorisation: { rounding_tolerance: '0.01', timing_window_days: 31 },
  };
}

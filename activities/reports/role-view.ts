// A report as one set of roles may see it: the clear report (xlsx, csv or json) with every value the security
// policy withholds from those roles masked, as the codec server masks workflow payloads for the Web UI. A column
// is treated by the field rules that name it (`bank.iban: restricted` masks a column `iban`, or `IBAN` in a sheet,
// compared loosely); IBANs and card numbers inside any other text (a key, a memo, an explanation) are partially
// masked unless the roles are cleared for restricted data; a withheld value becomes `[withheld]`.
//
// A report that records its data's classification (the sealed header of a reconciliation report: the stricter of
// its two sources') also has its data columns (keys, amounts, records, evidence, explanations) treated at that
// level: a role outside its access list sees them masked, or withheld, as the policy's rule for the level says.
// When the header also records each source's level (`sides`), a side's own columns (Amount A, Records A; an
// exception's Amount when its Side is that side) take that side's level; the columns both sides share (the key, the
// difference, evidence, explanations) keep the stricter one.
//
// The view is built in memory from the report's clear bytes (the caller decrypts them) and written as a new file:
// the clear report itself never reaches the disk.
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { maskByFieldName, maskValue, treatmentFor, type MaskReport } from '../../domain/security/masking';
import {
  hasAccess,
  normalizeFieldName,
  strictestClassification,
  type ClassificationLevel,
  type MaskingMode,
  type SecurityPolicy,
} from '../../domain/security/policy';
import type { SideClassifications } from '../security/file-seal';
import { csvField, csvLine } from './cells';

export const WITHHELD = '[withheld]';

export type ViewFormat = 'xlsx' | 'csv' | 'json';

export interface RoleView {
  bytes: Buffer;
  /** Rows (records of a table, lines of a key/value sheet) passed through the masking. */
  rows: number;
  /** Field names shown masked, withheld, or shown in clear though classified. */
  masked: string[];
  withheld: string[];
  revealed: string[];
}

/** The format of a report file by its name (`..._exceptions_2026-10-31.csv`, also with `.sealed`). */
export function viewFormatOf(name: string): ViewFormat {
  const m = /\.(xlsx|csv|json)(\.sealed)?$/.exec(name);
  if (!m) throw new Error(`${name} is not an xlsx, csv or json report`);
  return m[1] as ViewFormat;
}

// The columns of a reconciliation report that carry its sources' data (sheet headers and JSON names alike):
/** those that hold one side's data only, */
const SIDE_COLUMNS: Record<'a' | 'b', Set<string>> = {
  a: new Set(['amount_a', 'a_items', 'Records A'].map(normalizeFieldName)),
  b: new Set(['amount_b', 'b_items', 'Records B'].map(normalizeFieldName)),
};
/** an exception's own amount, which is its side's (`side` a or b; `both` is the two together), */
const ROW_SIDE_COLUMNS = new Set(['amount'].map(normalizeFieldName));
/** and those both sides share. */
const SHARED_COLUMNS = new Set(['key', 'difference', 'evidence', 'explanation'].map(normalizeFieldName));
const DATA_COLUMNS = new Set([...SIDE_COLUMNS.a, ...SIDE_COLUMNS.b, ...ROW_SIDE_COLUMNS, ...SHARED_COLUMNS]);

interface Treatment {
  treatment: 'clear' | 'masked' | 'withheld';
  masking?: MaskingMode;
}

class Masker {
  readonly report: MaskReport = { revealed: [], masked: [], withheld: [] };
  private readonly freeText: boolean;
  /** How the report's data columns are treated for these roles (clear when the report records no level). */
  private readonly data: Treatment;
  /** How each side's own columns are treated (the report's level when it records none per side). */
  private readonly side: Record<'a' | 'b', Treatment>;
  /** Every data column is shown in clear to these roles (or the report records no level): nothing to walk. */
  private readonly allClear: boolean;

  constructor(
    private readonly policy: SecurityPolicy,
    private readonly roles: readonly string[],
    level?: ClassificationLevel,
    sides?: SideClassifications,
  ) {
    // Free text can quote an account number: only roles cleared for restricted data see those in clear.
    this.freeText = !hasAccess(policy.classifications.restricted, roles);
    const at = (l: ClassificationLevel | undefined): Treatment => {
      const rule = l ? policy.classifications[l] : undefined;
      return rule ? { treatment: treatmentFor(rule, roles), masking: rule.masking } : { treatment: 'clear' };
    };
    this.data = at(level ?? (sides ? strictestClassification([sides.a, sides.b]) : undefined));
    this.side = sides ? { a: at(sides.a), b: at(sides.b) } : { a: this.data, b: this.data };
    this.allClear = [this.data, this.side.a, this.side.b].every((t) => t.treatment === 'clear');
  }

  /** The treatment of data column `name` (normalised) in a row whose side is `rowSide`. */
  private treatmentOf(name: string, rowSide: unknown): Treatment {
    if (SIDE_COLUMNS.a.has(name)) return this.side.a;
    if (SIDE_COLUMNS.b.has(name)) return this.side.b;
    if (ROW_SIDE_COLUMNS.has(name) && (rowSide === 'a' || rowSide === 'b')) return this.side[rowSide];
    return this.data;
  }

  private note(list: keyof MaskReport, field: string): void {
    if (!this.report[list].includes(field)) this.report[list].push(field);
  }

  /** The report's data columns at the report's level, at any depth; other fields as they are. */
  private bySource(v: unknown, depth = 0): unknown {
    if (this.allClear || depth > 50) return v;
    if (Array.isArray(v)) return v.map((x) => this.bySource(x, depth + 1));
    if (v === null || typeof v !== 'object') return v;
    const row = v as Record<string, unknown>;
    const rowSide = row.side ?? row.Side;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(row)) {
      const name = normalizeFieldName(k);
      const t = DATA_COLUMNS.has(name) ? this.treatmentOf(name, rowSide) : undefined;
      if (!t || t.treatment === 'clear' || x === null || x === undefined || x === '') {
        out[k] = this.bySource(x, depth + 1);
      } else if (t.treatment === 'masked') {
        out[k] = maskValue(x, t.masking as Exclude<MaskingMode, 'none'>);
        this.note('masked', k);
      } else {
        out[k] = WITHHELD;
        this.note('withheld', k);
      }
    }
    return out;
  }

  value(v: unknown): unknown {
    const r = maskByFieldName(this.bySource(v), this.policy, this.roles, { maskFreeText: this.freeText });
    for (const k of ['revealed', 'masked', 'withheld'] as const) for (const f of r.report[k]) this.note(k, f);
    return r.value;
  }

  /**
   * One record (field -> value): withheld fields come back as WITHHELD. A cell holding a JSON object or list (the
   * evidence column of a sheet) is masked as JSON, field by field, and written back as JSON.
   */
  record(fields: string[], values: unknown[]): unknown[] {
    const o: Record<string, unknown> = {};
    const json = new Set<string>();
    fields.forEach((f, i) => {
      const v = values[i];
      if (typeof v === 'string' && /^\s*[[{]/.test(v))
        try {
          o[f] = JSON.parse(v) as unknown;
          json.add(f);
          return;
        } catch {
          // not JSON: masked as text
        }
      o[f] = v;
    });
    const m = this.value(o) as Record<string, unknown>;
    return fields.map((f) => (!(f in m) ? WITHHELD : json.has(f) ? JSON.stringify(m[f]) : m[f]));
  }
}

function csvView(text: string, m: Masker): { out: string; rows: number } {
  const lines = parseCsv(text, { bom: true, relax_column_count: true }) as string[][];
  if (lines.length === 0) return { out: '', rows: 0 };
  const [header, ...body] = lines;
  let out = `\ufeff${csvLine(header.map((h) => csvField(h)))}`;
  for (const line of body) out += csvLine(m.record(header, line).map((v) => csvField(v as string | null)));
  return { out, rows: body.length };
}

type CellValue = ExcelJS.CellValue;

/** A cell's value as masking sees it: text and numbers as they are, rich text and formulas by their text. */
function plain(v: CellValue): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && 'richText' in v) return v.richText.map((t) => t.text).join('');
  if (typeof v === 'object' && 'result' in v) return plain(v.result as CellValue);
  if (typeof v === 'object' && 'text' in v) return String(v.text);
  return String(v as unknown as string);
}

async function xlsxView(bytes: Buffer, m: Masker): Promise<{ out: Buffer; rows: number }> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(bytes as unknown as ArrayBuffer);
  let rows = 0;
  wb.eachSheet((ws) => {
    const first = ws.getRow(1);
    const header: string[] = [];
    first.eachCell({ includeEmpty: true }, (c, col) => (header[col - 1] = String(plain(c.value) ?? '')));
    // A sheet with a header row is a table; one of label/value lines (the summary's run sheet) is read as pairs.
    const table = header.filter((h) => h !== '').length > 2;
    ws.eachRow((row, n) => {
      if (table && n === 1) return;
      const width = table ? header.length : 2;
      const values = Array.from({ length: width }, (_, i) => plain(row.getCell(i + 1).value));
      // A label/value line: the value is treated as a field named by its label.
      const masked = table
        ? m.record(header, values)
        : [values[0], m.record([String(values[0] ?? '')], [values[1]])[0]];
      masked.forEach((v, i) => {
        if (v !== values[i]) row.getCell(i + 1).value = v as CellValue;
      });
      rows++;
    });
  });
  return { out: Buffer.from(await wb.xlsx.writeBuffer()), rows };
}

/** The report's clear bytes, masked for `roles` under `policy`. */
export async function roleView(
  format: ViewFormat,
  clear: Buffer,
  policy: SecurityPolicy,
  roles: readonly string[],
  /** The report's data classification (its sealed header's), which its data columns take. */
  level?: ClassificationLevel,
  /** Each source's own level (its sealed header's `sides`), which that side's own columns take. */
  sides?: SideClassifications,
): Promise<RoleView> {
  const m = new Masker(policy, roles, level, sides);
  let bytes: Buffer;
  let rows: number;
  switch (format) {
    case 'json': {
      const doc = JSON.parse(clear.toString('utf8')) as Record<string, unknown>;
      const list = Object.values(doc).find(Array.isArray) as unknown[] | undefined;
      rows = list?.length ?? 0;
      bytes = Buffer.from(`${JSON.stringify(m.value(doc), null, 1)}\n`);
      break;
    }
    case 'csv': {
      const v = csvView(clear.toString('utf8'), m);
      bytes = Buffer.from(v.out);
      rows = v.rows;
      break;
    }
    case 'xlsx': {
      const v = await xlsxView(clear, m);
      bytes = v.out;
      rows = v.rows;
      break;
    }
  }
  return { bytes, rows, ...m.report };
}

// XLSX source: exceljs's streaming WorkbookReader, so a sheet of a million rows is read row by row. Every cell
// becomes exact text: numbers via their shortest round-trip decimal, dates as ISO strings.
//
// Why String(n) is exact for amounts a person typed: Excel stores every number as an IEEE-754 double and keeps at
// most 15 significant digits of what is typed. Any decimal of at most 15 significant digits maps to a distinct
// double (15 is DBL_DIG), and String(n) prints the shortest decimal that maps back to the same double. The typed
// value is such a decimal, and no other decimal that short maps to that double, so String(n) returns exactly what
// was typed ("1234.56", never "1234.5599999999999"). A value computed by a formula can carry float noise beyond
// 15 digits (0.1+0.2 = 0.30000000000000004); Excel itself shows and compares such values at 15 significant digits,
// and so does this reader, so the text is the number the sheet displays in General format.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { Dec } from '../../domain/money';
import { SourceDataError, quote } from './source-error';
import {
  applyFieldRules,
  checkDeclaredColumns,
  type FieldRules,
  type SourceRecord,
  type SourceRow,
} from './source-record';

export interface XlsxOptions extends FieldRules {
  /** Sheet name, or 1-based position in the workbook's tab order; default the first sheet. */
  sheet?: string | number;
  /** Row holding the column names; default 1. Rows above it are ignored (titles, notes). */
  headerRow?: number;
  /** Column names for a sheet without a header row, in column order from A; data starts at `firstRow`. */
  header?: string[];
  /** First data row when `header` is given; default 1. */
  firstRow?: number;
}

export function readXlsx(path: string, options: XlsxOptions = {}): AsyncGenerator<SourceRow> {
  return readXlsxFrom(path, path, options);
}

/**
 * exceljs parses a worksheet as soon as the shared strings and the workbook's relationships have been read, even
 * when the workbook part itself (xl/workbook.xml: the sheets' names and order) comes later in the zip; it then fails
 * with "Cannot read properties of undefined (reading 'sheets')". A zip may hold its parts in any order, and exceljs's
 * own writer, on a busy machine, sometimes puts xl/sharedStrings.xml before the worksheets and xl/workbook.xml last
 * (the XLSX connector test that failed now and then). Until the workbook part is read, the relationships are hidden
 * from exceljs, so it spools such a worksheet to a temporary file and reads it after the workbook part, as it does
 * for worksheets that come before the shared strings.
 */
function holdSheetsUntilWorkbook(reader: object): void {
  let rels: unknown;
  Object.defineProperty(reader, 'workbookRels', {
    configurable: true,
    get(this: { model?: unknown }) {
      return this.model === undefined ? undefined : rels;
    },
    set(v: unknown) {
      rels = v;
    },
  });
}

async function* readXlsxFrom(path: string, source: string, options: XlsxOptions): AsyncGenerator<SourceRow> {
  // A missing or unreadable file fails here, as itself (ENOENT, EACCES), before exceljs sees the stream.
  await checkZipDirectory(path, source);
  const file = createReadStream(path);
  await once(file, 'open');
  // exceljs pipes its input without an error handler: a read error would crash the worker as an unhandled 'error'
  // event, or leave the zip parser waiting forever. The error is kept and the stream ended; the parser then fails
  // on the cut and the caller gets the real cause.
  let ioError: unknown;
  const input = new PassThrough();
  file.on('error', (err) => {
    ioError = err;
    input.end();
  });
  file.pipe(input);
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles are needed: a date is a number with a date format, and only the styles say which numbers are dates.
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  holdSheetsUntilWorkbook(reader);
  const sheets = (reader as AsyncIterable<Sheet>)[Symbol.asyncIterator]();
  const wanted = options.sheet ?? 1;
  const seen: string[] = [];
  let found = false;
  let current: Sheet | undefined;
  try {
    for (;;) {
      const next = await sheets.next();
      if (next.done) break;
      const ws = (current = next.value);
      const name = ws.name;
      const tabOrder = (reader as unknown as { model?: { sheets?: { name: string }[] } }).model?.sheets ?? [];
      if (name === undefined) throw new SourceDataError({ source }, 'cannot tell the name of a worksheet');
      seen.push(name);
      const position = tabOrder.findIndex((s) => s.name === name) + 1;
      const match = typeof wanted === 'string' ? name === wanted : position === wanted;
      if (!match) {
        release(ws);
        continue;
      }
      found = true;
      yield* readSheet(ws, source, name, options);
      break;
    }
  } catch (err) {
    if (ioError) throw ioError;
    if (err instanceof SourceDataError) throw err;
    // Anything else comes from unzipping or parsing the workbook: the bytes are not a workbook exceljs can read.
    throw new SourceDataError(
      { source },
      `not a readable XLSX workbook (damaged, cut short or another format): ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    if (current) release(current);
    await drain(sheets);
    file.destroy();
    input.destroy();
  }
  if (!found) {
    throw new SourceDataError(
      { source, field: String(wanted) },
      `no worksheet ${typeof wanted === 'string' ? quote(wanted, 60) : `at position ${wanted}`} (sheets: ${seen.join(', ') || 'none'})`,
    );
  }
}

/**
 * An XLSX file is a zip whose directory sits at its very end. A file cut short (or not a zip) lacks it; refusing
 * such a file before streaming also spares exceljs from failing halfway, after it has spooled sheets to
 * temporary files it then never deletes.
 */
async function checkZipDirectory(path: string, source: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    // End-of-central-directory record: 22 bytes plus a comment of up to 65535.
    const length = Math.min(size, 22 + 65535);
    const tail = Buffer.alloc(length);
    await fh.read(tail, 0, length, size - length);
    for (let i = length - 22; i >= 0; i--) {
      if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) return;
    }
    throw new SourceDataError(
      { source },
      'not a readable XLSX workbook (no zip directory: cut short or another format)',
    );
  } finally {
    await fh.close();
  }
}

type Sheet = ExcelJS.stream.xlsx.WorksheetReader & { name?: string; iterator?: unknown };

// When a workbook stores its sheets before its shared strings (exceljs itself writes them so), exceljs spools each
// sheet to a temporary file and deletes it only when iteration moves past that sheet. A reader that stops early
// (the consumer had enough, or a bad cell) must still walk to the end, closing each spooled sheet's stream unread,
// or a long-running worker would leave a temp file behind per read.
// A skipped sheet's stream is destroyed before it has opened its spool file, and exceljs deletes that file as soon
// as iteration moves on; when the open runs after the delete (a busy thread pool), the destroyed stream still emits
// ENOENT, on a stream nobody listens to: an unhandled 'error' that would crash the worker. Nothing is read from a
// released sheet, so its stream's errors carry no news.
function release(ws: Sheet): void {
  if (!(ws.iterator instanceof Readable)) return;
  ws.iterator.on('error', ignore);
  ws.iterator.destroy();
}

function ignore(): void {}

async function drain(sheets: AsyncIterator<Sheet>): Promise<void> {
  try {
    for (;;) {
      const next = await sheets.next();
      if (next.done) return;
      release(next.value);
    }
  } catch {
    // Cleanup only: the error that matters (if any) is already on its way to the caller.
  }
}

async function* readSheet(
  ws: AsyncIterable<ExcelJS.Row>,
  source: string,
  sheet: string,
  options: XlsxOptions,
): AsyncGenerator<SourceRow> {
  const headerRow = options.header ? undefined : (options.headerRow ?? 1);
  const firstRow = options.header ? (options.firstRow ?? 1) : headerRow! + 1;
  // columns[c] = name of column number c (1-based), as exceljs numbers them.
  let columns: (string | undefined)[] | undefined = options.header ? [undefined, ...options.header] : undefined;
  let names: string[] = options.header ? [...options.header] : [];
  if (options.header) {
    checkUnique(names, source);
    checkDeclaredColumns(options, names, { source });
  }

  for await (const row of ws) {
    const r = row.number;
    if (headerRow !== undefined && r === headerRow) {
      columns = [];
      row.eachCell({ includeEmpty: false }, (cell, c) => {
        const text = cellText(cell.value, { source, row: r, field: `column ${c}` });
        if (text !== null) columns![c] = text.trim();
      });
      names = columns.filter((n): n is string => n !== undefined);
      checkUnique(names, source, r);
      checkDeclaredColumns(options, names, { source, row: r });
      continue;
    }
    if (r < firstRow) continue;
    if (!columns) {
      throw new SourceDataError(
        { source, row: r },
        `the header row ${headerRow} of sheet ${quote(sheet, 60)} is empty`,
      );
    }
    const record: SourceRecord = {};
    for (const n of names) record[n] = null;
    const typed = new Set<string>();
    row.eachCell({ includeEmpty: false }, (cell, c) => {
      const name = columns![c];
      const text = cellText(cell.value, { source, row: r, field: name ?? `column ${c}` });
      if (text === null) return;
      if (name === undefined) {
        throw new SourceDataError(
          { source, row: r, field: `column ${c}` },
          'cell has a value but its column has no header',
        );
      }
      record[name] = text;
      if (isTypedCell(cell.value)) typed.add(name);
    });
    if (names.every((n) => record[n] === null)) continue; // a formatted but empty row carries nothing
    applyFieldRules(record, options, { source, row: r }, typed);
    yield { line: r, record };
  }
  if (!columns) throw new SourceDataError({ source }, `sheet ${quote(sheet, 60)} has no header row ${headerRow}`);
}

function checkUnique(names: string[], source: string, row?: number): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new SourceDataError({ source, row, field: n }, 'column name appears twice');
    // A record is a plain object: this one name would be swallowed by it instead of stored.
    if (n === '__proto__') throw new SourceDataError({ source, row, field: n }, 'unusable column name');
    seen.add(n);
  }
}

function isTypedCell(v: ExcelJS.CellValue): boolean {
  if (typeof v === 'number' || v instanceof Date) return true;
  if (v && typeof v === 'object' && 'result' in v) {
    const result = (v as { result?: unknown }).result;
    return typeof result === 'number' || result instanceof Date;
  }
  return false;
}

type Where = { source: string; row: number; field: string };

/** A cell's value as exact text, or null when empty. Refuses what has no honest text (error cells, uncomputed formulas). */
export function cellText(v: ExcelJS.CellValue | undefined, where: Where): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return numberText(v, where);
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return dateText(v, where);
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('') || null;
    if ('error' in v) throw new SourceDataError(where, `cell holds the Excel error ${v.error}`);
    if ('formula' in v || 'sharedFormula' in v) {
      const result = (v as { result?: unknown }).result;
      if (result === undefined) {
        throw new SourceDataError(where, 'formula cell has no computed value (open and save the file in Excel first)');
      }
      if (result !== null && typeof result === 'object' && 'error' in result) {
        throw new SourceDataError(where, `formula evaluates to the Excel error ${(result as { error: string }).error}`);
      }
      return cellText(result as ExcelJS.CellValue, where);
    }
    if ('hyperlink' in v) {
      const text = (v as { text?: unknown }).text;
      return typeof text === 'string' ? text || null : cellText(text as ExcelJS.CellValue, where);
    }
  }
  throw new SourceDataError(where, 'cell holds a value of a kind this reader cannot turn into text');
}

/** Shortest round-trip decimal, at most 15 significant digits (see the file comment), never an exponent. */
export function numberText(n: number, where?: Where): string {
  if (!Number.isFinite(n)) {
    if (where) throw new SourceDataError(where, `not a finite number: ${n}`);
    throw new RangeError(`not a finite number: ${n}`);
  }
  let s = String(n);
  if (significantDigits(s) > 15) s = n.toPrecision(15);
  return new Dec(s).toFixed();
}

function significantDigits(s: string): number {
  const mantissa = s.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '');
  return mantissa.replace(/^0+/, '').length;
}

/** Excel dates carry no time zone; exceljs builds them as UTC, so UTC fields give back the calendar date. */
function dateText(d: Date, where: Where): string {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new SourceDataError(where, 'not a valid date');
  // Excel stores date-times as fractions of a day; round away the sub-second float noise.
  const r = new Date(Math.round(t / 1000) * 1000);
  const ymd = `${String(r.getUTCFullYear()).padStart(4, '0')}-${pad(r.getUTCMonth() + 1)}-${pad(r.getUTCDate())}`;
  if (r.getUTCHours() === 0 && r.getUTCMinutes() === 0 && r.getUTCSeconds() === 0) return ymd;
  return `${ymd}T${pad(r.getUTCHours())}:${pad(r.getUTCMinutes())}:${pad(r.getUTCSeconds())}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

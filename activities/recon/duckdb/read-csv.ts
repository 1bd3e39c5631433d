// Reading one CSV source into DuckDB for the data plane (engine.ts): read_csv into VARCHAR columns with the
// definition's delimiter, quote and encoding, the lines counted so a record's ordinal + 2 is its line (the record id
// and the line bad input is named by), and the statements timed for the bench's profile.
import { createReadStream } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { NormalisationError, type Side } from '../../../domain/recon';
import { resolveEncoding } from '../../connectors/text-decode';
import { ident, lit } from './compile-side';

/** A CSV source as the definition gives it (sources.ts csvSource), its path resolved. */
export interface CsvSideSource {
  path: string;
  /** Names the source in errors (the file's base name, as the CSV connector does). */
  name: string;
  delimiter?: string;
  encoding?: string;
  header?: true | string[];
  quote?: string | null;
}

/** The data plane cannot take this definition or these files; the caller uses the TypeScript one. */
export class DuckDbFallback extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DuckDbFallback';
  }
}

/** Physical lines of a file (a last line without a line break counts). */
async function countLines(path: string): Promise<number> {
  let n = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let i = chunk.indexOf(0x0a);
    while (i >= 0) {
      n++;
      i = chunk.indexOf(0x0a, i + 1);
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  return last === 0x0a ? n : n + 1;
}

function duckEncoding(source: CsvSideSource): { encoding: string; cp1252: boolean } {
  const e = resolveEncoding(source.encoding, source.name);
  if (e === 'utf-8') return { encoding: 'utf-8', cp1252: false };
  if (e === 'latin1') return { encoding: 'latin-1', cp1252: false };
  // windows-1252 is latin-1 except 0x80-0x9F: read as latin-1, and the TypeScript plane takes any file using them.
  if (e === 'windows-1252') return { encoding: 'latin-1', cp1252: true };
  throw new DuckDbFallback(`${source.name}: encoding ${e} is read by the TypeScript plane`);
}

/** Milliseconds per statement (its first words), for the bench's profile of where the time goes. */
export type StepTimes = Record<string, number>;

/** The connection with each statement timed into `steps`. */
export function timed(c: DuckDBConnection, steps: StepTimes): DuckDBConnection {
  const time = async <T>(sql: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      const label = sql.replace(/\s+/g, ' ').slice(0, 40);
      steps[label] = (steps[label] ?? 0) + performance.now() - t0;
    }
  };
  return new Proxy(c, {
    get(target, prop) {
      if (prop === 'run') return (sql: string) => time(sql, () => target.run(sql));
      if (prop === 'runAndReadAll') return (sql: string) => time(sql, () => target.runAndReadAll(sql));
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export async function rows(c: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await c.runAndReadAll(sql)).getRows() as unknown[][];
}

export interface ReadSide {
  table: string;
  columns: string[];
  records: number;
}

export async function readSide(c: DuckDBConnection, side: Side, src: CsvSideSource): Promise<ReadSide> {
  if (src.header !== undefined && src.header !== true)
    throw new DuckDbFallback(`${src.name}: a header given in the definition is read by the TypeScript plane`);
  const quote = src.quote === undefined ? '"' : src.quote;
  const delimiter = src.delimiter ?? ',';
  if (delimiter.length !== 1 || (quote !== null && quote.length !== 1))
    throw new DuckDbFallback(`${src.name}: a delimiter or quote of more than one character`);
  const { encoding, cp1252 } = duckEncoding(src);
  const table = `raw_${side}`;
  const lines = countLines(src.path);
  try {
    await c.run(
      `CREATE TABLE ${table} AS SELECT * FROM read_csv(${lit(src.path)}, header = true, all_varchar = true, ` +
        `delim = ${lit(delimiter)}, quote = ${lit(quote ?? '')}, escape = ${lit(quote ?? '')}, ` +
        `encoding = ${lit(encoding)}, strict_mode = true, null_padding = false, normalize_names = false)`,
    );
  } catch (err) {
    void lines.catch(() => undefined);
    // DuckDB's own message names the line (ragged rows, bad quoting, bytes that are not UTF-8).
    throw new NormalisationError(src.name, 0, '', `the file could not be read as CSV: ${(err as Error).message}`);
  }
  const columns = (
    await rows(c, `SELECT column_name FROM duckdb_columns() WHERE table_name = ${lit(table)} ORDER BY column_index`)
  ).map((r) => String(r[0]));
  const records = Number((await rows(c, `SELECT count(*) FROM ${table}`))[0][0]);
  // Record ids and error lines are line numbers: they are the record's ordinal + 2 only when every record is one
  // line (no line break inside a quoted field, no empty line).
  const physical = await lines;
  if (physical !== records + 1)
    throw new DuckDbFallback(
      `${src.name}: ${physical} lines for ${records} records and a header (line breaks inside fields or empty lines)`,
    );
  if (cp1252 && columns.length > 0) {
    const hit = await rows(
      c,
      `SELECT min(rowid) FROM ${table} WHERE regexp_matches(concat_ws('', ${columns.map(ident).join(', ')}), '[\\x{80}-\\x{9f}]')`,
    );
    if (hit[0][0] !== null)
      throw new DuckDbFallback(
        `${src.name}: windows-1252 bytes 0x80-0x9F (line ${Number(hit[0][0]) + 2}) are read by the TypeScript plane`,
      );
  }
  return { table, columns, records };
}

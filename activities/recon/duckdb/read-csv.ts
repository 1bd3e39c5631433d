// Reading one CSV source into DuckDB for the data plane (engine.ts): read_csv into VARCHAR columns with the
// definition's delimiter, quote and encoding, the lines counted so a record's ordinal + 2 is its line (the record id
// and the line bad input is named by), and the statements timed for the bench's profile.
import { createReadStream } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import * as iconv from 'iconv-lite';
import type { Side } from '../../../domain/recon';
import { resolveEncoding } from '../../connectors/text-decode';
import { lit } from './compile-side';

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

/** Bytes 0x80-0x9F, which windows-1252 and latin-1 read differently, in a chunk read as latin-1. */
const C1 = /[\x80-\x9f]/;

/**
 * Physical lines of a file (a last line without a line break counts), and with `c1` the line of the first byte
 * 0x80-0x9F (found in the same pass: V8's regular expression over the chunk as a latin-1 string, where SQL over the
 * read columns took 0.17 s per 200k records).
 */
async function countLines(path: string, c1: boolean): Promise<{ lines: number; c1Line?: number }> {
  let n = 0;
  let last = 0x0a;
  let c1Line: number | undefined;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    const at = c1 && c1Line === undefined ? C1.exec(chunk.toString('latin1'))?.index : undefined;
    let i = chunk.indexOf(0x0a);
    while (i >= 0) {
      if (at !== undefined && c1Line === undefined && i >= at) c1Line = n + 1;
      n++;
      i = chunk.indexOf(0x0a, i + 1);
    }
    if (at !== undefined && c1Line === undefined) c1Line = n + 1;
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  return { lines: last === 0x0a ? n : n + 1, c1Line };
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

/**
 * The column names of the header line as the CSV connector reads them (trimmed); a header it would refuse or that
 * needs a CSV parser (quotes) goes to the TypeScript plane.
 */
async function headerOf(src: CsvSideSource, delimiter: string, quote: string | null): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of createReadStream(src.path, { highWaterMark: 65536 }) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (chunk.includes(0x0a) || size > 1 << 20) break;
  }
  const bytes = Buffer.concat(chunks);
  const end = bytes.indexOf(0x0a);
  const encoding = resolveEncoding(src.encoding, src.name);
  let line = iconv.decode(end < 0 ? bytes : bytes.subarray(0, end), encoding === 'utf-8' ? 'utf8' : encoding);
  if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  if (line.endsWith('\r')) line = line.slice(0, -1);
  if (end < 0 || (quote !== null && line.includes(quote)))
    throw new DuckDbFallback(`${src.name}: its header line is read by the TypeScript plane`);
  const names = line.split(delimiter).map((x) => x.trim());
  if (names.some((x) => x === '' || x === '__proto__') || new Set(names).size !== names.length)
    throw new DuckDbFallback(`${src.name}: its header names a column twice or not at all`);
  return names;
}

export async function readSide(c: DuckDBConnection, side: Side, src: CsvSideSource): Promise<ReadSide> {
  if (src.header !== undefined && src.header !== true)
    throw new DuckDbFallback(`${src.name}: a header given in the definition is read by the TypeScript plane`);
  const quote = src.quote === undefined ? '"' : src.quote;
  const delimiter = src.delimiter ?? ',';
  if (delimiter.length !== 1 || (quote !== null && quote.length !== 1))
    throw new DuckDbFallback(`${src.name}: a delimiter or quote of more than one character`);
  const { encoding, cp1252 } = duckEncoding(src);
  const columns = await headerOf(src, delimiter, quote);
  const table = `raw_${side}`;
  const lines = countLines(src.path, cp1252);
  try {
    // Columns as the header names them, no sniffing: DuckDB's dialect detection took a ragged last line for the
    // header of a three-line file and returned no rows; with the columns given, strict mode names the bad line.
    await c.run(
      `CREATE TABLE ${table} AS SELECT * FROM read_csv(${lit(src.path)}, header = true, auto_detect = false, ` +
        `columns = {${columns.map((x) => `${lit(x)}: 'VARCHAR'`).join(', ')}}, ` +
        `delim = ${lit(delimiter)}, quote = ${lit(quote ?? '')}, escape = ${lit(quote ?? '')}, ` +
        `encoding = ${lit(encoding)}, strict_mode = true, null_padding = false)`,
    );
  } catch (err) {
    // DuckDB's latin-1 reader refuses bytes 0x80-0x9F ("not latin-1 encoded"): say which windows-1252 line has one.
    const c1 = (await lines.catch(() => undefined))?.c1Line;
    if (c1 !== undefined)
      throw new DuckDbFallback(
        `${src.name}: windows-1252 bytes 0x80-0x9F (line ${c1}) are read by the TypeScript plane`,
      );
    // A ragged row, bad quoting, bytes not in the encoding: the TypeScript connector reads the file again and names
    // the line and the problem in its own words (the error path, so the second read costs nothing that matters).
    throw new DuckDbFallback(
      `${src.name}: DuckDB could not read it (${(err as Error).message.split('\n').slice(0, 3).join(' ')})`,
    );
  }
  const records = Number((await rows(c, `SELECT count(*) FROM ${table}`))[0][0]);
  // Record ids and error lines are line numbers: they are the record's ordinal + 2 only when every record is one
  // line (no line break inside a quoted field, no empty line).
  const { lines: physical, c1Line } = await lines;
  if (physical !== records + 1)
    throw new DuckDbFallback(
      `${src.name}: ${physical} lines for ${records} records and a header (line breaks inside fields or empty lines)`,
    );
  // Not reached while DuckDB's latin-1 reader refuses such bytes (above); kept should a later DuckDB accept them.
  if (c1Line !== undefined)
    throw new DuckDbFallback(
      `${src.name}: windows-1252 bytes 0x80-0x9F (line ${c1Line}) are read by the TypeScript plane`,
    );
  return { table, columns, records };
}

// MariaDB/MySQL source connector (mysql2): a query with named, typed parameters run as a server-side prepared
// statement, its rows streamed with backpressure so millions of rows never sit in memory at once. DECIMAL and
// BIGINT values stay exact strings, dates are ISO strings.
import type { Connection as CoreConnection, FieldPacket } from 'mysql2';
import { createPool, type Pool, type PoolOptions } from 'mysql2/promise';
import {
  type BoundQuery,
  type DbQuery,
  type DbRecord,
  type StreamOptions,
  bindNamed,
  invalidSource,
  makeRecordCheck,
} from './postgres';
import type { SourceRow } from './source-record';

/**
 * Pool options that keep numbers exact: DECIMAL as strings (not `decimalNumbers`), BIGINT as strings, dates
 * as strings (never a JS Date in the worker's time zone). The connector depends on these.
 */
export const exactMysqlOptions: PoolOptions = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  decimalNumbers: false,
  dateStrings: true,
  jsonStrings: true,
  charset: 'utf8mb4',
  timezone: 'Z',
};

export function createMysqlPool(url: string, options: PoolOptions = {}): Pool {
  return createPool({ uri: url, connectionLimit: 4, ...options, ...exactMysqlOptions });
}

// MariaDB's DECIMAL allows 38 fractional digits, MySQL's 30; 65 digits in all on both.
const MAX_PRECISION = 65;
const MAX_SCALE = 30;

export function bindMysql(query: DbQuery): BoundQuery {
  // The CAST gives each `?` its declared SQL type: a string compared with a DECIMAL column would otherwise be
  // compared as a double.
  return bindNamed(query, 'mysql', (p) => {
    switch (p.type) {
      case 'date':
        return 'CAST(? AS DATE)';
      case 'int':
        return 'CAST(? AS SIGNED)';
      case 'decimal': {
        const precision = Math.max(p.precision ?? 1, p.scale ?? 0, 1);
        const scale = p.scale ?? 0;
        if (precision > MAX_PRECISION || scale > MAX_SCALE)
          throw invalidSource(
            query.source,
            `parameter :${p.name} has more digits than DECIMAL(${MAX_PRECISION},${MAX_SCALE}) holds`,
            { parameter: p.name },
          );
        return `CAST(? AS DECIMAL(${precision},${scale}))`;
      }
      default:
        return '?';
    }
  });
}

// mysql2 column type codes whose text needs normalising.
const TIMESTAMP = 7; // zone-aware: read in the session's UTC, so it carries the offset
const DATETIME = 12; // a wall-clock value without a zone

type Cell = string | number | bigint | Buffer | null;

function converterFor(field: FieldPacket): (v: Cell) => string | null {
  const iso = field.type === TIMESTAMP || field.type === DATETIME;
  const offset = field.type === TIMESTAMP ? '+00:00' : '';
  // The binary protocol leaves out a zero fraction (DATETIME(3) 10:00:00.000 arrives as 10:00:00); the text
  // is padded back to the column's declared digits so equal values always read the same.
  const digits = iso && field.decimals && field.decimals > 0 && field.decimals <= 6 ? field.decimals : 0;
  return (v) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') {
      if (!iso) return v;
      const t = v.replace(' ', 'T');
      return (digits && t.length === 19 ? `${t}.${'0'.repeat(digits)}` : t) + offset;
    }
    // Binary columns: their bytes as UTF-8 text (keys and references in practice).
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    // Only small integer and floating types arrive as numbers here (DECIMAL and BIGINT are strings).
    return String(v);
  };
}

/**
 * Failures in the definition or the data are non-retryable; connection loss, deadlocks and lock timeouts go
 * back to Temporal's retry policy.
 */
export function translateMysqlError(source: string, err: unknown): unknown {
  const e = err as { sqlState?: string; code?: string; errno?: number; sqlMessage?: string; message?: string };
  if (typeof e?.sqlState !== 'string') return err;
  // 42 syntax/unknown objects, 22 data exceptions, 28 access denied, 0A not supported, 25 a write in the
  // read-only transaction.
  if (!/^(42|22|28|0A|25)/.test(e.sqlState)) return err;
  const message = e.sqlMessage ?? e.message ?? 'query failed';
  const field = /Unknown column '([^']+)'/.exec(message)?.[1];
  return invalidSource(source, `${message} (${e.code ?? e.errno}, SQLSTATE ${e.sqlState})`, {
    sqlstate: e.sqlState,
    code: e.code,
    ...(field ? { field } : {}),
  });
}

/**
 * Streams a query's rows in batches. The connection goes back to the pool when the consumer finishes; if the
 * consumer stops early or the query fails mid-stream, it is destroyed instead (its protocol state is unknown).
 */
export async function* mysqlBatches(pool: Pool, query: DbQuery, opts: StreamOptions = {}): AsyncGenerator<DbRecord[]> {
  const bound = bindMysql(query);
  const batchSize = opts.batchSize ?? 5000;
  const conn = await pool.getConnection();
  let finished = false;
  try {
    try {
      // TIMESTAMP values in UTC whatever the server's zone (the session's zone is put back afterwards: the pool
      // may be shared), and a read-only transaction: a source query has no business writing.
      await conn.query("SET @finflow_tz = @@session.time_zone, time_zone = '+00:00'");
      await conn.query('START TRANSACTION READ ONLY');
    } catch (err) {
      throw translateMysqlError(query.source, err);
    }
    let columns: string[] | undefined;
    let converters: ((v: Cell) => string | null)[] = [];
    let check: ((rec: DbRecord, row: number) => void) | undefined;
    // The promise wrapper's typings call this the promise connection; at run time it is the core one, whose
    // commands can stream.
    const core = conn.connection as unknown as CoreConnection;
    const stream = core
      .execute({ sql: bound.text, values: bound.values, rowsAsArray: true })
      .stream({ highWaterMark: batchSize });
    stream.once('fields', (fields: FieldPacket[]) => {
      const names = fields.map((f) => f.name);
      const seen = new Set<string>();
      for (const n of names) {
        if (seen.has(n)) {
          stream.destroy(
            invalidSource(query.source, `the query returns column ${n} twice: alias one of them`, { field: n }),
          );
          return;
        }
        seen.add(n);
      }
      try {
        check = makeRecordCheck(query, names);
      } catch (err) {
        stream.destroy(err as Error);
        return;
      }
      columns = names;
      converters = fields.map(converterFor);
    });
    let row = 0;
    let batch: DbRecord[] = [];
    try {
      for await (const vals of stream as AsyncIterable<Cell[]>) {
        const rec: DbRecord = {};
        for (let c = 0; c < columns!.length; c++) rec[columns![c]] = converters[c](vals[c]);
        check!(rec, ++row);
        batch.push(rec);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    } catch (err) {
      throw translateMysqlError(query.source, err);
    }
    if (batch.length) yield batch;
    await conn.query('COMMIT');
    await conn.query('SET time_zone = @finflow_tz');
    finished = true;
  } finally {
    if (finished) conn.release();
    else conn.destroy();
  }
}

/** Rows one at a time, as the file connectors yield them: `line` is the 1-based row number (batched underneath). */
export async function* readMysql(pool: Pool, query: DbQuery, opts: StreamOptions = {}): AsyncGenerator<SourceRow> {
  let line = 0;
  for await (const batch of mysqlBatches(pool, query, opts)) for (const record of batch) yield { line: ++line, record };
}

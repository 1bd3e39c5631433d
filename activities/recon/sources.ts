// A definition's `source` (opaque to the engine) opened through its connector, as batches of raw records. Database
// sources name a system of the worker's registry: connection strings never travel in a definition or a payload.
import { basename, isAbsolute, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { RawRecord } from '../../domain/recon';
import { monthBounds } from '../../domain/recon/run-plan';
import { readCsv } from '../connectors/csv';
import { mysqlBatches } from '../connectors/mysql';
import { type DbQuery, type ParamSpec, postgresBatches, scanNamedParams } from '../connectors/postgres';
import type { SourceRow } from '../connectors/source-record';
import { statementEntryRows, type StatementFormat } from '../connectors/statement';
import { parseStatementFile } from '../connectors/statement-file';
import { readXlsx } from '../connectors/xlsx';
import type { SystemRegistry } from '../systems';

const paramSpec = z.object({
  type: z.enum(['date', 'decimal', 'text', 'int']),
  value: z.union([z.string(), z.number()]),
});

const dbSource = z.object({
  connector: z.enum(['postgres', 'mysql', 'mariadb', 'sql']),
  /** A system of the worker's registry (activities/systems.ts). */
  system: z.string().min(1),
  /** SQL with named parameters (`:as_of_date`); or `table` for every row of one table. */
  sql: z.string().min(1).optional(),
  table: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain (schema.)table name')
    .optional(),
  params: z.record(z.string(), paramSpec).optional(),
  /** PostgreSQL only: COPY (default, fastest) or a server-side cursor. */
  mode: z.enum(['copy', 'cursor']).optional(),
  /** How long the system may stay unreachable before the reconciliation gives up ("15m"; source-outage.ts). */
  retry_window: z.string().optional(),
  /** How long the system may send nothing before it counts as unreachable ("2m": a frozen server). */
  stall_timeout: z.string().optional(),
});

const csvSource = z.object({
  connector: z.literal('csv'),
  path: z.string().min(1),
  delimiter: z.string().optional(),
  encoding: z.string().optional(),
  header: z.union([z.literal(true), z.array(z.string())]).optional(),
  quote: z.string().nullable().optional(),
});

const xlsxSource = z.object({
  connector: z.literal('xlsx'),
  path: z.string().min(1),
  sheet: z.union([z.string(), z.int()]).optional(),
  headerRow: z.int().optional(),
  header: z.array(z.string()).optional(),
  firstRow: z.int().optional(),
});

const statementSource = z.object({
  /** `statement`: the format is told from the content. */
  connector: z.enum(['camt053', 'camt054', 'mt940', 'mt942', 'bai2', 'statement']),
  path: z.string().min(1),
  encoding: z.string().optional(),
});

export const reconSourceSchema = z.union([dbSource, csvSource, xlsxSource, statementSource]);
export type ReconSource = z.infer<typeof reconSourceSchema>;

export interface SourceContext {
  systems: SystemRegistry;
  /** Relative file paths are resolved against it (default: the worker's working directory). */
  filesDir?: string;
  /** Values of the built-in parameters :as_of_date, :period, :period_start, :period_end. */
  asOf: string;
  period?: string;
  /**
   * The period's first and last day when the caller knows them (a fiscal period, from the close's fiscal
   * calendar); otherwise they come from a `yyyy-mm` period.
   */
  periodStart?: string;
  periodEnd?: string;
}

export interface OpenedSource {
  /** Names the source in errors: a file's base name or `<engine>:<system>`. */
  name: string;
  batches: AsyncGenerator<RawRecord[]>;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InvalidSource');
}

export function parseReconSource(source: unknown, side: string): ReconSource {
  const r = reconSourceSchema.safeParse(source);
  if (!r.success)
    throw invalid(`side ${side}: the source is not one this worker can read:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/**
 * The declared parameters plus the built-ins the SQL uses and does not declare: :as_of_date (date), :period
 * (text), :period_start and :period_end (dates: the period's bounds when given, else a yyyy-mm period's month).
 */
function paramsFor(
  name: string,
  sql: string,
  dialect: 'postgres' | 'mysql',
  declared: Record<string, ParamSpec> | undefined,
  ctx: SourceContext,
): Record<string, ParamSpec> {
  const out: Record<string, ParamSpec> = { ...(declared ?? {}) };
  const bounds =
    ctx.periodStart && ctx.periodEnd ? { start: ctx.periodStart, end: ctx.periodEnd } : monthBounds(ctx.period);
  const builtins: Record<string, ParamSpec | undefined> = {
    as_of_date: { type: 'date', value: ctx.asOf },
    period: ctx.period === undefined ? undefined : { type: 'text', value: ctx.period },
    period_start: bounds && { type: 'date', value: bounds.start },
    period_end: bounds && { type: 'date', value: bounds.end },
  };
  for (const t of scanNamedParams(name, sql, dialect)) {
    if (out[t.name] !== undefined) continue;
    const b = builtins[t.name];
    if (b) out[t.name] = b;
  }
  return out;
}

async function* rowsToBatches(rows: AsyncIterable<SourceRow>, size = 5000): AsyncGenerator<RawRecord[]> {
  let batch: RawRecord[] = [];
  for await (const r of rows) {
    batch.push({ line: r.line, values: r.record });
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

async function* numbered(batches: AsyncIterable<Record<string, string | null>[]>): AsyncGenerator<RawRecord[]> {
  let row = 0;
  for await (const b of batches) {
    const out = new Array<RawRecord>(b.length);
    for (let i = 0; i < b.length; i++) out[i] = { line: ++row, values: b[i] };
    yield out;
  }
}

const PATH_PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;

/**
 * A source file's path for this run: `{period}`, `{period_start}`, `{period_end}` and `{as_of_date}` are the run's
 * (so a recurring close reads each period's own statement, `statements/camt053-{period}.xml`), and a relative path
 * is under the files directory. Any other placeholder (an `{execution.parameters.x}` nobody rendered) is refused,
 * naming it, rather than read as a file name.
 */
export function sourceFilePath(
  path: string,
  ctx: Pick<SourceContext, 'filesDir' | 'asOf' | 'period' | 'periodStart' | 'periodEnd'>,
): string {
  const bounds =
    ctx.periodStart && ctx.periodEnd ? { start: ctx.periodStart, end: ctx.periodEnd } : monthBounds(ctx.period);
  const values: Record<string, string | undefined> = {
    period: ctx.period,
    as_of_date: ctx.asOf,
    period_start: bounds?.start,
    period_end: bounds?.end,
  };
  const rendered = path.replace(PATH_PLACEHOLDER, (whole, name: string) => {
    const v = values[name];
    if (v === undefined)
      throw invalid(
        `source path ${path}: ${whole} has no value in this run (a path may hold {period}, {period_start}, ` +
          `{period_end} and {as_of_date}; {execution.parameters.<name>} is rendered by finflow recon run or the library)`,
      );
    return v;
  });
  return isAbsolute(rendered) || !ctx.filesDir ? rendered : join(ctx.filesDir, rendered);
}

export function openSource(source: ReconSource, ctx: SourceContext): OpenedSource {
  const file = (p: string) => sourceFilePath(p, ctx);
  switch (source.connector) {
    case 'postgres':
    case 'mysql':
    case 'mariadb':
    case 'sql': {
      let engine: 'postgres' | 'mysql';
      try {
        engine = ctx.systems.engine(source.system);
      } catch (err) {
        throw invalid((err as Error).message);
      }
      const wanted = source.connector === 'sql' ? engine : source.connector === 'postgres' ? 'postgres' : 'mysql';
      if (wanted !== engine)
        throw invalid(
          `source ${source.connector}:${source.system}: the worker knows ${source.system} as a ${engine} system`,
        );
      const name = `${engine}:${source.system}`;
      if ((source.sql === undefined) === (source.table === undefined))
        throw invalid(`source ${name}: give either sql or table`);
      const quoteId = (s: string) =>
        s
          .split('.')
          .map((p) => (engine === 'mysql' ? `\`${p}\`` : `"${p}"`))
          .join('.');
      const sql = source.sql ?? `SELECT * FROM ${quoteId(source.table as string)}`;
      const query: DbQuery = { source: name, sql, params: paramsFor(name, sql, engine, source.params, ctx) };
      const batches =
        engine === 'postgres'
          ? postgresBatches(ctx.systems.postgres(source.system), query, { mode: source.mode, batchSize: 5000 })
          : mysqlBatches(ctx.systems.mysql(source.system), query, { batchSize: 5000 });
      return { name, batches: numbered(batches) };
    }
    case 'csv': {
      const path = file(source.path);
      const { connector: _c, path: _p, ...options } = source;
      return { name: basename(path), batches: rowsToBatches(readCsv(path, options)) };
    }
    case 'xlsx': {
      const path = file(source.path);
      const { connector: _c, path: _p, ...options } = source;
      return { name: basename(path), batches: rowsToBatches(readXlsx(path, options)) };
    }
    default: {
      const st = source as z.infer<typeof statementSource>;
      const path = file(st.path);
      const format = st.connector === 'statement' ? undefined : (st.connector as StatementFormat);
      async function* files() {
        yield await parseStatementFile(path, format, { encoding: st.encoding });
      }
      return { name: basename(path), batches: rowsToBatches(statementEntryRows(files())) };
    }
  }
}

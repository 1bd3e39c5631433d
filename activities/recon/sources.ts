// A definition's `source` (opaque to the engine) opened through its connector, as batches of raw records. Database
// sources name a system of the worker's registry: connection strings never travel in a definition or a payload.
import { basename, isAbsolute, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ConnectorLookup, ConnectorRequest, ConnectorTarget } from '../../contracts/connector';
import type { RawRecord } from '../../domain/recon';
import { monthBounds } from '../../domain/recon/run-plan';
import { builtinConnector, RESERVED_ENGINES } from '../connectors/builtin';
import { type ParamSpec, scanNamedParams } from '../connectors/postgres';
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

/**
 * A source read by a connector the worker was given (platform/connectors.ts): `connector` is its engine name, and
 * it reads a `system` of the worker's registry (with `sql`/`query` or `table`) or a file (`path`). Its other
 * fields reach the connector as `options`.
 */
const pluginSource = z
  .looseObject({
    connector: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'an engine name is lower-case letters, digits and "_"')
      .refine((c) => !RESERVED_ENGINES.includes(c), 'a built-in connector'),
    system: z.string().min(1).optional(),
    sql: z.string().min(1).optional(),
    query: z.string().min(1).optional(),
    table: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    params: z.record(z.string(), paramSpec).optional(),
    retry_window: z.string().optional(),
    stall_timeout: z.string().optional(),
  })
  .refine((s) => (s.system === undefined) !== (s.path === undefined), 'a plug-in source reads a system or a path');

export const reconSourceSchema = z.union([dbSource, csvSource, xlsxSource, statementSource, pluginSource]);
export type ReconSource = z.infer<typeof reconSourceSchema>;

export interface SourceContext {
  systems: SystemRegistry;
  /** Connectors the worker was given by engine name, beside the built-in ones (contracts/connector.ts). */
  connectors?: ConnectorLookup;
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
 * A plug-in's query language is its own (no dialect): it gets every built-in that has a value.
 */
function paramsFor(
  name: string,
  sql: string | undefined,
  dialect: 'postgres' | 'mysql' | undefined,
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
  // A whole table (no SQL) binds nothing.
  const used = dialect ? (sql === undefined ? [] : scanNamedParams(name, sql, dialect).map((t) => t.name)) : undefined;
  for (const [param, b] of Object.entries(builtins))
    if (b && out[param] === undefined && (used === undefined || used.includes(param))) out[param] = b;
  return out;
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

/** A connector's batches as a generator (the stall timeout and the consumers stop it with `return()`). */
async function* delegate(batches: AsyncIterable<RawRecord[]>): AsyncGenerator<RawRecord[]> {
  yield* batches;
}

/** Whether the source is a CSV file finflow's own connector reads (the DuckDB plane reads such sources itself). */
export function isCsvSource(source: ReconSource): source is z.infer<typeof csvSource> {
  return source.connector === 'csv' && 'path' in source;
}

/** Fields of a source that say what to read and how long to wait; the rest are the connector's options. */
const NOT_OPTIONS = new Set([
  'connector',
  'system',
  'sql',
  'query',
  'table',
  'path',
  'params',
  'retry_window',
  'stall_timeout',
]);

/** Whether a finflow connector reads the source (it can then be read in a worker thread, extract-runner.ts). */
export function isBuiltinSource(source: ReconSource): boolean {
  return RESERVED_ENGINES.includes(source.connector);
}

/** The engine of the connector a definition's `connector` names for a system of the given engine. */
function engineWanted(connector: string, systemEngine: string): string {
  if (connector === 'sql') return systemEngine;
  if (connector === 'mariadb') return 'mysql';
  return connector;
}

/**
 * Opens a source through its connector (contracts/connector.ts): the built-in one of its engine, or the one the
 * worker was given for it (`ctx.connectors`). A system's engine is the worker's (FINFLOW_SYSTEMS): the definition
 * names the system, and `connector: sql` reads it with whatever its engine is.
 */
export function openSource(source: ReconSource, ctx: SourceContext): OpenedSource {
  const src = source as ReconSource & Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) if (!NOT_OPTIONS.has(k) && v !== undefined) options[k] = v;
  let target: ConnectorTarget;
  let name: string;
  let request: Omit<ConnectorRequest, 'source' | 'params'>;
  let params: ConnectorRequest['params'];
  if (typeof src.system === 'string') {
    const system = src.system;
    let engine: string;
    try {
      engine = ctx.systems.engineName?.(system) ?? ctx.systems.engine(system);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    const wanted = engineWanted(src.connector, engine);
    if (wanted !== engine)
      throw invalid(`source ${src.connector}:${system}: the worker knows ${system} as a ${engine} system`);
    name = `${engine}:${system}`;
    const sql = (src.sql ?? src.query) as string | undefined;
    if ((sql === undefined) === (src.table === undefined)) throw invalid(`source ${name}: give either sql or table`);
    const dialect = engine === 'postgres' || engine === 'mysql' ? engine : undefined;
    const url = dialect ? undefined : ctx.systems.urlOf?.(system);
    target = { engine, system, ...(url ? { url } : {}) };
    params = paramsFor(name, sql, dialect, src.params as Record<string, ParamSpec> | undefined, ctx);
    request = { ...(sql !== undefined ? { query: sql } : { table: src.table as string }), options, batchSize: 5000 };
  } else {
    const path = sourceFilePath(src.path as string, ctx);
    name = basename(path);
    target = { engine: src.connector };
    params = paramsFor(name, undefined, undefined, src.params as Record<string, ParamSpec> | undefined, ctx);
    request = { path, options, batchSize: 5000 };
  }
  const factory = builtinConnector(target.engine, ctx.systems) ?? ctx.connectors?.get(target.engine);
  if (!factory)
    throw invalid(
      `source ${name}: this worker has no connector for engine "${target.engine}": give the worker one with ` +
        `new ConnectorRegistry().registerConnector('${target.engine}', factory) and startWorker({ connectors })`,
    );
  return { name, batches: delegate(factory(target).open({ ...request, source: name, params })) };
}

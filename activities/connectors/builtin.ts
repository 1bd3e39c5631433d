// finflow's own connectors behind the plug-in interface (contracts/connector.ts): PostgreSQL and MariaDB/MySQL read
// a system of the worker's registry through its pooled connection; CSV, XLSX and the bank statement formats read a
// file. A reconciliation opens every source, built-in or plug-in, through `Connector.open` (recon/sources.ts).
import type { Connector, ConnectorFactory, ConnectorRequest, ConnectorRow } from '../../contracts/connector';
import type { SystemRegistry } from '../systems';
import { readCsv, type CsvOptions } from './csv';
import { mysqlBatches } from './mysql';
import { postgresBatches, type ParamSpec } from './postgres';
import type { SourceRow } from './source-record';
import { statementEntryRows, type StatementFormat } from './statement';
import { parseStatementFile } from './statement-file';
import { readXlsx, type XlsxOptions } from './xlsx';

/** Engines of systems finflow reads itself (a system registered as `mariadb` is read as `mysql`). */
export const BUILTIN_SYSTEM_ENGINES = ['postgres', 'mysql'] as const;
/** File engines finflow reads itself; `statement` tells the bank format from the content. */
export const BUILTIN_FILE_ENGINES = [
  'csv',
  'xlsx',
  'camt053',
  'camt054',
  'mt940',
  'mt942',
  'bai2',
  'statement',
] as const;
/** Every engine name a plug-in may not take: the built-ins and their aliases, and `sql` (a definition's "the system's own"). */
export const RESERVED_ENGINES: readonly string[] = [
  ...BUILTIN_SYSTEM_ENGINES,
  'mariadb',
  'postgresql',
  'sql',
  ...BUILTIN_FILE_ENGINES,
];

/** Re-batches a row stream into batches of at most `size`. */
async function* rowsToBatches(rows: AsyncIterable<SourceRow>, size: number): AsyncGenerator<ConnectorRow[]> {
  let batch: ConnectorRow[] = [];
  for await (const r of rows) {
    batch.push({ line: r.line, values: r.record });
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Numbers a query's rows 1, 2, ... across its batches (a row number is a query record's id). */
async function* numbered(batches: AsyncIterable<Record<string, string | null>[]>): AsyncGenerator<ConnectorRow[]> {
  let row = 0;
  for await (const b of batches) {
    const out = new Array<ConnectorRow>(b.length);
    for (let i = 0; i < b.length; i++) out[i] = { line: ++row, values: b[i] };
    yield out;
  }
}

function sqlOf(req: ConnectorRequest, dialect: 'postgres' | 'mysql'): string {
  if (req.query !== undefined) return req.query;
  if (req.table === undefined) throw new Error(`source ${req.source}: give either sql or table`);
  const quoted = req.table
    .split('.')
    .map((p) => (dialect === 'mysql' ? `\`${p}\`` : `"${p}"`))
    .join('.');
  return `SELECT * FROM ${quoted}`;
}

function pathOf(req: ConnectorRequest): string {
  if (req.path === undefined) throw new Error(`source ${req.source}: a file connector needs a path`);
  return req.path;
}

/**
 * The built-in connector of an engine, bound to the worker's systems (their pools are the registry's, closed with
 * it); undefined for an engine finflow does not read itself.
 */
export function builtinConnector(engine: string, systems: SystemRegistry): ConnectorFactory | undefined {
  const make =
    (open: Connector['open']): ConnectorFactory =>
    () => ({ open });
  switch (engine) {
    case 'postgres':
      return (target) => ({
        open: (req) =>
          numbered(
            postgresBatches(
              systems.postgres(target.system as string),
              { source: req.source, sql: sqlOf(req, 'postgres'), params: req.params as Record<string, ParamSpec> },
              { mode: req.options.mode as 'copy' | 'cursor' | undefined, batchSize: req.batchSize },
            ),
          ),
      });
    case 'mysql':
    case 'mariadb':
      return (target) => ({
        open: (req) =>
          numbered(
            mysqlBatches(
              systems.mysql(target.system as string),
              { source: req.source, sql: sqlOf(req, 'mysql'), params: req.params as Record<string, ParamSpec> },
              { batchSize: req.batchSize },
            ),
          ),
      });
    case 'csv':
      return make((req) => rowsToBatches(readCsv(pathOf(req), req.options as CsvOptions), req.batchSize));
    case 'xlsx':
      return make((req) => rowsToBatches(readXlsx(pathOf(req), req.options as XlsxOptions), req.batchSize));
    case 'camt053':
    case 'camt054':
    case 'mt940':
    case 'mt942':
    case 'bai2':
    case 'statement': {
      const format = engine === 'statement' ? undefined : (engine as StatementFormat);
      return make((req) => {
        const path = pathOf(req);
        const encoding = req.options.encoding as string | undefined;
        async function* files() {
          yield await parseStatementFile(path, format, { encoding });
        }
        return rowsToBatches(statementEntryRows(files()), req.batchSize);
      });
    }
    default:
      return undefined;
  }
}

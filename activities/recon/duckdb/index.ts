// One reconciliation of file sources in this process (the bench and tests), on the data plane chosen by an opt-in
// switch, FINFLOW_RECON_ENGINE=duckdb (default: typescript, today's path: the connectors stream each side,
// domain/recon normalises and reconciles). The DuckDB plane takes two CSV sources; anything it cannot take (another
// connector, a transformation that does not compile, files whose lines it cannot number) falls back to today's path,
// said in one log line. The reconciliation workflow's activities use the plane through activity.ts and plane.ts.
import { basename, isAbsolute, join } from 'node:path';
import {
  createNormaliser,
  reconcile,
  type NormalisedRecord,
  type ReconResult,
  type ReconciliationDefinition,
  type Side,
} from '../../../domain/recon';
import type { ConnectorLookup } from '../../../contracts/connector';
import type { SystemRegistry } from '../../systems';
import { isCsvSource, openSource, parseReconSource } from '../sources';
import { DuckDbFallback, reconcileCsvOnDuckDb, type CsvSideSource, type DuckDbPlaneStats } from './engine';

export { DuckDbFallback, reconcileCsvOnDuckDb, type CsvSideSource, type DuckDbPlaneStats } from './engine';

export type ReconEngine = 'typescript' | 'duckdb';

/** The engine FINFLOW_RECON_ENGINE names (typescript unless it says duckdb); anything else is refused. */
export function reconEngineFromEnv(env: NodeJS.ProcessEnv = process.env): ReconEngine {
  const v = env.FINFLOW_RECON_ENGINE?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'typescript') return 'typescript';
  if (v === 'duckdb') return 'duckdb';
  throw new Error(`FINFLOW_RECON_ENGINE must be typescript or duckdb, got ${JSON.stringify(env.FINFLOW_RECON_ENGINE)}`);
}

export interface ReconcileFilesContext {
  /** Relative paths of file sources resolve against it. */
  filesDir?: string;
  /** Database sources' systems (only today's path reads databases). */
  systems?: SystemRegistry;
  /** Plug-in connectors by engine name (only today's path reads through them). */
  connectors?: ConnectorLookup;
  asOf: string;
  period?: string;
  /** Default: reconEngineFromEnv(). */
  engine?: ReconEngine;
  threads?: number;
  log?: (line: string) => void;
}

export interface ReconcileFilesResult extends ReconResult {
  engine: ReconEngine;
  /** Why the DuckDB plane was asked for and not used. */
  fallback?: string;
  stats?: DuckDbPlaneStats;
}

const noSystems: SystemRegistry = new Proxy({} as SystemRegistry, {
  get: () => () => {
    throw new Error('this reconciliation reads a database: give ReconcileFilesContext.systems');
  },
});

/** Today's path in one partition: each side streamed through its connector and normalised, then domain/recon. */
export async function reconcileOnTypeScript(
  def: ReconciliationDefinition,
  ctx: ReconcileFilesContext,
): Promise<ReconResult> {
  const side = async (s: Side): Promise<NormalisedRecord[]> => {
    const opened = openSource(parseReconSource(def[s].source, s), {
      systems: ctx.systems ?? noSystems,
      connectors: ctx.connectors,
      filesDir: ctx.filesDir,
      asOf: ctx.asOf,
      period: ctx.period,
    });
    const normalise = createNormaliser(def, s, { source: opened.name });
    const out: NormalisedRecord[] = [];
    for await (const batch of opened.batches) for (const r of batch) out.push(normalise(r));
    return out;
  };
  const [a, b] = await Promise.all([side('a'), side('b')]);
  return reconcile(a, b, def);
}

function csvSide(def: ReconciliationDefinition, s: Side, filesDir: string | undefined): CsvSideSource {
  const src = parseReconSource(def[s].source, s);
  if (!isCsvSource(src)) throw new DuckDbFallback(`side ${s} reads ${src.connector}, not a CSV file`);
  const path = isAbsolute(src.path) || !filesDir ? src.path : join(filesDir, src.path);
  return {
    path,
    name: basename(path),
    delimiter: src.delimiter,
    encoding: src.encoding,
    header: src.header,
    quote: src.quote,
  };
}

/** Reconciles the definition's two sources on the chosen plane (see the head of this file). */
export async function reconcileFiles(
  def: ReconciliationDefinition,
  ctx: ReconcileFilesContext,
): Promise<ReconcileFilesResult> {
  const engine = ctx.engine ?? reconEngineFromEnv();
  if (engine === 'duckdb') {
    try {
      const sources = { a: csvSide(def, 'a', ctx.filesDir), b: csvSide(def, 'b', ctx.filesDir) };
      const { stats, ...result } = await reconcileCsvOnDuckDb(def, sources, { threads: ctx.threads });
      return { ...result, engine, stats };
    } catch (err) {
      if (!(err instanceof DuckDbFallback)) throw err;
      const log = ctx.log ?? ((line: string) => console.warn(line));
      log(`reconciliation ${def.id}: the DuckDB data plane falls back to the TypeScript one: ${err.message}`);
      return { ...(await reconcileOnTypeScript(def, ctx)), engine: 'typescript', fallback: err.message };
    }
  }
  return { ...(await reconcileOnTypeScript(def, ctx)), engine };
}

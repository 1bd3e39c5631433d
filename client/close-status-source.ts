// Where a close's status comes from (issue 16): the read model the close keeps in the result store's PostgreSQL
// (activities/close-status), which answers without waiting for the close's workflow task, else the `status` query
// (a close from before the read model, a worker without a result store, the store unreachable). Every answer says
// which path gave it, and for the read model its version and age, so a reader knows how fresh it is.
import type { WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { readCloseStatus } from '../activities/close-status/store';
import { resilientPool } from '../activities/pg-pool';
import { systemsFromEnv } from '../activities/systems';
import { statusQuery } from '../workflows/definitions';
import type { CloseStatus } from '../workflows/types';

/** auto: the read model, else the query; read-model: only the read model (an error when it has no row); query. */
export const STATUS_SOURCES = ['auto', 'read-model', 'query'] as const;
export type StatusSourceChoice = (typeof STATUS_SOURCES)[number];

export interface StatusAnswer {
  status: CloseStatus;
  /** Which path answered (`result`: the ended close's result, Execution.status()). */
  source: 'read-model' | 'query' | 'result';
  /** The read model's version (grows with every write of the close). */
  version?: number;
  /** When the read model's row was written (ISO) and how long ago, by the database's clock. */
  writtenAt?: string;
  ageMs?: number;
  /** Why the read model did not answer, when the query did in its place. */
  fallback?: string;
}

/** The result store's connection for reading status (system `results`), or undefined when none is configured. */
export function statusStoreUrl(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const c = systemsFromEnv(env).connection?.('results');
    return c?.engine === 'postgres' ? c.url : undefined;
  } catch {
    return undefined;
  }
}

/** A small pool for status reads that never keeps the process alive once idle, nor waits long for a dead store. */
export function statusPool(url: string): Pool {
  return resilientPool({
    connectionString: url,
    max: 2,
    idleTimeoutMillis: 2_000,
    allowExitOnIdle: true,
    connectionTimeoutMillis: 2_000,
    query_timeout: 5_000,
  });
}

const shared = new Map<string, Pool>();
/** One status pool per store URL for the process (the library's Executions share it). */
export function sharedStatusPool(env: NodeJS.ProcessEnv): Pool | undefined {
  const url = statusStoreUrl(env);
  if (!url) return undefined;
  let pool = shared.get(url);
  if (!pool) shared.set(url, (pool = statusPool(url)));
  return pool;
}

/** The close's status from the read model, or why it has none to give. */
export async function readModelStatus(
  workflowId: string,
  pool: Pool | undefined,
): Promise<StatusAnswer | { fallback: string }> {
  if (!pool) return { fallback: 'no result store configured (DATABASE_URL or FINFLOW_SYSTEM_RESULTS_URL)' };
  try {
    const got = await readCloseStatus(pool, workflowId);
    if ('missing' in got) return { fallback: got.missing };
    const { status, version, writtenAt, ageMs } = got.row;
    return { status, source: 'read-model', version, writtenAt, ageMs };
  } catch (err) {
    return { fallback: `the read model could not be read: ${(err as Error).message}` };
  }
}

/**
 * The close's status: from the read model when it has the close, else from the `status` query (saying why).
 * `source: 'read-model'` never falls back; `source: 'query'` never reads the store.
 */
export async function readStatus(
  handle: Pick<WorkflowHandle, 'workflowId' | 'query'>,
  pool: Pool | undefined,
  source: StatusSourceChoice = 'auto',
): Promise<StatusAnswer> {
  if (source === 'query') return { status: await handle.query(statusQuery), source: 'query' };
  const got = await readModelStatus(handle.workflowId, pool);
  if ('status' in got) return got;
  if (source === 'read-model') throw new Error(`no status from the read model: ${got.fallback}`);
  return { status: await handle.query(statusQuery), source: 'query', fallback: got.fallback };
}

/** One line saying which path answered and how fresh it is: `read model v42, written 0.3 s ago`. */
export function sourceLine(a: StatusAnswer): string {
  if (a.source === 'read-model')
    return `status from the read model v${a.version}, written ${((a.ageMs ?? 0) / 1000).toFixed(1)} s ago (${a.writtenAt})`;
  const path = a.source === 'result' ? "the close's result (it has ended)" : "the close's status query (live)";
  return `status from ${path}${a.fallback ? `: ${a.fallback}` : ''}`;
}

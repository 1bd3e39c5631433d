// The close writes its status read model through `publishCloseStatus`, a local activity (workflows/close/
// read-model.ts): it runs in the worker beside the close, its input never enters the history (only its small
// result, as one marker), and the close sends at most one at a time with what changed since the last one landed.
// The rows are in the result store's PostgreSQL (system `results`: FINFLOW_SYSTEM_RESULTS_URL, else DATABASE_URL);
// a worker without one answers not_configured and readers use the `status` query.
import type { Pool } from 'pg';
import { resilientPool } from '../pg-pool';
import { migrateResultStore } from '../result-store/schema';
import type { SystemRegistry } from '../systems';
import { writeCloseStatus, type CloseStatusWrite, type CloseStatusWriteResult } from './store';

export type { CloseStatusWrite, CloseStatusWriteResult } from './store';

export interface CloseStatusDeps {
  systems: SystemRegistry;
  /**
   * The read model's pool; default a small one of its own on the result store's database (system `results`): a
   * local activity holds the close's workflow task while it runs, so it must not queue behind the reconciliations'
   * bulk writes for a connection of the shared pool (bench:close saw a write wait 8 s under load).
   */
  closeStatusPool?: Pool;
}

export function createCloseStatusActivities(deps: CloseStatusDeps) {
  // Migrated on first use, again after a failure (the store was down when the worker started).
  let ready: Promise<Pool> | undefined;
  const pool = (): Promise<Pool> => {
    ready ??= (async () => {
      const p = deps.closeStatusPool ?? ownPool(deps.systems);
      await migrateResultStore(p);
      return p;
    })();
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };
  return {
    /** Writes one version of a close's status read model; a stale version changes nothing. */
    async publishCloseStatus(w: CloseStatusWrite): Promise<CloseStatusWriteResult> {
      let p: Pool;
      try {
        p = await pool();
      } catch (err) {
        const message = (err as Error).message;
        // No database named for the result store: nothing to write, said as such (not retried).
        if (/^no connection for system results/.test(message) || /is a mysql system/.test(message))
          return { written: false, reason: 'not_configured', message };
        throw err;
      }
      return writeCloseStatus(p, w);
    },
  };
}

function ownPool(systems: SystemRegistry): Pool {
  const c = systems.connection?.('results');
  if (!c) return systems.postgres('results');
  if (c.engine !== 'postgres') throw new Error(`system results is a ${c.engine} system, not PostgreSQL`);
  return resilientPool({ connectionString: c.url, max: 2, allowExitOnIdle: true, connectionTimeoutMillis: 1_000 });
}

export type CloseStatusActivities = ReturnType<typeof createCloseStatusActivities>;

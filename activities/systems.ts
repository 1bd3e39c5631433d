// The registry of source systems a worker can reach. Definitions and workflow payloads name a system; its
// connection (and password) lives only here, read from the worker's environment: secrets never enter history.
import { Pool } from 'pg';

export interface SystemRegistry {
  postgres(name: string): Pool;
  close(): Promise<void>;
}

/**
 * FINFLOW_SYSTEM_<NAME>_URL names a PostgreSQL URL per system (e.g. FINFLOW_SYSTEM_LEDGER_URL); systems without
 * one fall back to DATABASE_URL, the embedded default.
 */
export function systemsFromEnv(env: NodeJS.ProcessEnv = process.env): SystemRegistry {
  const pools = new Map<string, Pool>();
  return {
    postgres(name) {
      const url = env[`FINFLOW_SYSTEM_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`] ?? env.DATABASE_URL;
      if (!url)
        throw new Error(
          `no connection for system ${name}: set FINFLOW_SYSTEM_${name.toUpperCase()}_URL or DATABASE_URL`,
        );
      let pool = pools.get(url);
      if (!pool) {
        pool = new Pool({ connectionString: url, max: 4 });
        pools.set(url, pool);
      }
      return pool;
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end()));
      pools.clear();
    },
  };
}

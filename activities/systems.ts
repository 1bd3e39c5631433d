// The registry of source systems a worker can reach. Definitions and workflow payloads name a system; its
// connection (and password) lives only here, read from the worker's environment: secrets never enter history.
import type { Pool } from 'pg';
import { resilientPool } from './pg-pool';
import type { Pool as MysqlPool } from 'mysql2/promise';
import { createMysqlPool } from './connectors/mysql';

export type SystemEngine = 'postgres' | 'mysql';

export interface SystemRegistry {
  postgres(name: string): Pool;
  /** A MariaDB/MySQL system's pool (exact-number options, see connectors/mysql.ts). */
  mysql(name: string): MysqlPool;
  /**
   * The engine of a named system finflow reads itself; throws when the worker knows no connection for it, or when
   * its engine is one a plug-in connector reads (see engineName).
   */
  engine(name: string): SystemEngine;
  /**
   * The engine a named system is configured with, whatever reads it: `postgres`, `mysql`, or the engine of a
   * plug-in connector (`jsonl`, ...; contracts/connector.ts). Throws when the worker knows no connection for it.
   */
  engineName?(name: string): string;
  /**
   * The connection URL of a system a plug-in connector reads (handed to its factory, never to a payload or a log
   * line); undefined when the worker has none.
   */
  urlOf?(name: string): string | undefined;
  /** Systems configured by name (FINFLOW_SYSTEMS and FINFLOW_SYSTEM_<NAME>_URL), without the DATABASE_URL default. */
  names(): string[];
  /**
   * A system's engine and URL, for a worker thread of this process that opens its own connection (never for a
   * payload or a log line).
   */
  connection?(name: string): { engine: SystemEngine; url: string };
  /**
   * How long the system may stay unreachable before a reconciliation reading it gives up (a duration such as
   * "15m"): FINFLOW_SYSTEMS' retryWindow or FINFLOW_SYSTEM_<NAME>_RETRY_WINDOW; undefined when not set.
   */
  retryWindow?(name: string): string | undefined;
  close(): Promise<void>;
}

interface SystemConfig {
  /** postgres, mysql, or a plug-in connector's engine. */
  engine: string;
  url: string;
  retryWindow?: string;
}

function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function engineOfUrl(url: string): SystemEngine {
  return /^(mysql|mariadb):/i.test(url) ? 'mysql' : 'postgres';
}

const ALIASES: Record<string, SystemEngine> = { mariadb: 'mysql', postgresql: 'postgres' };

function builtinEngine(name: string, engine: string): SystemEngine {
  if (engine === 'postgres' || engine === 'mysql') return engine;
  throw new Error(`system ${name} is a ${engine} system: a plug-in connector reads it, not finflow's SQL connectors`);
}

/**
 * FINFLOW_SYSTEMS holds JSON `{ "<name>": { "engine": "postgres" | "mysql", "url": "..." } }` (the engine may be
 * left out and is then read from the URL scheme; `mariadb` is `mysql`; any other lower-case engine name is a
 * plug-in connector's, which the worker must be given: platform/connectors.ts); FINFLOW_SYSTEM_<NAME>_URL names one system's URL; systems
 * without either fall back to DATABASE_URL (PostgreSQL, the embedded default).
 */
export function systemsFromEnv(env: NodeJS.ProcessEnv = process.env): SystemRegistry {
  const configured = new Map<string, SystemConfig>();
  if (env.FINFLOW_SYSTEMS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.FINFLOW_SYSTEMS);
    } catch (err) {
      throw new Error(`FINFLOW_SYSTEMS is not JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('FINFLOW_SYSTEMS must be a JSON object {name: {engine, url}}');
    for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) {
      const c = v as Partial<SystemConfig> | null;
      if (!c || typeof c.url !== 'string' || !c.url) throw new Error(`FINFLOW_SYSTEMS.${name} needs a url`);
      const given = c.engine ?? engineOfUrl(c.url);
      if (typeof given !== 'string' || !/^[a-z][a-z0-9_]*$/.test(given))
        throw new Error(
          `FINFLOW_SYSTEMS.${name}.engine must be postgres, mysql or a plug-in connector's engine name, not ${JSON.stringify(given)}`,
        );
      const engine = ALIASES[given] ?? given;
      if (c.retryWindow !== undefined && typeof c.retryWindow !== 'string')
        throw new Error(`FINFLOW_SYSTEMS.${name}.retryWindow must be a duration such as "15m"`);
      configured.set(name, { engine, url: c.url, ...(c.retryWindow ? { retryWindow: c.retryWindow } : {}) });
    }
  }
  const lookup = (name: string): SystemConfig | undefined => {
    const own = configured.get(name);
    if (own) return own;
    const url = env[`FINFLOW_SYSTEM_${envName(name)}_URL`];
    if (url) return { engine: engineOfUrl(url), url };
    if (env.DATABASE_URL) return { engine: 'postgres', url: env.DATABASE_URL };
    return undefined;
  };
  const resolve = (name: string): SystemConfig => {
    const c = lookup(name);
    if (!c)
      throw new Error(
        `no connection for system ${name}: set FINFLOW_SYSTEMS, FINFLOW_SYSTEM_${envName(name)}_URL or DATABASE_URL`,
      );
    return c;
  };
  const pools = new Map<string, Pool>();
  const mysqlPools = new Map<string, MysqlPool>();
  return {
    postgres(name) {
      const { engine, url } = resolve(name);
      if (engine !== 'postgres') throw new Error(`system ${name} is a ${engine} system, not PostgreSQL`);
      let pool = pools.get(url);
      if (!pool) {
        // A dropped idle connection must not crash the worker (pg-pool.ts).
        pool = resilientPool({ connectionString: url, max: 4 });
        pools.set(url, pool);
      }
      return pool;
    },
    mysql(name) {
      const { engine, url } = resolve(name);
      if (engine !== 'mysql') throw new Error(`system ${name} is a ${engine} system, not MariaDB/MySQL`);
      let pool = mysqlPools.get(url);
      if (!pool) {
        pool = createMysqlPool(url);
        mysqlPools.set(url, pool);
      }
      return pool;
    },
    engine(name) {
      return builtinEngine(name, resolve(name).engine);
    },
    engineName(name) {
      return resolve(name).engine;
    },
    urlOf(name) {
      return lookup(name)?.url;
    },
    connection(name) {
      const { engine, url } = resolve(name);
      return { engine: builtinEngine(name, engine), url };
    },
    retryWindow(name) {
      return configured.get(name)?.retryWindow ?? env[`FINFLOW_SYSTEM_${envName(name)}_RETRY_WINDOW`];
    },
    names() {
      const out = new Set(configured.keys());
      for (const k of Object.keys(env)) {
        const m = /^FINFLOW_SYSTEM_([A-Z0-9_]+)_URL$/.exec(k);
        if (m && env[k]) out.add(m[1].toLowerCase());
      }
      return [...out].sort();
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end()));
      await Promise.all([...mysqlPools.values()].map((p) => p.end()));
      pools.clear();
      mysqlPools.clear();
    },
  };
}

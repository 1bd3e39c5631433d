// Engine.local()'s embedded defaults (issue 16), for scripts and tests: PostgreSQL (embedded, unless a database URL
// is given), the Temporal CLI dev server and an in-process worker, started with the same functions the demo uses
// (scripts/lib, workers/main.ts). An in-process worker is what Engine.local() is, so this one module of client/
// imports the worker's entry point (eslint.config.mjs names the exception); the rest of client/ never does. Loaded
// only when Engine.local() is called, so the CLI and a remote Engine do not load the worker.
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ApprovalActivityConfig } from '../../activities/approval';
import type { TemporalConfig } from '../../platform/config';
import { startDevServer } from '../../scripts/lib/dev-server';
import { createDatabase, freePort } from '../../scripts/lib/pg-admin';
import { startWorker } from '../../workers/main';

export interface LocalDefaultsOptions {
  /** A database for finflow's own tables (results, outbox, ledger); default: an embedded PostgreSQL started here. */
  databaseUrl?: string;
  /** Default 'finflow-local'. The close and its reconciliations run on it. */
  taskQueue?: string;
  /** The worker's environment (systems' connections, key files); DATABASE_URL is set to the database above. */
  workerEnv: NodeJS.ProcessEnv;
  /** The worker's approval settings (keys, user key directory); default from workerEnv as a worker reads them. */
  approval?: ApprovalActivityConfig;
  /** A prebuilt workflow bundle (tests share one); default: bundled here. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export interface LocalDefaults {
  temporal: TemporalConfig;
  databaseUrl: string;
  uiUrl: string;
  /** Stops what was started, the worker first and the database last. */
  stop(): Promise<void>;
}

export async function startLocalDefaults(o: LocalDefaultsOptions): Promise<LocalDefaults> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      const { startEmbeddedPostgres } = await import('../../scripts/lib/postgres');
      const pg = await startEmbeddedPostgres();
      stops.push(() => pg.stop());
      databaseUrl = await createDatabase(pg.adminUrl, 'finflow_local');
    }
    const server = await startDevServer({ port: await freePort(), uiPort: await freePort() });
    stops.push(() => server.stop());
    const taskQueue = o.taskQueue ?? 'finflow-local';
    const temporal: TemporalConfig = {
      address: server.address,
      namespace: 'default',
      taskQueue,
      reconciliationTaskQueue: taskQueue,
    };
    const worker = await startWorker({
      config: temporal,
      keyProvider: null,
      env: { ...o.workerEnv, DATABASE_URL: databaseUrl },
      ...(o.approval ? { approval: o.approval } : {}),
      ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : {}),
    });
    stops.push(() => worker.stop());
    return { temporal, databaseUrl, uiUrl: server.uiUrl, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

// Engine.local()'s embedded defaults (issue 16), for scripts and tests: PostgreSQL (embedded, unless a database URL
// is given), the Temporal CLI dev server and an in-process worker, started with the same functions the demo uses
// (scripts/lib, workers/main.ts). client/ never imports workers/: the package's entry point (index.ts) registers
// this module with platform/local-runtime.ts as a lazy loader, so it is loaded only when Engine.local() is called,
// and the CLI and a remote Engine do not load the worker.
import type { LocalDefaults, LocalDefaultsOptions } from '../platform/local-runtime';
import type { TemporalConfig } from '../platform/config';
import { startDevServer } from '../scripts/lib/dev-server';
import { createDatabase, freePort } from '../scripts/lib/pg-admin';
import { startWorker } from './main';

export async function startLocalDefaults(o: LocalDefaultsOptions): Promise<LocalDefaults> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      const { startEmbeddedPostgres } = await import('../scripts/lib/postgres');
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
      ...(o.connectors ? { connectors: o.connectors } : {}),
    });
    stops.push(() => worker.stop());
    return { temporal, databaseUrl, uiUrl: server.uiUrl, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

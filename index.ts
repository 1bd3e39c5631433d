// finflow's package entry point: `import * as finflow from 'finflow'` (issue 16). The library is client/library;
// this module is the composition root that also registers the in-process runtime Engine.local() starts
// (workers/local.ts, loaded lazily), so client/ itself never imports workers/ (issue 19's layers), and that hands
// out the worker's own start (startWorker, also loaded lazily) for a project that runs its workers with plug-in
// connectors.
import type { RunningWorker, startWorker as StartWorker } from './workers/main';
import { registerLocalRuntime } from './platform/local-runtime';

registerLocalRuntime(() => import('./workers/local'));

export * from './client/library';
export type { RunningWorker };

/**
 * Starts a finflow worker in this process (as `npm run worker` does): the close's and the reconciliations' task
 * queues, finflow's activities, and any plug-in connectors (`startWorker({ connectors })`, with a
 * ConnectorRegistry). Loads the worker (and @temporalio/worker) on first call only.
 */
export async function startWorker(...args: Parameters<typeof StartWorker>): Promise<RunningWorker> {
  const worker = await import('./workers/main');
  return worker.startWorker(...args);
}

// The finflow worker: runs the close and reconciliation workflows and their activities on one task queue.
// `npm run worker` with TEMPORAL_ADDRESS / DATABASE_URL (or FINFLOW_SYSTEM_<NAME>_URL) in the environment.
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities';
import { systemsFromEnv, type SystemRegistry } from '../activities/systems';
import { temporalConfig, type TemporalConfig } from './config';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  opts: {
    config?: TemporalConfig;
    connection?: NativeConnection;
    systems?: SystemRegistry;
    workflowBundle?: WorkflowBundleWithSourceMap;
  } = {},
): Promise<RunningWorker> {
  const config = opts.config ?? temporalConfig();
  const connection = opts.connection ?? (await NativeConnection.connect({ address: config.address }));
  const systems = opts.systems ?? systemsFromEnv();
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({ systems }),
  });
  const done = worker.run().finally(async () => {
    await systems.close();
    if (!opts.connection) await connection.close();
  });
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function main(): Promise<void> {
  const config = temporalConfig();
  const running = await startWorker({ config });
  console.log(`finflow worker polling ${config.taskQueue} on ${config.address} (namespace ${config.namespace})`);
  await running.done;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

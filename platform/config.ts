// Where a worker or client finds Temporal. Defaults are the local dev server of the demo.
import { TASK_QUEUE } from '../domain/ids';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /**
   * Task queue of the reconciliation children of closes started by `finflow close start|schedule`
   * (FINFLOW_RECON_TASK_QUEUE; without it `<taskQueue>-reconciliation`, see reconciliationTaskQueueOf).
   */
  reconciliationTaskQueue?: string;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const recon = env.FINFLOW_RECON_TASK_QUEUE?.trim();
  return {
    address: env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.FINFLOW_TASK_QUEUE ?? TASK_QUEUE,
    ...(recon ? { reconciliationTaskQueue: recon } : {}),
  };
}

/**
 * Where a close's reconciliation children run: the configured queue, or `<taskQueue>-reconciliation`. The worker
 * (workers/main.ts) polls it with a second Worker of its own, and each Worker has its own workflow thread: a burst
 * of reconciliation children then does not hold up the close's own workflow tasks, nor the `status` query that
 * waits for them. Configure it equal to the task queue to run everything on one queue (and one thread).
 */
export function reconciliationTaskQueueOf(
  config: Pick<TemporalConfig, 'taskQueue' | 'reconciliationTaskQueue'>,
): string {
  return config.reconciliationTaskQueue ?? `${config.taskQueue}-reconciliation`;
}

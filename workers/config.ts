// Where a worker or client finds Temporal. Defaults are the local dev server of the demo.
import { TASK_QUEUE } from '../domain/ids';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  return {
    address: env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.FINFLOW_TASK_QUEUE ?? TASK_QUEUE,
  };
}

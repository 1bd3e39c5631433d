// The status client of bench:close, in a process of its own as the CLI (`finflow close watch`) or the Web UI is:
// it does not share an event loop with the worker's activities, codec and workflow threads. Forked by bench/close.ts
// with TEMPORAL_ADDRESS, FINFLOW_TASK_QUEUE and (with the codec) FINFLOW_KEYS in its environment, it connects as the
// CLI does (client/connect.ts) and takes orders over IPC:
//   {probe: 'working', workflowId, signOff}  query `status` one after the other until the sign-off task is running;
//                                            answer {latencies, failed, biggest, signOffStartedAt}
//   {probe: 'idle', workflowId, times}       query `status` that many times; answer {latencies}
//   {probe: 'stop'}                          close the connection and exit
import { performance } from 'node:perf_hooks';
import { connectClient } from '../../client/connect';
import { statusQuery } from '../../workflows/definitions';

export type ProberOrder =
  | { probe: 'working'; workflowId: string; signOff: string }
  | { probe: 'idle'; workflowId: string; times: number }
  | { probe: 'stop' };

export interface WorkingAnswer {
  /** [ms since the order, latency ms] of each answered query. */
  latencies: [number, number][];
  failed: number;
  /** Size of the largest answer, as JSON characters. */
  biggest: number;
  signOffStartedAt?: string;
  error?: string;
}

async function main(): Promise<void> {
  const { client, close } = await connectClient();
  const send = (m: unknown) => new Promise<void>((r) => process.send!(m, () => r()));
  process.on('message', (order: ProberOrder) => {
    void (async () => {
      if (order.probe === 'stop') {
        await close();
        process.exit(0);
      }
      const handle = client.workflow.getHandle(order.workflowId);
      if (order.probe === 'idle') {
        const latencies: number[] = [];
        for (let i = 0; i < order.times; i++) {
          const q0 = performance.now();
          await handle.query(statusQuery);
          latencies.push(performance.now() - q0);
        }
        await send({ latencies });
        return;
      }
      const answer: WorkingAnswer = { latencies: [], failed: 0, biggest: 0 };
      const t0 = performance.now();
      // Until the sign-off runs (every automated task done), or the close ends without it.
      for (;;) {
        const q0 = performance.now();
        try {
          const s = await handle.query(statusQuery);
          answer.latencies.push([q0 - t0, performance.now() - q0]);
          answer.biggest = Math.max(answer.biggest, JSON.stringify(s).length);
          const signOff = s.tasks.find((t) => t.id === order.signOff);
          if (signOff?.state === 'running') {
            answer.signOffStartedAt = signOff.startedAt;
            break;
          }
          if (s.state !== 'running') {
            answer.error = `the close is ${s.state} and its sign-off ${signOff?.state ?? 'missing'}`;
            break;
          }
        } catch {
          answer.failed++;
          if (answer.failed > 1000) {
            answer.error = 'more than 1000 status queries failed';
            break;
          }
        }
      }
      await send(answer);
    })().catch(async (err: unknown) => {
      await send({ error: String(err) });
    });
  });
  await send({ ready: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

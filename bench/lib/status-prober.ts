// The status client of bench:close, in a process of its own as the CLI (`finflow close watch`) or the Web UI is:
// it does not share an event loop with the worker's activities, codec and workflow threads. Forked by bench/close.ts
// with TEMPORAL_ADDRESS, FINFLOW_TASK_QUEUE and (with the codec) FINFLOW_KEYS in its environment, it connects as the
// CLI does (client/connect.ts) and takes orders over IPC:
//   {probe: 'working', workflowId, signOff}  query `status` one after the other until the sign-off task is running;
//                                            answer {latencies, failed, biggest, signOffStartedAt, readModel}
//   {probe: 'idle', workflowId, times}       query `status` that many times; answer {latencies, readModel}
// With DATABASE_URL in its environment, each round also reads the close's status read model (issue 16) as
// `finflow close status` does (client/close-status-source.ts), timed on its own: read model, then query.
//   {probe: 'stop'}                          close the connection and exit
import { performance } from 'node:perf_hooks';
import { readModelStatus, statusPool } from '../../client/close-status-source';
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
  readModel: ReadModelProbe;
}

/** The read-model path's look at the close: latencies, fallbacks (no row yet) and how fresh the rows were. */
export interface ReadModelProbe {
  latencies: number[];
  /** Reads that found no usable row (the path would have fallen back to the query), with the first reason. */
  fallbacks: number;
  firstFallback?: string;
  /** Age of the row when read (ms, the database's clock): p50/p99 of these say how fresh the answers were. */
  ages: number[];
  lastVersion: number;
}

async function main(): Promise<void> {
  const { client, close } = await connectClient();
  const pool = process.env.DATABASE_URL ? statusPool(process.env.DATABASE_URL) : undefined;
  const readModel = async (workflowId: string, into: ReadModelProbe) => {
    if (!pool) return;
    const q0 = performance.now();
    const got = await readModelStatus(workflowId, pool);
    const ms = performance.now() - q0;
    if ('status' in got) {
      into.latencies.push(ms);
      into.ages.push(got.ageMs ?? 0);
      into.lastVersion = got.version ?? 0;
    } else {
      into.fallbacks++;
      into.firstFallback ??= got.fallback;
    }
  };
  const probe = (): ReadModelProbe => ({ latencies: [], fallbacks: 0, ages: [], lastVersion: 0 });
  const send = (m: unknown) => new Promise<void>((r) => process.send!(m, () => r()));
  process.on('message', (order: ProberOrder) => {
    void (async () => {
      if (order.probe === 'stop') {
        await pool?.end();
        await close();
        process.exit(0);
      }
      const handle = client.workflow.getHandle(order.workflowId);
      if (order.probe === 'idle') {
        const latencies: number[] = [];
        const rm = probe();
        for (let i = 0; i < order.times; i++) {
          await readModel(order.workflowId, rm);
          const q0 = performance.now();
          await handle.query(statusQuery);
          latencies.push(performance.now() - q0);
        }
        await send({ latencies, readModel: rm });
        return;
      }
      const answer: WorkingAnswer = { latencies: [], failed: 0, biggest: 0, readModel: probe() };
      const t0 = performance.now();
      // Until the sign-off runs (every automated task done), or the close ends without it.
      for (;;) {
        await readModel(order.workflowId, answer.readModel);
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

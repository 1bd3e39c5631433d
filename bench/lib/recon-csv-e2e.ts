// bench:recon --mode csv, end to end (issue 20): the two CSV files reconciled by reconciliationWorkflow on the
// Temporal dev server with an in-process worker, the result store on embedded PostgreSQL and the six reports
// written, on the engine asked for (the definition's `engine`). Timed from the workflow's start to its result;
// the servers' start and the workflow bundle are not in the figure. Run in its own process by bench/recon-csv.ts.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createResultStore } from '../../activities/result-store';
import { systemsFromEnv } from '../../activities/systems';
import { CATEGORIES } from '../../domain/recon';
import { planScenario, plantedKeys, plantedTruth } from '../../examples/monthly-close/generator';
import { createDatabase, freePort } from '../../scripts/lib/pg-admin';
import { startDevServer } from '../../scripts/lib/dev-server';
import { startEmbeddedPostgres } from '../../scripts/lib/postgres';
import type { ReconciliationInput, ReconciliationSummary } from '../../contracts';
import type { reconciliationWorkflow } from '../../workflows/reconciliation';
import { normalisingCsvDefinition } from './recon-csv';

type Ts = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
const ms = (t: Ts) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0);

/** First scheduled to last completed per activity type, from the run's history (wall time, not summed). */
function phasesOf(history: temporal.api.history.v1.IHistory): Record<string, number> {
  const scheduled = new Map<string, { type: string; at: number }>();
  const span = new Map<string, { from: number; to: number; n: number }>();
  for (const e of history.events ?? []) {
    const at = ms(e.eventTime as Ts);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at });
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const from = scheduled.get(String(c.scheduledEventId));
      if (!from) continue;
      const x = span.get(from.type) ?? { from: from.at, to: at, n: 0 };
      span.set(from.type, { from: Math.min(x.from, from.at), to: Math.max(x.to, at), n: x.n + 1 });
    }
  }
  return Object.fromEntries([...span].map(([type, x]) => [`${type} x${x.n}`, x.to - x.from]));
}

export async function e2eChild(engine: 'typescript' | 'duckdb', records: number, seed: number, dir: string) {
  // The DuckDB plane's steps printed to stderr (activities/recon/duckdb/plane.ts), shown by the bench.
  process.env.FINFLOW_RECON_PROFILE ??= '1';
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const [pg, server, bundle] = await Promise.all([
    startEmbeddedPostgres(),
    startDevServer({ port: await freePort(), uiPort: await freePort() }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') }),
  ]);
  const work = mkdtempSync(join(tmpdir(), 'finflow-bench-csv-e2e-'));
  try {
    const resultsUrl = await createDatabase(pg.adminUrl, 'finflow_bench_csv_results');
    const systems = systemsFromEnv({
      FINFLOW_SYSTEMS: JSON.stringify({ results: { engine: 'postgres', url: resultsUrl } }),
    });
    const pool = new Pool({ connectionString: resultsUrl, max: 2 });
    const store = createResultStore({ pool });
    const connection = await Connection.connect({ address: server.address });
    const workerConnection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection });
    const taskQueue = `bench-csv-e2e-${process.pid}`;
    const reportsDir = join(work, 'reports');
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      activities: createActivities({ systems, recon: { workDir: join(work, 'spill'), reportsDir } }),
    });
    const running = worker.run();
    const plan = planScenario({ records, seed });
    const definition = { ...normalisingCsvDefinition({ gl: join(dir, 'gl.csv'), erp: join(dir, 'erp.csv') }), engine };
    const input: ReconciliationInput = { company: 'BENCH', period: '2026-10', reconId: 'gl-vs-erp-csv', definition };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let summary: ReconciliationSummary;
    let history: temporal.api.history.v1.IHistory;
    try {
      const handle = await client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
        taskQueue,
        workflowId: `recon:BENCH:2026-10:csv-${engine}:${records}:${process.pid}`,
        args: [input],
      });
      summary = await handle.result();
      history = await handle.fetchHistory();
    } finally {
      worker.shutdown();
      await running;
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const runId = summary.runId as string;
    const run = (await store.getRun(runId))?.summary as { engine?: string; engineReason?: string } | undefined;
    const truth = plantedTruth(plan);
    const keys = plantedKeys(plan);
    const found = new Map<string, Set<string>>();
    for await (const batch of store.streamExceptions(runId, { batchSize: 10_000 }))
      for (const e of batch) (found.get(e.category) ?? found.set(e.category, new Set()).get(e.category))!.add(e.key);
    const matchFiles = (() => {
      try {
        return readdirSync(join(reportsDir, 'matches'), { recursive: true }).length;
      } catch {
        return 0;
      }
    })();
    const out = {
      engine: `${engine}-e2e`,
      used: `${run?.engine ?? '?'}-e2e`,
      fallback: run?.engine === engine ? undefined : run?.engineReason,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      phases: { ...phasesOf(history), [`partitions (${summary.partitions}), match files ${matchFiles}`]: 0 },
      categories: CATEGORIES.map((c) => {
        const set = found.get(c) ?? new Set<string>();
        return {
          category: c,
          planted: truth.categories[c],
          found: summary.perCategory?.[c] ?? 0,
          sameKeys: set.size === keys[c].length && keys[c].every((k) => set.has(k)),
        };
      }),
      totalsOk:
        summary.a.records === truth.gl.records &&
        summary.b.records === truth.erp.records &&
        summary.a.amount === truth.gl.amount &&
        summary.b.amount === truth.erp.amount,
      matched: summary.matches ?? 0,
      plantedMatched: truth.matched.exact + truth.matched.accepted,
    };
    await workerConnection.close();
    await connection.close();
    await systems.close();
    await pool.end();
    console.log(JSON.stringify(out));
  } finally {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
    await pg.stop();
  }
}

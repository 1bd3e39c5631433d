// npm run bench:recon: the reconciliation engine end to end at millions of records, against planted truth.
//  1. Generates N GL journal lines in PostgreSQL and N ERP postings in MariaDB (examples/monthly-close/generator.ts)
//     with discrepancies of every category planted.
//  2. Runs reconciliationWorkflow (the `definition` pipeline: extract both sides, hash partitions, result store,
//     reports) on the Temporal dev server with an in-process worker; prints wall time, rows/s, peak RSS of this
//     process (worker + client; sampled every 50 ms) and found-vs-planted per category, checked key by key.
//  3. datacompy reads the same two databases with the same SELECTs, with pandas (read_sql) and with polars
//     (read_database_uri), and compares them (PyPI, in its own virtualenv installed by
//     scripts/datacompy/bench-venv.sh; scripts/datacompy/compare_db.py), timed in the same run; prints the ratios.
// Targets (issues 3 and 20): 1M vs 1M under 20 s end to end, >= 3x faster than datacompy-pandas reading the same
// databases (and beside datacompy-polars), every planted discrepancy found and rightly categorised, memory flat as
// records grow (--records 1000000,5000000 runs both sizes in one process).
//
// --mode csv: two CSV exports that need normalising, finflow's TypeScript and DuckDB data planes against datacompy
// on pandas and polars (bench/recon-csv.ts). Default --mode db: what follows.
//   npm run bench:recon -- [--records 1000000[,5000000]] [--seed 20261031] [--partitions N] [--parallel N]
//                          [--skip-datacompy] [--keep] [--encrypted] [--json <file>] [--skip-match-store (diagnostic)]
// DATABASE_URL / MARIADB_URL, when set, are used instead of the embedded PostgreSQL and a private MariaDB.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { PgAccessLog } from '../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../activities/security/envelope';
import { generateMasterKey, KeyRing } from '../activities/security/key-ring';
import { createDataConverter, FAILURE_CONVERTER_PATH } from '../platform/data-converter';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createMysqlPool } from '../activities/connectors/mysql';
import { envelopeSealer } from '../activities/recon';
import { createResultStore, type ResultStore } from '../activities/result-store';
import { systemsFromEnv } from '../activities/systems';
import { CATEGORIES, type Category } from '../domain/recon';
import {
  generateScenario,
  glVsErpDefinition,
  plantedKeys,
  scenarioSql,
  TOLERANCE_CENTS,
  type GeneratedScenario,
} from '../examples/monthly-close/generator';
import { createMariaDatabase, startMariaDb } from '../scripts/lib/mariadb';
import { createDatabase, freePort } from '../scripts/lib/pg-admin';
import { startDevServer } from '../scripts/lib/dev-server';
import { startEmbeddedPostgres } from '../scripts/lib/postgres';
import type { reconciliationWorkflow } from '../workflows/reconciliation';
import type { ReconciliationInput, ReconciliationSummary } from '../contracts';
import { csvBench } from './recon-csv';

function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
function argInt(name: string, fallback?: number): number | undefined {
  const raw = argText(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} must be a positive whole number, got ${raw}`);
  return v;
}
const SIZES = (argText('records') ?? '1000000').split(',').map((s) => {
  const v = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(v) || v < 1000) throw new Error(`--records takes whole numbers >= 1000, got ${s}`);
  return v;
});
const SEED = argInt('seed', 20261031)!;
const PARTITIONS = argInt('partitions');
// Partitions reconciled at once; default: the workflow's own.
const PARALLEL = argInt('parallel');
const SKIP_DATACOMPY = process.argv.includes('--skip-datacompy');
const KEEP = process.argv.includes('--keep');
// Diagnostic only: matched pairs are counted but not written to the result store, to show what storing every
// match costs. Exceptions are still stored (the key-by-key check reads them). Printed in the figures when on.
const SKIP_MATCH_STORE = process.argv.includes('--skip-match-store');
/**
 * Encryption on, as a worker with keys runs it (a generated master key): payloads through the codec on worker and
 * client, and the extracts (spill files) sealed with the run's data key, kept in the results database.
 */
const ENCRYPTED = process.argv.includes('--encrypted');
const KEYS = ENCRYPTED ? new KeyRing([generateMasterKey('bench-recon-1')], 'bench-recon-1') : undefined;
const dataConverter = KEYS ? createDataConverter(KEYS) : undefined;
/** --json <file>: the figures of each size, for bench:security's on/off comparison. */
const JSON_OUT = argText('json');
const ROOT = resolve(__dirname, '..');

// The machine may be shared: the load average says how much else was running.
const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const int = (n: number) => n.toLocaleString('en-US');

/** The result store with match writes counted and dropped (--skip-match-store). */
function withoutMatches(store: ResultStore): ResultStore {
  return {
    ...store,
    async writeMatches(_runId, rows) {
      let n = 0;
      for await (const _ of rows) n++;
      return { rows: n, changed: 0 };
    },
  };
}

interface Sample {
  at: number;
  rss: number;
  heap: number;
}

/** Peak RSS and heap of this process while `run` runs, sampled every 50 ms. */
async function sampled<T>(run: () => Promise<T>): Promise<{
  value: T;
  ms: number;
  cpuMs: number;
  rss0: number;
  peakRss: number;
  peakHeap: number;
  samples: Sample[];
}> {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0;
  let peakHeap = 0;
  const samples: Sample[] = [];
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    // Epoch milliseconds, to line samples up with the workflow history's event times.
    samples.push({ at: performance.timeOrigin + performance.now(), rss: m.rss, heap: m.heapUsed });
  };
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  // CPU of this whole process (worker, its extraction and matching threads, client): steadier than wall time on
  // a shared machine, though the databases and the Temporal server are other processes.
  const c0 = process.cpuUsage();
  try {
    const value = await run();
    sample();
    const cpu = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000, rss0, peakRss, peakHeap, samples };
  } finally {
    clearInterval(timer);
  }
}

interface DatacompyResult {
  lib: 'pandas' | 'polars';
  version: string;
  datacompy: string;
  rows_gl: number;
  rows_erp: number;
  only_in_gl: number;
  only_in_erp: number;
  mismatched_rows: number;
  read_gl_s: number;
  read_erp_s: number;
  normalise_s: number;
  compare_s: number;
  extract_s: number;
  total_s: number;
  max_rss_mb: number;
}

function datacompyPython(): string {
  const out = execFileSync('bash', [join(ROOT, 'scripts/datacompy/bench-venv.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!;
}

/** datacompy on pandas or polars, reading the scenario's tables from the same PostgreSQL and MariaDB. */
async function runDatacompy(
  python: string,
  lib: 'pandas' | 'polars',
  urls: { gl: string; erp: string },
): Promise<{ result: DatacompyResult; ms: number }> {
  const sql = scenarioSql();
  const t0 = performance.now();
  const child = spawn(
    python,
    [
      join(ROOT, 'scripts/datacompy/compare_db.py'),
      lib,
      urls.gl,
      urls.erp,
      sql.gl,
      sql.erp,
      (TOLERANCE_CENTS / 100).toFixed(2),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`datacompy (${lib}) exited ${code}: ${stderr.slice(-2000)}`);
  return { result: JSON.parse(stdout.trim().split('\n').pop()!) as DatacompyResult, ms };
}

/** Where the workflow's time went, from its history: each activity from scheduled to completed. */
function phases(history: temporal.api.history.v1.IHistory, samples: Sample[]): string {
  const at = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) =>
    Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  const events = history.events ?? [];
  const scheduled = new Map<number, { type: string; at: number }>();
  const spans = new Map<string, { first: number; last: number; each: number[] }>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(Number(e.eventId), { type: s.activityType?.name ?? '?', at: at(e.eventTime) });
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const from = scheduled.get(Number(done.scheduledEventId));
      if (!from) continue;
      const span = spans.get(from.type) ?? { first: Infinity, last: 0, each: [] };
      span.first = Math.min(span.first, from.at);
      span.last = Math.max(span.last, at(e.eventTime));
      span.each.push(at(e.eventTime) - from.at);
      spans.set(from.type, span);
    }
  }
  const start = events.length ? at(events[0].eventTime) : 0;
  const end = events.length ? at(events[events.length - 1].eventTime) : 0;
  const parts = [...spans.entries()].map(([type, s]) => {
    const during = samples.filter((m) => m.at >= s.first && m.at <= s.last);
    const peak = during.reduce((p, m) => Math.max(p, m.rss), 0);
    const heap = during.reduce((p, m) => Math.max(p, m.heap), 0);
    return (
      `${type} x${s.each.length} ${secs(s.last - s.first)}` +
      (during.length ? ` [peak RSS ${mb(peak)}, heap ${mb(heap)}]` : '') +
      (s.each.length > 1 ? ` (each ${s.each.map((ms) => (ms / 1000).toFixed(1)).join('/')} s)` : '')
    );
  });
  return `phases (history): ${parts.join('; ')}; workflow start to end ${secs(end - start)}`;
}

interface SizeResult {
  records: number;
  wallMs: number;
  /** CPU (user + system) of the bench process, all threads, during the workflow. */
  cpuMs: number;
  rowsPerSec: number;
  rssGrowth: number;
  peakRss: number;
  peakHeap: number;
  allFound: boolean;
  /** datacompy with pandas, reading the same databases. */
  datacompyMs?: number;
  datacompyRss?: number;
  /** datacompy with polars, reading the same databases. */
  polarsMs?: number;
  polarsRss?: number;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  console.log(
    `bench:recon on ${cpus().length} vCPU (${cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}; ` +
      `sizes ${SIZES.map(int).join(', ')} records per side; seed ${SEED}; encryption (payloads + extracts at rest) ${ENCRYPTED ? 'ON' : 'off'}; ${load()}`,
  );
  let python: string | undefined;
  if (!SKIP_DATACOMPY) {
    try {
      python = datacompyPython();
    } catch (err) {
      // The engine's figures stand on their own; the comparison needs python3 and PyPI (or the cached virtualenv).
      console.log(
        `datacompy comparison skipped: its virtualenv could not be set up (${(err as Error).message.split('\n')[0]})`,
      );
    }
  }

  const t = performance.now();
  const [pgServer, maria, server, bundle] = await Promise.all([
    process.env.DATABASE_URL ? undefined : startEmbeddedPostgres(),
    process.env.MARIADB_URL ? undefined : startMariaDb({ bufferPoolMb: 1024 }),
    startDevServer({ port: await freePort(), uiPort: await freePort() }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: new DefaultLogger('WARN'),
      ...(ENCRYPTED ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
    }),
  ]);
  console.log(
    `servers up (PostgreSQL, MariaDB, Temporal dev server) and workflows bundled in ${secs(performance.now() - t)}`,
  );
  const work = mkdtempSync(join(tmpdir(), 'finflow-bench-recon-'));
  const results: SizeResult[] = [];
  try {
    const glUrl = await createDatabase(process.env.DATABASE_URL ?? pgServer!.adminUrl, 'finflow_bench_recon_gl');
    const resultsUrl = await createDatabase(
      process.env.DATABASE_URL ?? pgServer!.adminUrl,
      'finflow_bench_recon_results',
    );
    const erpUrl = await createMariaDatabase(process.env.MARIADB_URL ?? maria!.adminUrl, 'finflow_bench_recon_erp');
    const glPool = new Pool({ connectionString: glUrl, max: 2 });
    const erpPool = createMysqlPool(erpUrl);
    const resultsPool = new Pool({ connectionString: resultsUrl, max: 4 });
    let envelope: EnvelopeEncryption | undefined;
    if (KEYS) {
      const keyStore = new PgDataKeyStore(resultsPool);
      const accessLog = new PgAccessLog(resultsPool);
      await keyStore.ensureSchema();
      await accessLog.ensureSchema();
      envelope = new EnvelopeEncryption({ keys: KEYS, store: keyStore, accessLog });
    }
    // Reads the found-vs-planted check with the worker's keys: with --encrypted the keys are sealed in the store.
    const store = createResultStore({
      pool: resultsPool,
      ...(envelope ? { sealerFor: envelopeSealer(envelope) } : {}),
    });
    await store.migrate();
    const systems = systemsFromEnv({
      FINFLOW_SYSTEMS: JSON.stringify({
        gl: { engine: 'postgres', url: glUrl },
        erp: { engine: 'mysql', url: erpUrl },
        results: { engine: 'postgres', url: resultsUrl },
      }),
    });
    const connection = await Connection.connect({ address: server.address });
    const workerConnection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection, ...(dataConverter ? { dataConverter } : {}) });
    try {
      for (const records of SIZES) {
        results.push(
          await benchSize(records, {
            glPool,
            erpPool,
            store,
            systems,
            client,
            workerConnection,
            server,
            bundle,
            work,
            python,
            envelope,
            urls: { gl: glUrl, erp: erpUrl },
          }),
        );
      }
    } finally {
      await workerConnection.close();
      await connection.close();
      await systems.close();
      await glPool.end();
      await erpPool.end();
      await resultsPool.end();
    }
  } finally {
    if (!KEEP) rmSync(work, { recursive: true, force: true });
    await server.stop();
    await maria?.stop();
    await pgServer?.stop();
  }

  if (results.length > 1) {
    console.log('\nmemory as records grow (this process: worker + client):');
    for (const r of results)
      console.log(
        `  ${int(r.records).padStart(10)} per side  wall ${secs(r.wallMs).padStart(8)}  ${int(Math.round(r.rowsPerSec)).padStart(9)} rows/s  ` +
          `peak RSS ${mb(r.peakRss).padStart(7)} (+${mb(r.rssGrowth)})  peak heap ${mb(r.peakHeap)}` +
          (r.datacompyRss !== undefined ? `  datacompy-pandas peak RSS ${r.datacompyRss.toFixed(0)} MB` : '') +
          (r.polarsRss !== undefined ? `  datacompy-polars peak RSS ${r.polarsRss.toFixed(0)} MB` : ''),
      );
  }
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ encrypted: ENCRYPTED, results }, null, 2));
  if (results.some((r) => !r.allFound)) process.exitCode = 1;
}

interface Ctx {
  glPool: Pool;
  erpPool: ReturnType<typeof createMysqlPool>;
  store: ReturnType<typeof createResultStore>;
  systems: ReturnType<typeof systemsFromEnv>;
  client: Client;
  workerConnection: NativeConnection;
  server: Awaited<ReturnType<typeof startDevServer>>;
  bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  work: string;
  python?: string;
  /** The databases finflow reads, which datacompy reads too. */
  urls: { gl: string; erp: string };
  envelope?: EnvelopeEncryption;
}

async function benchSize(records: number, ctx: Ctx): Promise<SizeResult> {
  console.log(`\n=== ${int(records)} GL journal lines (PostgreSQL) vs ${int(records)} ERP postings (MariaDB) ===`);
  const t = performance.now();
  const gen: GeneratedScenario = await generateScenario({ records, seed: SEED, pg: ctx.glPool, mysql: ctx.erpPool });
  const truth = gen.truth;
  console.log(
    `generated in ${secs(performance.now() - t)} (GL COPY ${gen.seconds.gl.toFixed(1)} s, ERP LOAD DATA ${gen.seconds.erp.toFixed(1)} s, in parallel): ` +
      `GL ${int(truth.gl.records)} rows sum ${truth.gl.amount}; ERP ${int(truth.erp.records)} rows sum ${truth.erp.amount} ` +
      `(4-dp ${truth.erp.amountRaw}); planted ${CATEGORIES.map((c) => truth.categories[c]).reduce((a, b) => a + b, 0)} discrepancies`,
  );

  const sql = scenarioSql();
  const definition = glVsErpDefinition({
    gl: { connector: 'postgres', system: 'gl', sql: sql.gl, mode: 'copy' },
    erp: { connector: 'mariadb', system: 'erp', sql: sql.erp },
  });
  const taskQueue = `bench-recon-${records}-${process.pid}`;
  const reportsDir = join(ctx.work, `reports-${records}`);
  const worker = await Worker.create({
    connection: ctx.workerConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: ctx.bundle,
    ...(dataConverter ? { dataConverter } : {}),
    activities: createActivities({
      systems: ctx.systems,
      recon: {
        workDir: join(ctx.work, 'spill'),
        reportsDir,
        // The default store on the `results` system, so partition threads write their own results (as a worker
        // configured by FINFLOW_SYSTEMS does); the diagnostic wraps it and so writes from the activity's thread.
        ...(SKIP_MATCH_STORE ? { resultStore: withoutMatches(ctx.store) } : {}),
        ...(ctx.envelope ? { envelope: ctx.envelope } : {}),
      },
    }),
  });
  const running = worker.run();
  const input: ReconciliationInput = {
    company: 'BENCH',
    period: gen.plan.period,
    reconId: 'gl-vs-erp',
    definition,
    ...(PARALLEL ? { maxParallel: PARALLEL } : {}),
    ...(PARTITIONS ? { partitions: PARTITIONS } : {}),
  };
  const workflowId = `recon:BENCH:${gen.plan.period}:gl-vs-erp:${records}:${process.pid}`;
  let run: Awaited<ReturnType<typeof sampled<ReconciliationSummary>>>;
  let handleForHistory: { fetchHistory(): Promise<temporal.api.history.v1.IHistory> } | undefined;
  try {
    run = await sampled(async () => {
      const handle = await ctx.client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
      });
      handleForHistory = handle;
      return handle.result();
    });
  } finally {
    worker.shutdown();
    await running;
  }
  const summary = run.value;
  const total = truth.gl.records + truth.erp.records;
  const rowsPerSec = total / (run.ms / 1000);
  console.log(
    `finflow: reconciliationWorkflow on Temporal, ${summary.partitions ?? '?'} partitions, ${PARALLEL ?? "the workflow's default"} at a time` +
      `${SKIP_MATCH_STORE ? ' (DIAGNOSTIC: matched pairs NOT written to the result store)' : ''}: ` +
      `wall ${secs(run.ms)}, ${int(Math.round(rowsPerSec))} rows/s (both sides), ` +
      `CPU of this process ${secs(run.cpuMs)} (all threads), ` +
      `peak RSS ${mb(run.peakRss)} (+${mb(run.peakRss - run.rss0)} over ${mb(run.rss0)} before), peak heap ${mb(run.peakHeap)}; ${load()}`,
  );
  if (handleForHistory) console.log(`  ${phases(await handleForHistory.fetchHistory(), run.samples)}`);
  console.log(
    `  control totals: GL ${int(summary.a.records)} rows ${summary.a.amount} (planted ${truth.gl.amount}), ` +
      `ERP ${int(summary.b.records)} rows ${summary.b.amount} (planted ${truth.erp.amount})`,
  );

  // Found vs planted: counts from the summary, then key by key from the result store.
  const found: Record<string, Set<string>> = {};
  if (summary.runId) {
    for await (const batch of ctx.store.streamExceptions(summary.runId, { batchSize: 10_000 }))
      for (const e of batch) (found[e.category] ??= new Set()).add(e.key);
  }
  const keys = plantedKeys(gen.plan);
  let allFound =
    summary.a.records === truth.gl.records &&
    summary.b.records === truth.erp.records &&
    summary.a.amount === truth.gl.amount &&
    summary.b.amount === truth.erp.amount;
  console.log(`  ${'category'.padEnd(18)} ${'planted'.padStart(8)} ${'found'.padStart(8)} ${'same keys'.padStart(10)}`);
  for (const c of CATEGORIES as readonly Category[]) {
    const planted = truth.categories[c];
    const count = summary.perCategory?.[c] ?? 0;
    const set = found[c] ?? new Set<string>();
    const sameKeys = set.size === keys[c].length && keys[c].every((k) => set.has(k));
    const ok = count === planted && sameKeys;
    allFound &&= ok;
    console.log(
      `  ${c.padEnd(18)} ${int(planted).padStart(8)} ${int(count).padStart(8)} ${(sameKeys ? 'yes' : 'NO').padStart(10)}${ok ? '' : '  <-- MISMATCH'}`,
    );
  }
  console.log(
    `  matched pairs: ${int(summary.keys.matched)} (planted ${int(truth.matched.exact + truth.matched.accepted)}: ` +
      `${int(truth.matched.exact)} exact + ${int(truth.matched.accepted)} with an accepted difference)` +
      `${allFound ? '; every planted discrepancy found and rightly categorised' : '; NOT all planted discrepancies found as planted'}`,
  );
  if (summary.keys.matched !== truth.matched.exact + truth.matched.accepted) allFound = false;

  const out: SizeResult = {
    records,
    wallMs: run.ms,
    cpuMs: run.cpuMs,
    rowsPerSec,
    rssGrowth: run.peakRss - run.rss0,
    peakRss: run.peakRss,
    peakHeap: run.peakHeap,
    allFound,
  };
  if (ctx.python) {
    for (const lib of ['pandas', 'polars'] as const) {
      const dc = await runDatacompy(ctx.python, lib, ctx.urls);
      const r = dc.result;
      console.log(
        `datacompy ${r.datacompy} on ${lib} ${r.version}, reading the same PostgreSQL and MariaDB tables, join on document_no, ` +
          `abs_tol ${(TOLERANCE_CENTS / 100).toFixed(2)}: wall ${secs(dc.ms)} (read GL ${r.read_gl_s.toFixed(2)} s, ` +
          `read ERP ${r.read_erp_s.toFixed(2)} s, normalise ${r.normalise_s.toFixed(2)} s, compare ${r.compare_s.toFixed(2)} s, ` +
          `mismatched rows ${r.extract_s.toFixed(2)} s), peak RSS ${r.max_rss_mb.toFixed(0)} MB; ${load()}; ` +
          `only in GL ${int(r.only_in_gl)}, only in ERP ${int(r.only_in_erp)}, mismatched rows ${int(r.mismatched_rows)} (no categories)`,
      );
      console.log(
        `ratio: finflow ${secs(run.ms)} vs datacompy-${lib} ${secs(dc.ms)} = ${(dc.ms / run.ms).toFixed(2)}x ` +
          `(finflow also writes the result store and the reports)`,
      );
      if (lib === 'pandas') {
        out.datacompyMs = dc.ms;
        out.datacompyRss = r.max_rss_mb;
      } else {
        out.polarsMs = dc.ms;
        out.polarsRss = r.max_rss_mb;
      }
    }
  }
  console.log(
    `targets: 1M vs 1M under 20 s ${records === 1_000_000 ? (run.ms < 20_000 ? 'MET' : 'MISSED') : '(n/a at this size)'}; ` +
      `>= 3x datacompy-pandas ${out.datacompyMs === undefined ? 'not run' : out.datacompyMs >= 3 * run.ms ? 'MET' : 'MISSED'}; ` +
      `as fast as datacompy-polars ${out.polarsMs === undefined ? 'not run' : out.polarsMs >= run.ms ? 'MET' : 'MISSED'}; ` +
      `all planted found ${allFound ? 'MET' : 'MISSED'}`,
  );
  return out;
}

const MODE = argText('mode') ?? 'db';
if (MODE !== 'db' && MODE !== 'csv') throw new Error(`--mode is db or csv, got ${MODE}`);
(MODE === 'csv' ? csvBench(argText) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});

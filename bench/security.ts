// npm run bench:security: what encryption costs.
//  0. The 1M reconciliation (bench/recon.ts) with encryption off and on, alternating rounds, in one run.
//  1. Workflow throughput on the Temporal dev server with and without the payload codec: N closes (each one
//     approval checkpoint: start, status queries until it opens, the approval signal, the result), rounds
//     alternating off/on so drift on a shared machine hits both alike.
//  2. A large extract (1M records, CSV) written to disk and read back with control totals, in clear and encrypted
//     with the dataset's data key (EnvelopeEncryption, AES-256-GCM per 10,000-record chunk).
//  3. The result store: N exceptions written with the sensitive columns (key, evidence, explanation) sealed per value or not.
//  4. The reports of those N exceptions (xlsx, csv, json) written in clear or sealed with the run's data key.
// Target overhead < 5% (the seed asks < 10%).
//
//   npm run bench:security [-- --recon-records 1000000 --recon-rounds 2 --closes 200 --records 1000000
//                              --store-rows 100000 --rounds 2 --skip-store]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { InMemoryAccessLog } from '../activities/security/access-log';
import { EnvelopeEncryption, InMemoryDataKeyStore, type DatasetCipher } from '../activities/security/envelope';
import { ColumnSealer } from '../activities/security/column-seal';
import { generateMasterKey, KeyRing } from '../activities/security/key-ring';
import { createResultStore, type ExceptionInput } from '../activities/result-store';
import { type ReportInput, writeExceptionsReport, writeSummaryReport } from '../activities/reports';
import { systemsFromEnv } from '../activities/systems';
import { connectClient } from '../client/connect';
import { minorToString } from '../domain/money';
import { createDatabase, freePort } from '../scripts/lib/pg-admin';
import { startDevServer } from '../scripts/lib/dev-server';
import { startEmbeddedPostgres } from '../scripts/lib/postgres';
import { FAILURE_CONVERTER_PATH } from '../platform/data-converter';
import { installWorkerRuntime, startWorker } from '../workers/main';
import { approvalSignal, statusQuery } from '../workflows/definitions';
import type { CloseStatus, MonthEndCloseInput } from '../contracts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number`);
  return v;
}
const CLOSES = arg('closes', 200);
const RECORDS = arg('records', 1_000_000);
const STORE_ROWS = arg('store-rows', 100_000);
const ROUNDS = arg('rounds', 2);
const CONCURRENCY = arg('concurrency', 25);
const SKIP_STORE = process.argv.includes('--skip-store');
/** Records per side of the reconciliation run with encryption off and on (0 skips it). */
const RECON_RECORDS = arg('recon-records', 1_000_000);
const RECON_ROUNDS = Math.max(1, arg('recon-rounds', 2));
const CHUNK = 10_000;

const ring = new KeyRing([generateMasterKey('bench-1')], 'bench-1');
const pct = (on: number, off: number) => `${(((on - off) / off) * 100).toFixed(1)}%`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

// 1. Workflow throughput ----------------------------------------------------------------------------------------

function approvalOnlyClose(company: string): MonthEndCloseInput {
  return {
    company,
    period: '2026-10',
    // The approval is sent unsigned: development mode (see workflows/approval/checkpoints.ts).
    allowUnsignedApprovals: true,
    tasks: [
      {
        id: 'review',
        kind: 'approval',
        config: { checkpointId: 'review', role: 'supervisor', escalation: { timeout: '4h', path: ['manager'] } },
      },
    ],
  };
}

let databaseUrl: string | undefined;

async function closesPerSecond(
  address: string,
  encrypted: boolean,
  bundle: WorkflowBundleWithSourceMap,
  label: string,
): Promise<number> {
  const config = { address, namespace: 'default', taskQueue: `bench-${label}` };
  const keyProvider = encrypted ? ring : null;
  const worker = await startWorker({
    config,
    systems: systemsFromEnv({ DATABASE_URL: databaseUrl }),
    workflowBundle: bundle,
    keyProvider,
  });
  const { client, close } = await connectClient(config, { keyProvider });
  try {
    const companies = Array.from({ length: CLOSES }, (_, i) => `B${label}${i}`);
    const t = performance.now();
    await pool(companies, CONCURRENCY, async (company) => {
      const handle = await client.workflow.start('monthEndCloseWorkflow', {
        taskQueue: config.taskQueue,
        workflowId: `close:${company}:2026-10`,
        args: [approvalOnlyClose(company)],
      });
      for (;;) {
        const s: CloseStatus = await handle.query(statusQuery);
        if (s.checkpoints[0]?.state === 'open') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await handle.signal(approvalSignal, {
        checkpointId: 'review',
        decision: 'approved',
        approverId: 'bench',
        role: 'supervisor',
        comments: 'benchmark approval, refund to DE89370400440532013000',
      });
      const result: CloseStatus = await handle.result();
      if (result.state !== 'completed') throw new Error(`close ${company} ended ${result.state}`);
    });
    return CLOSES / ((performance.now() - t) / 1000);
  } finally {
    await close();
    await worker.stop();
  }
}

async function benchWorkflows(): Promise<void> {
  console.log(
    `\n1. workflow throughput: ${CLOSES} closes per round (start, queries, signal, result), ${CONCURRENCY} in flight`,
  );
  const options = { workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') };
  const [plainBundle, encryptedBundle] = await Promise.all([
    bundleWorkflowCode(options),
    bundleWorkflowCode({ ...options, failureConverterPath: FAILURE_CONVERTER_PATH }),
  ]);
  const server = await startDevServer({ port: await freePort(), uiPort: await freePort() });
  // The closes' approval checkpoints queue their notifications in the outbox: the worker needs its database.
  const pg = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
  try {
    databaseUrl = await createDatabase(process.env.DATABASE_URL ?? pg!.adminUrl, 'finflow_bench_security_closes');
    const stamp = Date.now().toString(36);
    await closesPerSecond(server.address, true, encryptedBundle, `warm${stamp}`);
    const off: number[] = [];
    const on: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      off.push(await closesPerSecond(server.address, false, plainBundle, `off${r}${stamp}`));
      on.push(await closesPerSecond(server.address, true, encryptedBundle, `on${r}${stamp}`));
      console.log(`   round ${r + 1}: codec off ${off[r].toFixed(1)} closes/s, codec on ${on[r].toFixed(1)} closes/s`);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Throughput overhead: how much longer the same work takes with the codec.
    console.log(
      `   mean: off ${mean(off).toFixed(1)} closes/s, on ${mean(on).toFixed(1)} closes/s; ` +
        `codec overhead ${pct(1 / mean(on), 1 / mean(off))} wall time per close`,
    );
  } finally {
    await server.stop();
    await pg?.stop();
  }
}

// 2. Extract encryption -----------------------------------------------------------------------------------------

/** Chunk `n` of the extract as CSV bytes: id, account, counterparty IBAN, date, amount (minor units). */
function extractChunk(n: number): Buffer {
  const lines: string[] = [];
  const end = Math.min((n + 1) * CHUNK, RECORDS);
  for (let i = n * CHUNK; i < end; i++) {
    const minor = ((i * 7919) % 2_000_001) - 1_000_000;
    lines.push(
      `${i},ACCT-${i % 5000},DE${String(10 + (i % 89)).padStart(2, '0')}37040044${String(i).padStart(10, '0')},2026-10-${String(1 + (i % 28)).padStart(2, '0')},${minorToString(BigInt(minor), 2)}`,
    );
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/** Sums the amount column in minor units (the control total), counting records. */
function controlTotals(csv: Buffer, acc: { records: number; minor: bigint }): void {
  const text = csv.toString('utf8');
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    const comma = text.lastIndexOf(',', nl);
    const amount = text.slice(comma + 1, nl);
    const dot = amount.indexOf('.');
    acc.minor += BigInt(amount.slice(0, dot) + amount.slice(dot + 1));
    acc.records++;
    start = nl + 1;
  }
}

function writeExtract(path: string, cipher: DatasetCipher | undefined): number {
  const fd = openSync(path, 'w');
  try {
    const t = performance.now();
    const chunks = Math.ceil(RECORDS / CHUNK);
    for (let n = 0; n < chunks; n++) {
      const csv = extractChunk(n);
      if (!cipher) writeSync(fd, csv);
      else {
        // Each chunk bound to its position: chunks cannot be reordered or swapped between extracts.
        const blob = cipher.encrypt(csv, `extract/chunk-${n}`);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(blob.length);
        writeSync(fd, len);
        writeSync(fd, blob);
      }
    }
    return performance.now() - t;
  } finally {
    closeSync(fd);
  }
}

function readExtract(path: string, cipher: DatasetCipher | undefined): { ms: number; records: number; minor: bigint } {
  const t = performance.now();
  const file = readFileSync(path);
  const acc = { records: 0, minor: 0n };
  if (!cipher) controlTotals(file, acc);
  else
    for (let off = 0, n = 0; off < file.length; n++) {
      const len = file.readUInt32BE(off);
      controlTotals(cipher.decrypt(file.subarray(off + 4, off + 4 + len), `extract/chunk-${n}`), acc);
      off += 4 + len;
    }
  return { ms: performance.now() - t, ...acc };
}

async function benchExtract(): Promise<void> {
  console.log(
    `\n2. extract of ${RECORDS.toLocaleString('en-US')} records (CSV), written and read back with control totals`,
  );
  const envelope = new EnvelopeEncryption({
    keys: ring,
    store: new InMemoryDataKeyStore(),
    accessLog: new InMemoryAccessLog(),
  });
  const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-security-'));
  try {
    const cipher = await envelope.open('close:BENCH:2026-10/extracts', { create: true });
    const plainPath = join(dir, 'extract.csv');
    const encPath = join(dir, 'extract.csv.enc');
    // Best of the rounds: the fairest figure on a machine shared with other work.
    let wOff = Infinity;
    let wOn = Infinity;
    let rOff = Infinity;
    let rOn = Infinity;
    let totals: string[] = [];
    for (let r = 0; r < Math.max(ROUNDS, 1); r++) {
      wOff = Math.min(wOff, writeExtract(plainPath, undefined));
      wOn = Math.min(wOn, writeExtract(encPath, cipher));
      const a = readExtract(plainPath, undefined);
      const b = readExtract(encPath, cipher);
      rOff = Math.min(rOff, a.ms);
      rOn = Math.min(rOn, b.ms);
      totals = [`${a.records}/${a.minor}`, `${b.records}/${b.minor}`];
      if (totals[0] !== totals[1]) throw new Error(`control totals differ: clear ${totals[0]}, encrypted ${totals[1]}`);
    }
    cipher.dispose();
    const [records, minor] = totals[0].split('/');
    const size = (p: string) => `${(readFileSync(p).length / 2 ** 20).toFixed(1)} MB`;
    console.log(`   control totals equal both ways: ${records} records, sum ${minorToString(BigInt(minor), 2)}`);
    console.log(
      `   write: clear ${sec(wOff)} (${size(plainPath)}), encrypted ${sec(wOn)} (${size(encPath)}); overhead ${pct(wOn, wOff)}`,
    );
    console.log(`   read:  clear ${sec(rOff)}, encrypted ${sec(rOn)}; overhead ${pct(rOn, rOff)}`);
    console.log(`   write+read: overhead ${pct(wOn + rOn, wOff + rOff)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// 3. Result store -----------------------------------------------------------------------------------------------

function* exceptions(n: number): Generator<ExceptionInput> {
  for (let k = 1; k <= n; k++)
    yield {
      itemId: `BANK:${k}`,
      side: k % 2 ? 'a' : 'b',
      key: `DE${String(10 + (k % 89)).padStart(2, '0')}37040044${String(k).padStart(10, '0')}`,
      category: k % 3 ? 'missing_in_b' : 'amount_mismatch',
      currency: 'EUR',
      amount: minorToString(BigInt(((k * 7919) % 2_000_001) - 1_000_000), 2),
      difference: k % 3 ? null : '0.01',
      evidence: { records: [`BANK:${k}`], counterparty: 'ACME Supplies' },
      partition: k % 8,
    };
}

async function benchStore(): Promise<void> {
  console.log(
    `\n3. result store: ${STORE_ROWS.toLocaleString('en-US')} exceptions, sensitive columns (key, evidence, explanation) in clear vs sealed`,
  );
  const server = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
  try {
    const db = new Pool({
      connectionString: await createDatabase(process.env.DATABASE_URL ?? server!.adminUrl, 'finflow_bench_security'),
    });
    db.on('error', () => undefined);
    const envelope = new EnvelopeEncryption({
      keys: ring,
      store: new InMemoryDataKeyStore(),
      accessLog: new InMemoryAccessLog(),
    });
    const cipher = await envelope.open('recon:BENCH:2026-10/results', { create: true });
    const plain = createResultStore({ pool: db });
    // As the worker's store: a fresh sealer of the run's dataset for each write and each read.
    const encrypted = createResultStore({ pool: db, sealerFor: async () => ColumnSealer.of(cipher) });
    await plain.migrate();
    let off = Infinity;
    let on = Infinity;
    let clearRun: string | undefined;
    for (let r = 0; r < Math.max(ROUNDS, 1); r++)
      for (const [store, enc] of [
        [plain, false],
        [encrypted, true],
      ] as const) {
        const { runId } = await store.startRun({
          workflowId: `recon:bench-${r}-${enc}`,
          workflowRunId: 'r1',
          reconId: `bench-${r}-${enc}`,
          definitionHash: 'h',
        });
        const t = performance.now();
        await store.writeExceptions(runId, exceptions(STORE_ROWS));
        let n = 0;
        for await (const batch of store.streamExceptions(runId)) n += batch.length;
        const ms = performance.now() - t;
        if (n !== STORE_ROWS) throw new Error(`streamed ${n} of ${STORE_ROWS}`);
        if (enc) on = Math.min(on, ms);
        else off = Math.min(off, ms);
        if (!enc) clearRun = runId;
      }
    console.log(`   write + stream back: clear ${sec(off)}, encrypted ${sec(on)}; overhead ${pct(on, off)}`);

    // 4. The six reports of that run (exceptions and summary as xlsx, csv, json) written in clear or sealed with the
    // run's data key; the same rows from the same store, so only the sealing differs.
    console.log(
      `\n4. reports of ${STORE_ROWS.toLocaleString('en-US')} exceptions (xlsx, csv, json; exceptions and summary), clear vs sealed`,
    );
    const reportsDir = mkdtempSync(join(tmpdir(), 'finflow-bench-sec-reports-'));
    let reportsOff = Infinity;
    let reportsOn = Infinity;
    let sealedBytes = 0;
    let clearBytes = 0;
    try {
      for (let r = 0; r < Math.max(ROUNDS, 1); r++)
        for (const enc of [false, true]) {
          const input: ReportInput = {
            store: plain,
            runId: clearRun!,
            reconId: 'bench',
            date: '2026-10-31',
            dir: reportsDir,
            ...(enc ? { seal: cipher } : {}),
          };
          const t = performance.now();
          let bytes = 0;
          for (const format of ['xlsx', 'csv', 'json'] as const) {
            bytes += (await writeExceptionsReport(format, input)).bytes;
            bytes += (await writeSummaryReport(format, input)).bytes;
          }
          const ms = performance.now() - t;
          if (enc) {
            reportsOn = Math.min(reportsOn, ms);
            sealedBytes = bytes;
          } else {
            reportsOff = Math.min(reportsOff, ms);
            clearBytes = bytes;
          }
        }
    } finally {
      rmSync(reportsDir, { recursive: true, force: true });
    }
    console.log(
      `   six reports: clear ${sec(reportsOff)} (${clearBytes.toLocaleString('en-US')} bytes), sealed ${sec(reportsOn)} ` +
        `(${sealedBytes.toLocaleString('en-US')} bytes); overhead ${pct(reportsOn, reportsOff)}`,
    );
    cipher.dispose();
    await db.end();
  } finally {
    await server?.stop();
  }
}

async function main(): Promise<void> {
  // error: the throughput closes count unsigned approvals (a development switch each close warns about, 400 times).
  installWorkerRuntime({ level: 'error' });
  console.log(
    `bench:security on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}, ${new Date().toISOString()}`,
  );
  if (RECON_RECORDS > 0) await benchReconciliation();
  await benchWorkflows();
  await benchExtract();
  if (!SKIP_STORE) await benchStore();
}

// 0. The reconciliation end to end -------------------------------------------------------------------------------

/**
 * bench:recon's reconciliation (N GL lines in PostgreSQL vs N ERP postings in MariaDB, through Temporal) run with
 * encryption off and on in alternating rounds, each in a fresh process (bench/recon.ts --json): on means payloads
 * through the codec and the extracts sealed with the run's data key, as a worker with keys runs it.
 */
async function benchReconciliation(): Promise<void> {
  console.log(
    `\n0. Reconciliation ${RECON_RECORDS.toLocaleString('en-US')} vs ${RECON_RECORDS.toLocaleString('en-US')} ` +
      `(bench/recon.ts), encryption off/on alternating, ${RECON_ROUNDS} round(s); wall time of the reconciliation workflow`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-sec-recon-'));
  const walls: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const cpuMs: Record<'off' | 'on', number[]> = { off: [], on: [] };
  try {
    for (let round = 1; round <= RECON_ROUNDS; round++)
      for (const mode of ['off', 'on'] as const) {
        const out = join(dir, `${mode}-${round}.json`);
        const args = ['--expose-gc', '-r', '@swc-node/register', join(__dirname, 'recon.ts')];
        args.push('--records', String(RECON_RECORDS), '--skip-datacompy', '--json', out);
        if (mode === 'on') args.push('--encrypted');
        const r = spawnSync(process.execPath, args, { cwd: join(__dirname, '..'), encoding: 'utf8' });
        if (r.status !== 0)
          throw new Error(
            `bench/recon.ts (${mode}) failed (exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`,
          );
        const res = (
          JSON.parse(readFileSync(out, 'utf8')) as { results: { wallMs: number; cpuMs: number; allFound: boolean }[] }
        ).results[0];
        if (!res.allFound) throw new Error(`bench/recon.ts (${mode}) did not find every planted discrepancy`);
        walls[mode].push(res.wallMs);
        cpuMs[mode].push(res.cpuMs);
        console.log(
          `   round ${round} ${mode.padEnd(3)} ${sec(res.wallMs)}, worker process CPU ${sec(res.cpuMs)} (every planted discrepancy found); load average ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}`,
        );
        // Where the run's time went (activities and attempts, from its history), to tell an outlier's cause.
        const phases = /phases \(history\): (.*)/.exec(String(r.stdout))?.[1];
        if (phases) console.log(`      ${phases}`);
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const off = mean(walls.off);
  const on = mean(walls.on);
  console.log(`   mean: off ${sec(off)}, on ${sec(on)}; overhead ${pct(on, off)} (target < 5%, the seed's < 10%)`);
  // Single runs swing by a second on a shared 2-core machine: the median of the rounds' differences, and the
  // worker process's own CPU (all its threads), are steadier views of the same cost.
  const diffs = walls.on.map((w, i) => w - walls.off[i]);
  console.log(
    `   median of the rounds' differences ${sec(median(diffs))} = ${pct(median(walls.off) + median(diffs), median(walls.off))} of the median off run; ` +
      `worker process CPU: off ${sec(mean(cpuMs.off))}, on ${sec(mean(cpuMs.on))} (${pct(mean(cpuMs.on), mean(cpuMs.off))})`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

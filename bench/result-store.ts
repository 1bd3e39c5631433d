// Times the result store's bulk paths: N exceptions written (COPY + INSERT ... ON CONFLICT), the same batch
// written again (a retried activity), and streamed back.
//
//   node --expose-gc -r @swc-node/register bench/result-store.ts [--rows 100000]
import { Pool } from 'pg';
import { type ExceptionInput, createResultStore } from '../activities/result-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  writeExceptionsCsv,
  writeExceptionsJson,
  writeExceptionsXlsx,
  writeSummaryReport,
} from '../activities/reports';
import { teeExceptionStore } from '../activities/reports/tee';
import { minorToString } from '../domain/money';
import { createDatabase } from '../scripts/lib/pg-admin';
import { startEmbeddedPostgres } from '../scripts/lib/postgres';

const i = process.argv.indexOf('--rows');
const ROWS = i > 0 ? Number(process.argv[i + 1]) : 100_000;

function* exceptions(n: number): Generator<ExceptionInput> {
  for (let k = 1; k <= n; k++)
    yield {
      itemId: `GL:${k}`,
      side: k % 2 ? 'a' : 'b',
      key: `ACC-${k % 5000}`,
      category: k % 3 ? 'missing_in_b' : 'amount_mismatch',
      currency: 'EUR',
      amount: minorToString(BigInt(((k * 7919) % 2_000_001) - 1_000_000), 2),
      difference: k % 3 ? null : '0.01',
      evidence: { records: [`GL:${k}`] },
      partition: k % 8,
    };
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await f();
  const s = (performance.now() - t) / 1000;
  console.log(
    `${label.padEnd(28)} ${s.toFixed(2).padStart(6)} s  ${Math.round(ROWS / s)
      .toLocaleString('en-US')
      .padStart(9)} rows/s`,
  );
  return out;
}

async function main() {
  const server = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
  try {
    const pool = new Pool({
      connectionString: await createDatabase(process.env.DATABASE_URL ?? server!.adminUrl, 'finflow_bench_store'),
    });
    // The server is stopped right after pool.end(); idle clients then see its shutdown notice.
    pool.on('error', () => undefined);
    const store = createResultStore({ pool });
    await store.migrate();
    const { runId } = await store.startRun({
      workflowId: 'recon:bench',
      workflowRunId: 'r1',
      reconId: 'bench',
      definitionHash: 'h',
    });
    const first = await timed(`write ${ROWS} exceptions`, () => store.writeExceptions(runId, exceptions(ROWS)));
    const again = await timed('write the same batch again', () => store.writeExceptions(runId, exceptions(ROWS)));
    let n = 0;
    await timed('stream them back', async () => {
      for await (const b of store.streamExceptions(runId)) n += b.length;
    });
    console.log(`first write changed ${first.changed}, second ${again.changed}; streamed ${n}`);
    const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-reports-'));
    try {
      for (const [label, write] of [
        ['xlsx', writeExceptionsXlsx],
        ['csv', writeExceptionsCsv],
        ['json', writeExceptionsJson],
      ] as const) {
        // Retained memory (JS heap + buffers) rather than RSS, which never shrinks after an earlier step.
        const live = () => {
          const m = process.memoryUsage();
          return m.heapUsed + m.arrayBuffers;
        };
        global.gc?.();
        const base = live();
        let peak = base;
        // Collected before each sample: what the writer holds, not garbage V8 has not yet reclaimed.
        const sampler = setInterval(() => {
          global.gc?.();
          peak = Math.max(peak, live());
        }, 250);
        const file = await timed(`exceptions report ${label}`, () =>
          write({ store, runId, reconId: 'bench', date: '2026-10-31', dir }),
        );
        clearInterval(sampler);
        console.log(
          `  ${file.rows} rows, ${(file.bytes / 2 ** 20).toFixed(1)} MB, peak retained memory +${((peak - base) / 2 ** 20).toFixed(0)} MB while writing`,
        );
      }
      // As a run writes them (activities/recon/write-reports.ts): the three formats at once over one read.
      const views = teeExceptionStore(store, runId, 3);
      await timed('three reports, one read', () =>
        Promise.all(
          [writeExceptionsXlsx, writeExceptionsCsv, writeExceptionsJson].map((write, i) =>
            write({ store: views[i], runId, reconId: 'bench', date: '2026-10-31', dir }),
          ),
        ),
      );
      await timed('summary report xlsx+csv+json', async () => {
        for (const format of ['xlsx', 'csv', 'json'] as const)
          await writeSummaryReport(format, { store, runId, reconId: 'bench', date: '2026-10-31', dir });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await pool.end();
  } finally {
    await server?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Faults during a reconciliation, end to end on the Temporal CLI dev server (issue 20): the worker (a real child
// process, `workers/main.ts`) is killed with SIGKILL while it reconciles a partition and a new one is started, and
// the result store's PostgreSQL is restarted while partitions are being written. The run completes with exactly
// the matches, exceptions and totals planted in its two files, and no row twice. Every step waits on what it can
// observe (the partition activity started, rows arriving in the store), never on a fixed sleep.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import type { ReconciliationSummary } from '../../contracts';
import type { reconciliationWorkflow } from '../../workflows';
import { startRestartablePostgres, type RestartablePostgres } from '../helpers/restartable-postgres';
import { devServerEnv, uniqueId } from '../helpers/temporal';

const root = resolve(__dirname, '../..');
let env: TestWorkflowEnvironment;
let pg: RestartablePostgres;
let dir: string;
const workers: ChildProcess[] = [];

// Planted in the two files: keys in both with equal amounts match; every 13th key is missing from b, every 17th
// (not 13th) differs in amount, and every 29th b-only key has no a.
const KEYS = 24_000;
const expected = {
  matched: [] as string[],
  missingInB: [] as string[],
  mismatch: [] as string[],
  missingInA: [] as string[],
};
let sumA = 0n;
let sumB = 0n;

function writeFiles(): { a: string; b: string } {
  const a: string[] = ['account_code,amount'];
  const b: string[] = ['account_code,amount'];
  for (let i = 0; i < KEYS; i++) {
    const key = `K${String(i).padStart(6, '0')}`;
    const cents = BigInt(((i * 7919) % 9_999_900) + 100);
    const amount = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
    a.push(`${key},${amount(cents)}`);
    sumA += cents;
    if (i % 13 === 0) {
      expected.missingInB.push(key);
      continue;
    }
    const other = i % 17 === 0 ? cents + 1234n : cents;
    b.push(`${key},${amount(other)}`);
    sumB += other;
    (other === cents ? expected.matched : expected.mismatch).push(key);
  }
  for (let i = 0; i < KEYS / 29; i++) {
    const key = `X${String(i).padStart(6, '0')}`;
    b.push(`${key},1.00`);
    sumB += 100n;
    expected.missingInA.push(key);
  }
  const files = { a: join(dir, 'gl.csv'), b: join(dir, 'erp.csv') };
  writeFileSync(files.a, `${a.join('\n')}\n`);
  writeFileSync(files.b, `${b.join('\n')}\n`);
  return files;
}

const money = (cents: bigint) => `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-e2e-faults-'));
  [env, pg] = await Promise.all([devServerEnv(), startRestartablePostgres()]);
}, 120_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await env?.teardown();
  await pg?.stop();
});

/** Starts `workers/main.ts` as its own process; resolves once it polls. Its output goes to a log file in `dir`. */
async function startWorkerProcess(taskQueue: string, n: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'workers/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      FINFLOW_TASK_QUEUE: taskQueue,
      DATABASE_URL: pg.url,
      // Both processes share one work directory, as workers on one machine do (spill files of the extraction).
      FINFLOW_WORK_DIR: join(dir, 'work'),
      FINFLOW_REPORTS_DIR: join(dir, 'reports'),
      FINFLOW_LOG_LEVEL: 'warn',
      FINFLOW_KEY_FILE: '',
      FINFLOW_KEYS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  const log = createWriteStream(join(dir, `worker-${n}.log`));
  child.stderr?.pipe(log);
  await new Promise<void>((res, rej) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      log.write(d);
      out += d.toString();
      if (out.includes('finflow worker polling')) res();
    });
    child.once('exit', (code, signal) =>
      rej(new Error(`worker ${n} exited (${code ?? signal}) before polling: see ${dir}`)),
    );
  });
  return child;
}

/** No worker has exited but by the test's SIGKILL (a crash would otherwise show only as a timeout). */
function failIfWorkerDied(): void {
  workers.forEach((w, i) => {
    if (w.exitCode !== null || (w.signalCode !== null && w.signalCode !== 'SIGKILL'))
      throw new Error(`worker ${i + 1} exited (${w.exitCode ?? w.signalCode}): see ${dir}`);
  });
}

/** Polls `probe` every `every` ms until it returns something, within `ms`. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    failIfWorkerDied();
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`${what} did not happen within ${ms / 1000} s (logs in ${dir})`);
}

async function storeQuery<R extends Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> {
  const c = new Client({ connectionString: pg.url });
  // The server restarts under this test: a dropped connection fails its query, it must not crash the test process.
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

jest.setTimeout(240_000);

describe('a reconciliation through a killed worker and a restarted result store', () => {
  it('completes with the planted matches, exceptions and totals, and no row twice', async () => {
    const files = writeFiles();
    const taskQueue = uniqueId('e2e-faults');
    // Two worker processes, as two workers on one machine: the one running the partition is killed, the other
    // takes the partition over once the killed one's heartbeats stop, and the killed one is started again.
    const [w1, w2] = await Promise.all([startWorkerProcess(taskQueue, 1), startWorkerProcess(taskQueue, 2)]);
    const workflowId = uniqueId('recon:FAULT:2026-10:gl-vs-erp');
    const side = (path: string) => ({
      source: { connector: 'csv', path },
      classification: 'internal',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      currency: 'USD',
    });
    const handle = await env.client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      taskQueue,
      workflowId,
      args: [
        {
          company: 'FAULT',
          period: '2026-10',
          reconId: 'gl-vs-erp',
          partitions: 4,
          maxParallel: 1,
          definition: { id: 'gl-vs-erp', a: side(files.a), b: side(files.b), rules: [{ id: 'exact', type: 'exact' }] },
        },
      ],
    });
    const runId = `${workflowId}/${handle.firstExecutionRunId}`;

    // 1. The worker is killed while it reconciles a partition (the activity has started on it).
    const partitionStarted = () =>
      until('a partition starting', 120_000, async () => {
        const d = await handle.describe();
        return d.raw.pendingActivities?.find(
          (a) => a.activityType?.name === 'reconcilePartition' && a.lastStartedTime != null && a.state === 2,
        );
      });
    const killed = await partitionStarted();
    // A worker's identity is `<pid>@<host>` (the SDK's default).
    const victim = [w1, w2].find((w) => killed.lastWorkerIdentity?.startsWith(`${w.pid}@`));
    if (!victim) throw new Error(`the partition runs on ${killed.lastWorkerIdentity}, not on a worker of this test`);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const restarted = startWorkerProcess(taskQueue, 3);
    // The killed attempt is given up when its heartbeats stop (30 s), and the partition starts again on worker 2.
    await until('the killed partition starting again', 90_000, async () => {
      const d = await handle.describe();
      const again = d.raw.pendingActivities?.find((a) => a.activityId === killed.activityId);
      // Gone from the pending list: it completed (on its retry, or just before the kill on a fast machine).
      if (!again) return true;
      return (again.attempt ?? 1) > (killed.attempt ?? 1) && again.state === 2 ? true : undefined;
    });
    const restartedAfterMs = Date.now() - killedAt;
    await restarted;

    // 2. The result store's server is restarted while a partition's rows are being written to it (an INSERT into
    // the matches or exceptions running, as pg_stat_activity shows).
    const watcher = new Client({ connectionString: pg.url });
    watcher.on('error', () => undefined);
    await watcher.connect();
    try {
      await until(
        'a write to the store in progress',
        120_000,
        async () => {
          const { rows } = await watcher.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
             AND query ~* 'insert into (recon_matches|recon_exceptions)'`,
          );
          return rows[0].n > 0 ? true : undefined;
        },
        20,
      );
    } finally {
      await watcher.end();
    }
    await pg.restart();

    const summary: ReconciliationSummary = await until('the run completing', 120_000, async () => {
      const d = await handle.describe();
      return d.status.name === 'RUNNING' ? undefined : handle.result();
    });
    expect(summary.controlTotals).toBe('balanced');
    expect(summary.matches).toBe(expected.matched.length);
    expect(summary.keys).toEqual({
      matched: expected.matched.length,
      amountMismatch: expected.mismatch.length,
      missingInA: expected.missingInA.length,
      missingInB: expected.missingInB.length,
    });
    expect(summary.a).toEqual({ records: KEYS, amount: money(sumA) });
    expect(summary.b).toEqual({
      records: KEYS - expected.missingInB.length + expected.missingInA.length,
      amount: money(sumB),
    });

    const matches = await storeQuery<{ key: string; n: string }>(
      'SELECT key, count(*)::text AS n FROM recon_matches WHERE run_id = $1 GROUP BY key ORDER BY key',
      [runId],
    );
    expect(matches.filter((m) => m.n !== '1')).toEqual([]);
    expect(matches.map((m) => m.key)).toEqual([...expected.matched].sort());
    const exceptions = await storeQuery<{ key: string; category: string; n: string }>(
      'SELECT key, category, count(*)::text AS n FROM recon_exceptions WHERE run_id = $1 GROUP BY key, category ORDER BY key',
      [runId],
    );
    expect(exceptions.filter((x) => x.n !== '1')).toEqual([]);
    const byCategory = (c: string) => exceptions.filter((x) => x.category === c).map((x) => x.key);
    expect(byCategory('missing_in_b')).toEqual([...expected.missingInB].sort());
    expect(byCategory('missing_in_a')).toEqual([...expected.missingInA].sort());
    expect(byCategory('amount_mismatch')).toEqual([...expected.mismatch].sort());
    expect(exceptions).toHaveLength(expected.missingInA.length + expected.missingInB.length + expected.mismatch.length);
    const [run] = await storeQuery<{ status: string }>('SELECT status FROM recon_runs WHERE run_id = $1', [runId]);
    expect(run.status).toBe('exceptions');
    // What the fault cost, in the test's log: the killed partition started again this long after the kill.
    console.log(
      `killed partition ${killed.activityId} started again ${(restartedAfterMs / 1000).toFixed(1)} s after SIGKILL`,
    );
    // The heartbeat timeout is 30 s: the other worker takes the partition over soon after.
    expect(restartedAfterMs).toBeLessThan(45_000);
  });
});

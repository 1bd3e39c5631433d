// Issue 16 on the time-skipping server over real PostgreSQL: the close keeps its status read model current (a row
// per close and per task, each write a higher version, the tasks as the `status` query shows them, the final row
// the close's result), writes it through one local activity marker per write, and never lets a stale write
// overwrite a newer one. Readers fall back to the query when the row is missing, and say which path answered; the
// CLI's `finflow close status` and `close watch` print it.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Command } from 'commander';
import { Pool } from 'pg';
import { readCloseStatus, writeCloseStatus } from '../../activities/close-status/store';
import { migrateResultStore } from '../../activities/result-store/schema';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { readStatus } from '../../client/close-status-source';
import { registerCloseCommands } from '../../client/commands/close';
import { DataSourceRegistry, Engine } from '../../client/library';
import { submitTaskActionUpdate } from '../../workflows/definitions';
import type { CloseStatus } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, uniqueId, workflowBundle } from '../helpers/temporal';
import { closeWorker, companyId, startClose, task, terminateLeftovers, waitFor, type Harness } from './close-harness';

let env: TestWorkflowEnvironment;
let url: string;
let systems: SystemRegistry;
let pool: Pool;
const h: Harness = { env: () => env, started: [] };

beforeAll(async () => {
  url = await freshDatabase('close_read_model');
  systems = systemsFromEnv({ DATABASE_URL: url });
  pool = new Pool({ connectionString: url, max: 2 });
  await migrateResultStore(pool);
  await workflowBundle();
}, 120_000);
afterEach(() => terminateLeftovers(h));
afterAll(async () => {
  await systems?.close();
  await pool?.end();
});
freshTimeSkippingServerPerTest((e) => (env = e));

const plan = (company: string) => ({
  company,
  period: '2026-10',
  owner: 'dora',
  tasks: [
    { id: 'extract', name: 'Extract', kind: 'activity' as const, activity: 'tick', ownerRole: 'accountant' },
    {
      id: 'prelim',
      name: 'Preliminary close',
      kind: 'manual' as const,
      ownerRole: 'accountant',
      predecessors: ['extract'],
    },
    { id: 'review', name: 'Review', kind: 'manual' as const, ownerRole: 'supervisor', predecessors: ['prelim'] },
  ],
});
const extra = { tick: async () => ({ ok: true }) };

async function complete(handle: Awaited<ReturnType<typeof startClose>>, taskId: string, by: string) {
  const answer = await handle.executeUpdate(submitTaskActionUpdate, { args: [{ action: 'complete', taskId, by }] });
  expect(answer.accepted).toBe(true);
}

/** The read model's row once it satisfies `ok` (a write lands within the close's workflow task). */
async function rowWhen(closeId: string, ok: (s: CloseStatus) => boolean) {
  for (let i = 0; i < 100; i++) {
    const got = await readCloseStatus(pool, closeId);
    if ('row' in got && ok(got.row.status)) return got.row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the read model of ${closeId} never reached the expected state`);
}

const states = (s: CloseStatus) => s.tasks.map((t) => [t.id, t.state]);

describe('the close status read model', () => {
  it('follows the close: each write a higher version, the tasks as the query shows them, the end as the result', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems }, extra);
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan(companyId()));
      const q1 = await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      const r1 = await rowWhen(handle.workflowId, (s) => task(s, 'prelim').state === 'running');
      expect(r1.version).toBeGreaterThanOrEqual(1);
      expect(r1.status.tasks).toEqual(q1.tasks);
      expect(states(r1.status)).toEqual([
        ['extract', 'done'],
        ['prelim', 'running'],
        ['review', 'pending'],
      ]);
      expect(r1.status.state).toBe('running');
      expect(r1.ageMs).toBeGreaterThanOrEqual(0);

      await complete(handle, 'prelim', 'ann');
      const q2 = await waitFor(handle, (s) => task(s, 'review').state === 'running', 'review running');
      const r2 = await rowWhen(handle.workflowId, (s) => task(s, 'review').state === 'running');
      expect(r2.version).toBeGreaterThan(r1.version);
      expect(r2.status.tasks).toEqual(q2.tasks);
      expect(r2.status.percentDone).toBe(q2.percentDone);

      // The library's Execution reads the same row first, and says so; asked for the query, it asks the workflow.
      const engine = new Engine({
        dataSources: new DataSourceRegistry(),
        client: env.client,
        env: { DATABASE_URL: url },
      });
      const execution = await engine.attach(handle.workflowId);
      const viaModel = await execution.statusAnswer();
      expect(viaModel.source).toBe('read-model');
      expect(viaModel.version).toBeGreaterThanOrEqual(r2.version);
      expect(viaModel.status.tasks).toEqual(q2.tasks);
      const viaQuery = await execution.statusAnswer('query');
      expect([viaQuery.source, states(viaQuery.status)]).toEqual(['query', states(q2)]);

      await complete(handle, 'review', 'sue');
      const result = (await handle.result()) as CloseStatus;
      const r3 = await rowWhen(handle.workflowId, (s) => s.state === 'completed');
      expect(r3.version).toBeGreaterThan(r2.version);
      expect(r3.status.tasks).toEqual(result.tasks);
      expect(r3.status.finishedAt).toBe(result.finishedAt);
      expect(r3.status.percentDone).toBe(100);

      // History: one local-activity marker per write, nothing else; the version counts the writes.
      const history = await handle.fetchHistory();
      const writes = (history.events ?? []).filter((e) => {
        const m = e.markerRecordedEventAttributes;
        if (m?.markerName !== 'core_local_activity') return false;
        const data = m.details?.data?.payloads?.[0]?.data;
        return data ? Buffer.from(data).toString('utf8').includes('publishCloseStatus') : false;
      });
      expect(writes.length).toBe(r3.version);
      expect(history.events?.length).toBeLessThan(120);
    });
  });

  it('falls back to the status query, saying why, for a close that has no row (a worker without a result store)', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems: systemsFromEnv({}) }, extra);
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan(companyId()));
      const q = await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      expect('missing' in (await readCloseStatus(pool, handle.workflowId))).toBe(true);

      const a = await readStatus(handle, pool);
      expect(a.source).toBe('query');
      expect(a.fallback).toMatch(/no read-model row for close:/);
      expect(states(a.status)).toEqual(states(q));

      const noStore = await readStatus(handle, undefined);
      expect(noStore.source).toBe('query');
      expect(noStore.fallback).toMatch(/no result store configured/);
      await expect(readStatus(handle, pool, 'read-model')).rejects.toThrow(/no status from the read model/);

      // The library's Execution.status() falls back the same way, and statusAnswer() says why.
      const execution = await new Engine({
        dataSources: new DataSourceRegistry(),
        client: env.client,
        env: { DATABASE_URL: url },
      }).attach(handle.workflowId);
      const lib = await execution.statusAnswer();
      expect([lib.source, lib.fallback]).toEqual(['query', expect.stringMatching(/no read-model row/)]);
      expect(states(await execution.status())).toEqual(states(q));
    });
  });

  it('keeps the newest write: a stale or repeated version changes nothing, a later execution replaces the rows', async () => {
    const closeId = `close:${companyId()}:2026-10`;
    const base = {
      closeId,
      firstRunId: 'run-a',
      startedAt: '2026-11-01T00:00:00.000Z',
      run: 1,
      taskCount: 1,
    };
    const t = (state: 'running' | 'done') => ({
      id: 'prelim',
      name: 'Preliminary close',
      kind: 'manual' as const,
      state,
      ownerRole: 'accountant',
      attempts: 1,
      predecessors: [],
      late: false,
      atRisk: false,
    });
    const close = (state: CloseStatus['state'], percentDone: number) =>
      ({ closeId, company: 'X', period: '2026-10', state, checkpoints: [], percentDone }) as Omit<CloseStatus, 'tasks'>;
    expect(
      await writeCloseStatus(pool, {
        ...base,
        version: 2,
        close: close('completed', 100),
        tasks: [{ id: 'prelim', position: 0, status: t('done') }],
      }),
    ).toEqual({ written: true, version: 2, tasks: 1 });
    // A late retry of version 1, and version 2 again: neither overwrites.
    for (const version of [1, 2])
      expect(
        await writeCloseStatus(pool, {
          ...base,
          version,
          close: close('running', 0),
          tasks: [{ id: 'prelim', position: 0, status: t('running') }],
        }),
      ).toEqual({ written: false, reason: 'stale', current: 2 });
    let got = await readCloseStatus(pool, closeId);
    if (!('row' in got)) throw new Error(got.missing);
    expect(got.row.version).toBe(2);
    expect(states(got.row.status)).toEqual([['prelim', 'done']]);
    expect(got.row.status.state).toBe('completed');

    // The close id started again later (a new execution chain): its first write replaces the rows.
    expect(
      await writeCloseStatus(pool, {
        ...base,
        firstRunId: 'run-b',
        startedAt: '2026-11-02T00:00:00.000Z',
        version: 1,
        close: close('running', 0),
        tasks: [{ id: 'prelim', position: 0, status: t('running') }],
      }),
    ).toEqual({ written: true, version: 1, tasks: 1 });
    got = await readCloseStatus(pool, closeId);
    if (!('row' in got)) throw new Error(got.missing);
    expect([got.row.firstRunId, got.row.version, got.row.status.state]).toEqual(['run-b', 1, 'running']);
    // ...and the earlier execution's late write does not come back.
    expect(
      await writeCloseStatus(pool, { ...base, version: 3, close: close('completed', 100), tasks: [] }),
    ).toMatchObject({ written: false, reason: 'stale' });
  });

  it('finflow close status and close watch say which path answered: the read model with its version, or the query', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems }, extra);
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = url;
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      written.push(String(s));
      return true;
    });
    try {
      await worker.runUntil(async () => {
        const handle = await startClose(h, taskQueue, plan(companyId()));
        await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
        await rowWhen(handle.workflowId, (s) => task(s, 'prelim').state === 'running');
        const cli = async (...args: string[]) => {
          const out: string[] = [];
          const program = new Command().exitOverride().option('--address <addr>');
          registerCloseCommands(program, (s) => out.push(s));
          await program.parseAsync(['node', 'finflow', '--address', env.address, ...args]);
          return out.join('\n');
        };
        const viaModel = await cli('close', 'status', handle.workflowId);
        expect(viaModel).toMatch(/prelim/);
        expect(viaModel).toMatch(/status from the read model v\d+, written \d+\.\d s ago/);
        const viaQuery = await cli('close', 'status', handle.workflowId, '--source', 'query');
        expect(viaQuery).toMatch(/status from the close's status query \(live\)/);
        await expect(cli('close', 'status', handle.workflowId, '--source', 'cache')).rejects.toThrow(
          /--source cache: one of auto, read-model, query/,
        );

        const watching = cli('close', 'watch', handle.workflowId, '--lines', '--interval', '50');
        await complete(handle, 'prelim', 'ann');
        await rowWhen(handle.workflowId, (s) => task(s, 'review').state === 'running');
        await complete(handle, 'review', 'sue');
        expect(await watching).toMatch(/close ended: completed \(100% done\)/);
        const log = written.join('');
        expect(log).toMatch(/status from the read model/);
        expect(log).toMatch(/prelim: running -> done/);
      });
    } finally {
      write.mockRestore();
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
    expect((await readStatus(env.client.workflow.getHandle(h.started[0]), pool)).source).toBe('read-model');
  });
});

// A reconciliation activity whose work runs on a pooled thread keeps beating while the thread works, whether or not
// the thread has reported progress yet: the reconciliation workflow's 30 s heartbeat timeout then tells a dead
// worker from a busy one, and a killed worker's extraction or partition starts again elsewhere within it.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Pool } from 'pg';
import { createReconActivities, type ExtractedSide } from '../../activities/recon';
import { createResultStore } from '../../activities/result-store';
import { systemsFromEnv } from '../../activities/systems';
import type { ReconSummary, ReconciliationDefinitionInput } from '../../domain/recon';
import { freshDatabase } from '../helpers/postgres';

const side = (path: string) => ({
  source: { connector: 'csv', path },
  classification: 'internal',
  key_fields: ['account_code'],
  value_fields: ['amount'],
  currency: 'EUR',
});

describe('heartbeats of reconciliation work on a pooled thread', () => {
  const saved = process.env.FINFLOW_RECON_HEARTBEAT_MS;
  afterAll(() => {
    if (saved === undefined) delete process.env.FINFLOW_RECON_HEARTBEAT_MS;
    else process.env.FINFLOW_RECON_HEARTBEAT_MS = saved;
  });

  it('beats on a timer while the thread extracts, not only when it reports a batch', async () => {
    process.env.FINFLOW_RECON_HEARTBEAT_MS = '20';
    const dir = await mkdtemp(join(tmpdir(), 'finflow-recon-beat-'));
    const csv = join(dir, 'gl.csv');
    await writeFile(csv, 'account_code,amount\n1001,10.00\n1002,20.00\n');
    const acts = createReconActivities({
      systems: systemsFromEnv({}),
      recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports') },
    });
    const definition = { id: 'beat', a: side(csv), b: side(csv), rules: [{ id: 'exact', type: 'exact' }] };
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const started = Date.now();
    const out: ExtractedSide = await env.run(acts.extractReconSide, {
      runId: 'recon:BEAT:2026-10:beat/r1',
      reconId: 'beat',
      side: 'a' as const,
      definition: definition as ReconciliationDefinitionInput,
      partitions: 2,
      asOf: '2026-10-31',
    });
    const took = Date.now() - started;
    expect(out.records).toBe(2);
    // A thread takes hundreds of ms to start and read two lines, reporting one batch at most: the timer beats
    // throughout (every 20 ms here), so the beats outnumber the thread's own reports many times over.
    expect(took).toBeGreaterThan(100);
    expect(beats.length).toBeGreaterThanOrEqual(Math.floor(took / 20 / 4));
    expect(beats.length).toBeGreaterThan(3);
  });

  it('beats on a timer while the thread matches a partition whose results this thread writes (an injected store)', async () => {
    process.env.FINFLOW_RECON_HEARTBEAT_MS = '10';
    const dir = await mkdtemp(join(tmpdir(), 'finflow-recon-beat-'));
    const rows = Array.from({ length: 40_000 }, (_, i) => `K${i},${(i % 997) + 1}.25`).join('\n');
    await writeFile(join(dir, 'a.csv'), `account_code,amount\n${rows}\n`);
    await writeFile(join(dir, 'b.csv'), `account_code,amount\n${rows}\n`);
    const pool = new Pool({ connectionString: await freshDatabase('recon_beat'), max: 2 });
    try {
      // A store handed in (not the default one on the `results` system) is written from the activity's thread,
      // so the pooled thread only matches: the activity's thread must beat for it meanwhile.
      const acts = createReconActivities({
        systems: systemsFromEnv({}),
        recon: {
          workDir: join(dir, 'work'),
          reportsDir: join(dir, 'reports'),
          resultStore: createResultStore({ pool }),
        },
      });
      const definition = {
        id: 'beat',
        a: side(join(dir, 'a.csv')),
        b: side(join(dir, 'b.csv')),
        rules: [{ id: 'exact', type: 'exact' }],
      } as ReconciliationDefinitionInput;
      const runId = 'recon:BEAT:2026-10:beat/r2';
      const env = new MockActivityEnvironment();
      for (const s of ['a', 'b'] as const)
        await env.run(acts.extractReconSide, {
          runId,
          reconId: 'beat',
          side: s,
          definition,
          partitions: 1,
          asOf: '2026-10-31',
        });
      const beats: unknown[] = [];
      env.on('heartbeat', (d: unknown) => beats.push(d));
      const summary: ReconSummary = await env.run(acts.reconcilePartition, {
        runId,
        reconId: 'beat',
        partition: 0,
        spillPartitions: 1,
        definition,
      });
      expect(summary.matches).toBe(40_000);
      // The activity's own beats carry a stage; the timer's, while the thread matches, carry no details.
      expect(beats.filter((d) => d === undefined).length).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });
});

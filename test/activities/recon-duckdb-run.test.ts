// The reconciliation activities on the DuckDB data plane (activities/recon/duckdb/plane.ts), called as the
// reconciliation workflow calls them (both sides extracted, every partition reconciled, the reports written), on a
// real PostgreSQL result store, against the same activities on today's TypeScript plane: the same control totals,
// categories, exceptions, matches per rule and per pair; the matches in Parquet beside the reports, sealed with
// the run's key where the worker has keys; a rerun leaves no duplicate; the engine and why in the run summary.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createReconActivities } from '../../activities/recon';
import { matchesDirOf } from '../../activities/recon/duckdb/activity';
import { readMatchesFile } from '../../activities/recon/duckdb/plane';
import { runDirName } from '../../activities/recon/spill';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { InMemoryAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, InMemoryDataKeyStore } from '../../activities/security/envelope';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { CATEGORIES, mergeSummaries, type ReconSummary, type ReconciliationDefinitionInput } from '../../domain/recon';
import { normalisingCsvDefinition, writeNormalisingCsv } from '../../bench/lib/recon-csv';
import { planScenario, plantedKeys, plantedTruth } from '../../examples/monthly-close/generator';
import { freshDatabase } from '../helpers/postgres';

let pgUrl: string;
let systems: SystemRegistry;
let store: ResultStore;
let dir: string;
let files: { gl: string; erp: string };
const plan = planScenario({ records: 4000, seed: 20261208 });

beforeAll(async () => {
  pgUrl = await freshDatabase('recon_duck_run');
  systems = systemsFromEnv({ DATABASE_URL: pgUrl });
  store = createResultStore({ pool: systems.postgres('results') });
  dir = await mkdtemp(join(tmpdir(), 'finflow-recon-duck-run-'));
  files = await writeNormalisingCsv(plan, dir);
}, 120_000);

afterAll(async () => {
  await systems?.close();
});

const master = generateMasterKey('k1');

function activities(sealed = false) {
  const envelope = new EnvelopeEncryption({
    keys: new KeyRing([master], 'k1'),
    store: new InMemoryDataKeyStore(),
    accessLog: new InMemoryAccessLog(),
  });
  return createReconActivities({
    systems,
    recon: {
      workDir: join(dir, sealed ? 'work-sealed' : 'work'),
      reportsDir: join(dir, sealed ? 'reports-sealed' : 'reports'),
      ...(sealed ? { envelope: async () => envelope } : {}),
    },
  });
}
type Acts = ReturnType<typeof activities>;

/** What the reconciliation workflow does with a definition, without Temporal: extract, partitions, merge. */
async function run(acts: Acts, runId: string, definition: unknown, partitions = 4) {
  const [a, b] = await Promise.all(
    (['a', 'b'] as const).map((side) =>
      acts.extractReconSide({ runId, reconId: 'gl-vs-erp-csv', side, definition, partitions: 16, asOf: '2026-10-31' }),
    ),
  );
  const summaries: ReconSummary[] = [];
  for (let p = 0; p < partitions; p++)
    summaries.push(
      await acts.reconcilePartition({
        runId,
        reconId: 'gl-vs-erp-csv',
        partition: p,
        partitions,
        spillPartitions: 16,
        definition,
      }),
    );
  return { a, b, summaries, merged: mergeSummaries(summaries) };
}

async function exceptionsOf(runId: string) {
  const out: unknown[] = [];
  // The time a rule's acceptance was recorded differs from run to run.
  for await (const batch of store.streamExceptions(runId))
    out.push(...batch.map((x) => ({ ...x, runId: undefined, explainedAt: x.explainedAt === null ? null : 'set' })));
  return out.sort((x, y) => ((x as { itemId: string }).itemId < (y as { itemId: string }).itemId ? -1 : 1));
}

interface MatchView {
  itemId: string;
  rule: string;
  key: string;
  currency: string | null;
  aItems: string[];
  bItems: string[];
  amountA: string;
  amountB: string;
  difference: string;
  partition: number | null;
}
const byItem = (x: MatchView, y: MatchView) => (x.itemId < y.itemId ? -1 : 1);

async function storeMatches(runId: string): Promise<MatchView[]> {
  const out: MatchView[] = [];
  for await (const batch of store.streamMatches(runId))
    for (const m of batch) out.push({ ...m, runId: undefined } as MatchView);
  return out.map(({ runId: _r, ...m }: MatchView & { runId?: unknown }) => m).sort(byItem);
}

async function parquetMatches(reportsDir: string, runId: string, cipher?: Parameters<typeof readMatchesFile>[1]) {
  const folder = matchesDirOf(reportsDir, runId);
  const out: MatchView[] = [];
  for (const f of (await readdir(folder)).sort())
    for (const r of await readMatchesFile(join(folder, f), cipher))
      out.push({
        itemId: String(r.item_id),
        rule: String(r.rule),
        key: String(r.key),
        currency: r.currency === null ? null : String(r.currency),
        aItems: JSON.parse(String(r.a_items)) as string[],
        bItems: JSON.parse(String(r.b_items)) as string[],
        amountA: String(r.amount_a),
        amountB: String(r.amount_b),
        difference: String(r.difference),
        partition: Number(r.part),
      });
  return out.sort(byItem);
}

describe('the reconciliation activities on the DuckDB plane', () => {
  it('give the TypeScript plane’s control totals, categories, exceptions and matches per rule and per pair, with every planted discrepancy', async () => {
    const acts = activities();
    const base = normalisingCsvDefinition(files);
    const ts = await run(acts, 'recon:T:2026-10:ts/r1', { ...base, engine: 'typescript' });
    const dd = await run(acts, 'recon:T:2026-10:dd/r1', { ...base, engine: 'duckdb' });

    // The same control totals; the DuckDB plane's sides say so (the workflow plans its partitions by it).
    expect(dd.a).toEqual({ ...ts.a, engine: 'duckdb' });
    expect(dd.b).toEqual({ ...ts.b, engine: 'duckdb' });
    expect([ts.a.engine, ts.b.engine]).toEqual([undefined, undefined]);
    expect(dd.summaries).toEqual(ts.summaries);
    const truth = plantedTruth(plan);
    for (const c of CATEGORIES) expect([c, dd.merged.exceptions_by_category[c]]).toEqual([c, truth.categories[c]]);
    expect(dd.merged.matches).toBe(truth.matched.exact + truth.matched.accepted);
    expect(dd.merged.a.amounts[0].amount_in).toBe(truth.gl.amount);
    expect(dd.merged.b.amounts[0].amount_in).toBe(truth.erp.amount);

    const ddExceptions = await exceptionsOf('recon:T:2026-10:dd/r1');
    expect(ddExceptions).toEqual(await exceptionsOf('recon:T:2026-10:ts/r1'));
    const keys = plantedKeys(plan);
    for (const c of CATEGORIES)
      expect(
        (ddExceptions as { category: string; key: string }[])
          .filter((e) => e.category === c)
          .map((e) => e.key)
          .sort(),
      ).toEqual([...keys[c]].sort());

    // Today's plane keeps matches in the store; the DuckDB plane in Parquet beside the reports, none in the store.
    const tsMatches = await storeMatches('recon:T:2026-10:ts/r1');
    const ddMatches = await parquetMatches(join(dir, 'reports'), 'recon:T:2026-10:dd/r1');
    expect(await storeMatches('recon:T:2026-10:dd/r1')).toEqual([]);
    expect(ddMatches.length).toBe(dd.merged.matches);
    expect(ddMatches).toEqual(tsMatches);
  }, 120_000);

  it('records the engine and why in the run summary, and the TypeScript engine’s reason when it is not asked for', async () => {
    const acts = activities();
    const base = normalisingCsvDefinition(files);
    for (const [runId, definition, engine, reason] of [
      ['recon:T:2026-10:sum-dd/r1', { ...base, engine: 'duckdb' }, 'duckdb', 'the definition asks for engine: duckdb'],
      [
        'recon:T:2026-10:sum-ts/r1',
        base,
        'typescript',
        'the default (neither the definition nor FINFLOW_RECON_ENGINE asks for duckdb)',
      ],
    ] as const) {
      const r = await run(acts, runId, definition, 2);
      await acts.writeReconReports({
        runId,
        reconId: 'gl-vs-erp-csv',
        company: 'T',
        period: '2026-10',
        asOfDate: '2026-10-31',
        status: 'exceptions',
        summary: { perCategory: r.merged.exceptions_by_category, matches: r.merged.matches },
      });
      const summary = (await store.getRun(runId))?.summary as Record<string, unknown>;
      expect([summary.engine, summary.engineReason]).toEqual([engine, reason]);
      expect(summary.matches).toBe(r.merged.matches);
      if (engine === 'duckdb') expect(summary.matchesDir).toBe(matchesDirOf(join(dir, 'reports'), runId));
    }
  }, 120_000);

  it('seals every Parquet file at rest with the run’s key and reruns a partition without a duplicate', async () => {
    const acts = activities(true);
    const runId = 'recon:T:2026-10:sealed/r1';
    const definition = { ...normalisingCsvDefinition(files), engine: 'duckdb' };
    const first = await run(acts, runId, definition, 2);
    const key = plantedKeys(plan).amount_mismatch[0];
    const stored: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true }))
        if (e.isDirectory()) await walk(join(d, e.name));
        else stored.push(join(d, e.name));
    };
    await walk(join(dir, 'work-sealed', runDirName(runId)));
    await walk(matchesDirOf(join(dir, 'reports-sealed'), runId));
    const parquet = stored.filter((f) => f.includes('.parquet'));
    expect(parquet.length).toBeGreaterThan(2);
    for (const f of parquet) {
      expect(f.endsWith('.parquet.sealed')).toBe(true);
      const bytes = await readFile(f);
      expect(bytes.subarray(0, 23).toString()).toBe('finflow-sealed-file/v1\n');
      expect(bytes.includes(key.split('\u001f')[0])).toBe(false);
      expect(bytes.includes('PAR1')).toBe(false);
    }
    const before = (await store.exceptionTotals(runId)).reduce((n, t) => n + t.count, 0);
    const again = await acts.reconcilePartition({
      runId,
      reconId: 'gl-vs-erp-csv',
      partition: 1,
      partitions: 2,
      spillPartitions: 16,
      definition,
    });
    expect(again).toEqual(first.summaries[1]);
    expect((await store.exceptionTotals(runId)).reduce((n, t) => n + t.count, 0)).toBe(before);
    expect(before).toBe(first.merged.exceptions);
    const sealedStore = createResultStore({ pool: systems.postgres('results') });
    expect(await sealedStore.getRun(runId)).toBeDefined();
    await expect(parquetMatches(join(dir, 'reports-sealed'), runId)).rejects.toThrow(
      /sealed and this worker has no keys/,
    );
  }, 120_000);

  it('takes a side DuckDB cannot read on today’s path, says why, and reconciles the pair as the TypeScript plane does', async () => {
    const acts = activities();
    // A quoted line break inside a field: DuckDB's records would no longer be the file's lines.
    const erp = join(dir, 'erp-multiline.csv');
    const text = (await readFile(files.erp, 'latin1')).split('\n');
    text[5] = text[5].replace(/;([^;]*)$/, ';"two\nlines"');
    await writeFile(erp, text.join('\n'), 'latin1');
    const base = { ...normalisingCsvDefinition({ gl: files.gl, erp }) } as ReconciliationDefinitionInput & {
      engine?: string;
    };
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const dd = await run(acts, 'recon:T:2026-10:mixed-dd/r1', { ...base, engine: 'duckdb' }, 2);
      const ts = await run(acts, 'recon:T:2026-10:mixed-ts/r1', { ...base, engine: 'typescript' }, 2);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(
          /side b: the DuckDB data plane falls back to the TypeScript one: erp-multiline\.csv: \d+ lines for \d+ records/,
        ),
      ]);
      expect(dd.summaries).toEqual(ts.summaries);
      expect(await exceptionsOf('recon:T:2026-10:mixed-dd/r1')).toEqual(
        await exceptionsOf('recon:T:2026-10:mixed-ts/r1'),
      );
      expect(await parquetMatches(join(dir, 'reports'), 'recon:T:2026-10:mixed-dd/r1')).toEqual(
        await storeMatches('recon:T:2026-10:mixed-ts/r1'),
      );
    } finally {
      warn.mockRestore();
    }
  }, 120_000);

  it('refuses a malformed amount without retry, naming the file, line and field', async () => {
    const acts = activities();
    const erp = join(dir, 'erp-bad.csv');
    const text = (await readFile(files.erp, 'latin1')).split('\n');
    text[7] = text[7].replace(/;([^;]*);([^;]*)$/, ';12,3x4;$2');
    await writeFile(erp, text.join('\n'), 'latin1');
    const definition = { ...normalisingCsvDefinition({ gl: files.gl, erp }), engine: 'duckdb' };
    const err = await acts
      .extractReconSide({
        runId: 'recon:T:2026-10:bad/r1',
        reconId: 'x',
        side: 'b',
        definition,
        partitions: 16,
        asOf: '2026-10-31',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect([failure.type, failure.nonRetryable]).toEqual(['SourceDataError', true]);
    expect(failure.message).toMatch(/erp-bad\.csv/);
    expect(failure.details?.[0]).toMatchObject({ source: 'erp-bad.csv', line: 8, field: 'balance' });
  }, 60_000);

  it('refuses an engine it does not know', async () => {
    const acts = activities();
    const definition = { ...normalisingCsvDefinition(files), engine: 'spark' };
    await expect(
      acts.extractReconSide({
        runId: 'recon:T:2026-10:x/r1',
        reconId: 'x',
        side: 'a',
        definition,
        partitions: 16,
        asOf: '2026-10-31',
      }),
    ).rejects.toThrow(/engine must be typescript or duckdb, got "spark"/);
  });
});

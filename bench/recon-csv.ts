// npm run bench:recon -- --mode csv [--records 100000[,1000000]] [--seed N]
//                        [--engines typescript,duckdb,duckdb-e2e,typescript-e2e]
//                        [--skip-datacompy] [--keep]
// Two CSV exports that need normalising (bench/lib/recon-csv.ts: debit/credit, German 4-decimal amounts in
// windows-1252, dd.MM.yyyy dates, padded lower-case keys) with the seed scenario's planted discrepancies, reconciled
// in the same run by:
//   finflow, today's TypeScript data plane (connectors + domain/recon, one partition, in one process), and
//   finflow, the DuckDB data plane (activities/recon/duckdb, FINFLOW_RECON_ENGINE=duckdb), and
//   datacompy on pandas and on polars doing the same normalisation and a keyed comparison (scripts/datacompy/
//   compare_csv.py, in the virtualenv of scripts/datacompy/bench-venv.sh).
// Each runs in its own process (peak RSS is that process's). finflow's typescript/duckdb figures stop at the
// in-memory result; the *-e2e engines (bench/lib/recon-csv-e2e.ts) run reconciliationWorkflow on the Temporal dev
// server with the result store on embedded PostgreSQL and the reports written, as a close does. Not a test; CI does
// not run it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { reconcileFiles, type ReconEngine } from '../activities/recon/duckdb';
import { CATEGORIES, parseDefinition, type Category } from '../domain/recon';
import { planScenario, plantedKeys, plantedTruth, TOLERANCE_CENTS } from '../examples/monthly-close/generator';
import { normalisingCsvDefinition, writeNormalisingCsv } from './lib/recon-csv';
import { e2eChild } from './lib/recon-csv-e2e';

const ROOT = resolve(__dirname, '..');
const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

interface EngineRun {
  engine: string;
  used: string;
  fallback?: string;
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  phases: Record<string, number>;
  steps?: Record<string, number>;
  categories: { category: Category; planted: number; found: number; sameKeys: boolean }[];
  totalsOk: boolean;
  matched: number;
  plantedMatched: number;
}

/** In the child: one engine over the files, then found vs planted (not timed). */
async function child(engine: ReconEngine, records: number, seed: number, dir: string): Promise<void> {
  const def = parseDefinition(normalisingCsvDefinition({ gl: join(dir, 'gl.csv'), erp: join(dir, 'erp.csv') }));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await reconcileFiles(def, { engine, asOf: '2026-10-31', log: (l) => console.error(l) });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const plan = planScenario({ records, seed });
  const truth = plantedTruth(plan);
  const keys = plantedKeys(plan);
  const found = new Map<string, Set<string>>();
  for (const e of r.exceptions) {
    let s = found.get(e.category);
    if (!s) found.set(e.category, (s = new Set()));
    s.add(e.key);
  }
  const out: EngineRun = {
    engine,
    used: r.engine,
    fallback: r.fallback,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    phases: r.stats
      ? {
          'read CSV': r.stats.readMs,
          'normalise (SQL)': r.stats.normaliseMs,
          'exact+tolerance (SQL) and settled pairs to JS': r.stats.matchMs,
          'leftovers read + normalised (TS)': r.stats.leftoversMs,
          'engine on leftovers + merge (TS)': r.stats.engineMs,
        }
      : {},
    steps: r.stats?.steps,
    categories: CATEGORIES.map((c) => {
      const set = found.get(c) ?? new Set<string>();
      return {
        category: c,
        planted: truth.categories[c],
        found: r.summary.exceptions_by_category[c],
        sameKeys: set.size === keys[c].length && keys[c].every((k) => set.has(k)),
      };
    }),
    totalsOk:
      r.summary.a.records_in === truth.gl.records &&
      r.summary.b.records_in === truth.erp.records &&
      r.summary.a.amounts[0]?.amount_in === truth.gl.amount &&
      r.summary.b.amounts[0]?.amount_in === truth.erp.amount,
    matched: r.summary.matches,
    plantedMatched: truth.matched.exact + truth.matched.accepted,
  };
  console.log(JSON.stringify(out));
}

async function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ out: string; ms: number }> {
  const t0 = performance.now();
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => p.once('exit', r));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`);
  if (err.trim()) console.log(`  (stderr) ${err.trim().split('\n').join('\n  (stderr) ')}`);
  return { out: out.trim().split('\n').pop() as string, ms: performance.now() - t0 };
}

interface PyRun {
  lib: string;
  version: string;
  datacompy: string;
  only_in_gl: number;
  only_in_erp: number;
  mismatched_rows: number;
  read_s: number;
  normalise_s: number;
  compare_s: number;
  extract_s: number;
  total_s: number;
  max_rss_mb: number;
}

export async function csvBench(argText: (n: string) => string | undefined): Promise<void> {
  const sizes = (argText('records') ?? '100000').split(',').map((s) => Number(s.replace(/_/g, '')));
  const seed = Number(argText('seed') ?? 20261031);
  const engines = (argText('engines') ?? 'typescript,duckdb,duckdb-e2e').split(',');
  const skipPy = process.argv.includes('--skip-datacompy');
  console.log(
    `bench:recon --mode csv on ${cpus().length} vCPU (${cpus()[0]?.model ?? '?'}), node ${process.version}; ` +
      `sizes ${sizes.map(int).join(', ')} per side; seed ${seed}; ${load()}`,
  );
  let python: string | undefined;
  if (!skipPy) {
    try {
      python = execFileSync('bash', [join(ROOT, 'scripts/datacompy/bench-venv.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
        .trim()
        .split('\n')
        .pop();
    } catch (err) {
      console.log(`datacompy skipped: its virtualenv could not be set up (${(err as Error).message.split('\n')[0]})`);
    }
  }
  let failed = false;
  for (const records of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-csv-'));
    try {
      console.log(
        `\n=== ${int(records)} GL lines (gl.csv, UTF-8) vs ${int(records)} ERP postings (erp.csv, windows-1252) ===`,
      );
      const t = performance.now();
      const plan = planScenario({ records, seed });
      await writeNormalisingCsv(plan, dir);
      const truth = plantedTruth(plan);
      const rows = truth.gl.records + truth.erp.records;
      console.log(
        `files written in ${secs(performance.now() - t)}: GL ${int(truth.gl.records)} rows sum ${truth.gl.amount}, ERP ${int(truth.erp.records)} rows sum ${truth.erp.amount}`,
      );
      const times: Record<string, number> = {};
      for (const engine of engines) {
        const r = await run(process.execPath, [
          '--expose-gc',
          '-r',
          '@swc-node/register',
          __filename,
          '--child',
          engine,
          String(records),
          String(seed),
          dir,
        ]);
        const e = JSON.parse(r.out) as EngineRun;
        const label = `finflow ${engine}${e.used !== engine ? ` (fell back to ${e.used}: ${e.fallback})` : ''}`;
        times[`finflow ${engine}`] = e.wallMs;
        const all =
          e.categories.every((c) => c.found === c.planted && c.sameKeys) &&
          e.totalsOk &&
          e.matched === e.plantedMatched;
        failed ||= !all;
        console.log(
          `${label}: wall ${secs(e.wallMs)} (process ${secs(r.ms)}), ${int(rows / (e.wallMs / 1000))} rows/s (both sides), ` +
            `CPU ${secs(e.cpuMs)}, peak RSS ${e.maxRssMb.toFixed(0)} MB; ${load()}`,
        );
        const ph = Object.entries(e.phases);
        if (ph.length) console.log(`  phases: ${ph.map(([k, v]) => `${k} ${secs(v)}`).join('; ')}`);
        if (e.steps) {
          const top = Object.entries(e.steps)
            .sort((x, y) => y[1] - x[1])
            .slice(0, 8);
          console.log(`  slowest steps: ${top.map(([k, v]) => `[${k}] ${secs(v)}`).join('; ')}`);
        }
        console.log(
          `  found/planted: ${e.categories
            .filter((c) => c.planted > 0 || c.found > 0)
            .map((c) => `${c.category} ${c.found}/${c.planted}${c.sameKeys ? '' : ' (OTHER KEYS)'}`)
            .join(
              ', ',
            )}; matched ${int(e.matched)}/${int(e.plantedMatched)}; control totals ${e.totalsOk ? 'exact' : 'WRONG'}` +
            `${all ? '; every planted discrepancy found and rightly categorised' : '  <-- MISMATCH'}`,
        );
      }
      if (python) {
        for (const lib of ['pandas', 'polars']) {
          const r = await run(python, [
            join(ROOT, 'scripts/datacompy/compare_csv.py'),
            lib,
            join(dir, 'gl.csv'),
            join(dir, 'erp.csv'),
            (TOLERANCE_CENTS / 100).toFixed(2),
          ]);
          const p = JSON.parse(r.out) as PyRun;
          times[`datacompy ${lib}`] = p.total_s * 1000;
          const c = truth.categories;
          console.log(
            `datacompy ${p.datacompy} + ${lib} ${p.version}: wall ${secs(p.total_s * 1000)} (process ${secs(r.ms)}), ` +
              `${int(rows / p.total_s)} rows/s; read ${p.read_s.toFixed(2)} s, normalise ${p.normalise_s.toFixed(2)} s, ` +
              `compare ${p.compare_s.toFixed(2)} s, mismatched rows ${p.extract_s.toFixed(2)} s; peak RSS ${p.max_rss_mb.toFixed(0)} MB; ${load()}`,
          );
          console.log(
            `  found (no categories): only in GL ${p.only_in_gl} (planted missing_in_b ${c.missing_in_b}), only in ERP ${p.only_in_erp} ` +
              `(planted missing_in_a + duplicates' second rows ${c.missing_in_a + c.duplicate_key}), mismatched rows ${p.mismatched_rows} ` +
              `(planted timing + sign + transposition + amount ${c.timing_difference + c.sign_reversal + c.transposition + c.amount_mismatch}; ` +
              `rounding and within_tolerance are inside abs_tol)`,
          );
        }
      }
      const names = Object.keys(times);
      for (const f of names.filter((n) => n.startsWith('finflow')))
        console.log(
          `ratios for ${f}: ${names
            .filter((n) => n !== f)
            .map((n) => `${n} / ${f} = ${(times[n] / times[f]).toFixed(2)}x`)
            .join(', ')} (above 1: finflow faster)`,
        );
    } finally {
      if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    }
  }
  if (failed) process.exitCode = 1;
}

if (require.main === module && process.argv[2] === '--child') {
  const [engine, records, seed, dir] = process.argv.slice(3);
  (engine.endsWith('-e2e')
    ? e2eChild(engine.replace(/-e2e$/, '') as ReconEngine, Number(records), Number(seed), dir)
    : child(engine as ReconEngine, Number(records), Number(seed), dir)
  ).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

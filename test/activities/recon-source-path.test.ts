// A source file's path per run: a recurring close reads each period's own statement (issue 16: a scheduled close
// re-read the first period's files), a relative path is under the files directory, and a placeholder the run has
// no value for is refused by name instead of being read as part of a file name.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource, parseReconSource, sourceFilePath } from '../../activities/recon/sources';
import { systemsFromEnv } from '../../activities/systems';

const filesDir = mkdtempSync(join(tmpdir(), 'finflow-src-path-'));
mkdirSync(join(filesDir, 'gl'));
writeFileSync(join(filesDir, 'gl', 'gl-2026-10.csv'), 'ref,amount\nA-1,10.00\n');
writeFileSync(join(filesDir, 'gl', 'gl-2026-11.csv'), 'ref,amount\nB-1,20.00\nB-2,30.00\n');

describe("a source file's path for a run", () => {
  it("renders the run's period, its bounds and its as-of date, under the files directory", () => {
    const ctx = { filesDir, asOf: '2026-10-31', period: '2026-10' };
    expect(sourceFilePath('gl/gl-{period}.csv', ctx)).toBe(join(filesDir, 'gl', 'gl-2026-10.csv'));
    expect(sourceFilePath('/data/{period_start}_{period_end}/{as_of_date}.xml', ctx)).toBe(
      '/data/2026-10-01_2026-10-31/2026-10-31.xml',
    );
    const fiscal = { asOf: '2026-03-28', period: 'FY2026-P3', periodStart: '2026-02-22', periodEnd: '2026-03-28' };
    expect(sourceFilePath('st-{period}-{period_start}.xml', fiscal)).toBe('st-FY2026-P3-2026-02-22.xml');
  });

  it('refuses a placeholder the run has no value for, naming it', () => {
    expect(() =>
      sourceFilePath('gl-{execution.parameters.month}.csv', { asOf: '2026-10-31', period: '2026-10' }),
    ).toThrow(/\{execution\.parameters\.month\} has no value in this run/);
    expect(() => sourceFilePath('gl-{period_start}.csv', { asOf: '2026-10-31', period: 'FY2026-P3' })).toThrow(
      /\{period_start\} has no value/,
    );
  });

  it("reads each period's own file from one source definition", async () => {
    const systems = systemsFromEnv({ FINFLOW_SYSTEMS: '{}' });
    const source = parseReconSource({ connector: 'csv', path: 'gl/gl-{period}.csv' }, 'a');
    const read = async (period: string, asOf: string) => {
      const rows: unknown[] = [];
      for await (const b of openSource(source, { systems, filesDir, asOf, period }).batches) rows.push(...b);
      return rows.map((r) => (r as { values: Record<string, string> }).values.ref);
    };
    expect(await read('2026-10', '2026-10-31')).toEqual(['A-1']);
    expect(await read('2026-11', '2026-11-30')).toEqual(['B-1', 'B-2']);
    await systems.close();
  });
});

// How a source reaches its connector (issue 16, connectors as plug-ins): what a plug-in's `open` is asked (the file
// path rendered for the run, the definition's other fields as options, the named parameters with the built-ins),
// which sources stay out of the extraction threads, and that the close's sub-system check leaves plug-in systems out
// of its default. The full reconciliation through a plug-in: test/workflows/connector-plugin.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../../activities';
import { isBuiltinSource, openSource, parseReconSource } from '../../activities/recon/sources';
import { systemsFromEnv } from '../../activities/systems';
import type { ConnectorRequest, ConnectorTarget } from '../../contracts/connector';
import { ConnectorRegistry } from '../../platform/connectors';
import { freshDatabase } from '../helpers/postgres';

const filesDir = mkdtempSync(join(tmpdir(), 'finflow-connector-sources-'));

/** A connector that yields one row describing what it was asked. */
function recording(seen: { target?: ConnectorTarget; request?: ConnectorRequest }) {
  return new ConnectorRegistry().registerConnector('echo', (target) => ({
    async *open(request) {
      seen.target = target;
      seen.request = request;
      yield [{ line: 1, values: { ref: 'X', amount: '1.00' } }];
    },
  }));
}

describe('a plug-in source', () => {
  it("is opened with the run's rendered path, its other fields as options, and the built-in parameters", async () => {
    const seen: { target?: ConnectorTarget; request?: ConnectorRequest } = {};
    const source = parseReconSource({ connector: 'echo', path: 'in/{period}.echo', flavour: 'dry' }, 'a');
    expect(isBuiltinSource(source)).toBe(false);
    const opened = openSource(source, {
      systems: systemsFromEnv({}),
      connectors: recording(seen),
      filesDir,
      asOf: '2026-10-31',
      period: '2026-10',
    });
    const rows = [];
    for await (const b of opened.batches) rows.push(...b);
    expect(rows).toEqual([{ line: 1, values: { ref: 'X', amount: '1.00' } }]);
    expect(opened.name).toBe('2026-10.echo');
    expect(seen.target).toEqual({ engine: 'echo' });
    expect(seen.request).toMatchObject({
      source: '2026-10.echo',
      path: join(filesDir, 'in', '2026-10.echo'),
      options: { flavour: 'dry' },
      batchSize: 5000,
      params: {
        as_of_date: { type: 'date', value: '2026-10-31' },
        period: { type: 'text', value: '2026-10' },
        period_start: { type: 'date', value: '2026-10-01' },
        period_end: { type: 'date', value: '2026-10-31' },
      },
    });
  });

  it("reads a system of its engine with the system's URL and the declared parameters", async () => {
    const seen: { target?: ConnectorTarget; request?: ConnectorRequest } = {};
    const systems = systemsFromEnv({
      FINFLOW_SYSTEMS: JSON.stringify({ ext: { engine: 'echo', url: 'echo://h/db' } }),
    });
    const source = parseReconSource(
      {
        connector: 'sql',
        system: 'ext',
        sql: 'rows since :from',
        params: { from: { type: 'date', value: '2026-10-01' } },
      },
      'b',
    );
    const opened = openSource(source, { systems, connectors: recording(seen), asOf: '2026-10-31' });
    for await (const _ of opened.batches) void _;
    expect(opened.name).toBe('echo:ext');
    expect(seen.target).toEqual({ engine: 'echo', system: 'ext', url: 'echo://h/db' });
    expect(seen.request?.query).toBe('rows since :from');
    expect(seen.request?.params.from).toEqual({ type: 'date', value: '2026-10-01' });
    // A system finflow does not read itself has no SQL pool.
    expect(() => systems.engine('ext')).toThrow(/ext is a echo system: a plug-in connector reads it/);
  });

  it('is refused, naming the engine, by a worker without its connector', () => {
    const source = parseReconSource({ connector: 'echo', path: 'x.echo' }, 'a');
    expect(() => openSource(source, { systems: systemsFromEnv({}), asOf: '2026-10-31' })).toThrow(
      /no connector for engine "echo".*registerConnector\('echo', factory\)/,
    );
  });

  it("keeps finflow's own sources built-in, and refuses a source that reads neither a system nor a path", () => {
    expect(isBuiltinSource(parseReconSource({ connector: 'csv', path: 'a.csv' }, 'a'))).toBe(true);
    expect(isBuiltinSource(parseReconSource({ connector: 'sql', system: 'gl', table: 'gl' }, 'a'))).toBe(true);
    expect(() => parseReconSource({ connector: 'echo' }, 'a')).toThrow(/reads a system or a path/);
  });
});

describe("the close's sub-system check", () => {
  it('leaves plug-in systems out of its default (they have no row count to answer with)', async () => {
    const url = await freshDatabase('connector_validate');
    const systems = systemsFromEnv({
      FINFLOW_SYSTEMS: JSON.stringify({ gl: { engine: 'postgres', url }, ext: { engine: 'echo', url: 'echo://h' } }),
    });
    try {
      const out = await createActivities({ systems }).validateSubsystems({
        company: 'ACME',
        period: '2026-10',
        taskId: 'validate',
      });
      expect(out.systems.map((s) => s.system)).toEqual(['gl']);
    } finally {
      await systems.close();
    }
  });
});

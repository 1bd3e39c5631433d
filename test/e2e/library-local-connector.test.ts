// Engine.local() with a connector of the tests' own (issue 16, connectors as plug-ins): the registry given to the
// Engine reaches its in-process worker, and the system's URL reaches the worker's FINFLOW_SYSTEMS, so a reconciliation
// reads a `jsonl` system through the plug-in beside a CSV file. Real dev server and in-process worker (the run's
// PostgreSQL stands in for the embedded one, as in library-local.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectorRegistry, DataSourceRegistry, Engine, SystemRegistry } from '../../index';
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import { jsonl } from '../helpers/jsonl-connector';
import { freshDatabase } from '../helpers/postgres';
import { uniqueId, workflowBundle } from '../helpers/temporal';

let url: string;
let dir: string;

beforeAll(async () => {
  url = await freshDatabase('library_local_connector');
  dir = mkdtempSync(join(tmpdir(), 'finflow-local-connector-'));
  writeFileSync(
    join(dir, 'gl.jsonl'),
    '{"ref":"R1","period":"2026-10","amount":"10.00"}\n{"ref":"R2","period":"2026-10","amount":"2.50"}\n' +
      '{"ref":"R9","period":"2026-11","amount":"7.00"}\n',
  );
  writeFileSync(join(dir, 'bank.csv'), 'ref,amount\nR1,10.00\nR2,2.50\n');
  process.env.FINFLOW_WORK_DIR = join(dir, 'work');
  process.env.FINFLOW_REPORTS_DIR = join(dir, 'reports');
  await workflowBundle();
}, 120_000);

describe('Engine.local() with a plug-in connector', () => {
  it('gives its in-process worker the connectors and the system, and reconciles through them', async () => {
    const connectors = new ConnectorRegistry().registerConnector('jsonl', jsonl);
    const systems = new SystemRegistry().register('ledger', 'jsonl', { connectionString: `file://${dir}` });
    const engine = await Engine.local({
      systems,
      connectors,
      dataSources: new DataSourceRegistry(),
      databaseUrl: url,
      taskQueue: uniqueId('local-connector'),
      workflowBundle: await workflowBundle(),
    });
    try {
      const side = (source: unknown) => ({
        source,
        classification: 'internal',
        key_fields: ['ref'],
        value_fields: ['amount'],
        currency: 'EUR',
      });
      const definition = {
        id: 'ledger-vs-bank',
        a: side({ connector: 'jsonl', system: 'ledger', sql: 'gl.jsonl WHERE period = :period' }),
        b: side({ connector: 'csv', path: join(dir, 'bank.csv') }),
        rules: [{ id: 'exact', type: 'exact' }],
      } as unknown as ReconciliationDefinitionInput;
      const company = uniqueId('LOCAL').replace(/[^A-Za-z0-9-]/g, '');
      const summary = await engine.reconcile(definition, { month_end_date: '2026-10-31', company });
      expect(summary.status).toBe('balanced');
      expect(summary.a).toEqual({ records: 2, amount: '12.50' });
      expect(summary.matches).toBe(2);
    } finally {
      await engine.close();
    }
  }, 180_000);
});

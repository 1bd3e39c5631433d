// Engine.local() end to end (issue 16): the embedded defaults start in this process (the Temporal CLI dev server
// and an in-process worker; the run's PostgreSQL stands in for the embedded one, which jest's module runtime
// cannot load), a close built from code runs on them, and engine.close() stops what Engine.local() started.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { Client } from 'pg';
import { DataSourceRegistry, Engine, FinancialWorkflow, MappingRegistry, SystemRegistry } from '../../index';
import { freshDatabase } from '../helpers/postgres';
import { uniqueId, workflowBundle } from '../helpers/temporal';

let url: string;

beforeAll(async () => {
  url = await freshDatabase('library_local');
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (document_no text, balance numeric(18,2));
    CREATE TABLE erp (doc_ref text, total numeric(18,2));
    INSERT INTO gl VALUES ('D1','100.00'),('D2','250.10'),('D3','75.00');
    INSERT INTO erp VALUES ('D1','100.00'),('D2','250.10'),('D3','84.00');`);
  await db.end();
  const dir = mkdtempSync(join(tmpdir(), 'finflow-local-'));
  process.env.FINFLOW_WORK_DIR = join(dir, 'work');
  process.env.FINFLOW_REPORTS_DIR = join(dir, 'reports');
  await workflowBundle();
}, 120_000);

describe('Engine.local()', () => {
  it('starts the dev server and an in-process worker, runs a close built from code on them, and stops them on close()', async () => {
    const systems = new SystemRegistry().register('general_ledger', 'postgres', { connectionString: url });
    const dataSources = new DataSourceRegistry()
      .register('gl', {
        system: 'general_ledger',
        query: 'SELECT document_no, balance FROM gl',
        keyFields: ['document_no'],
        valueFields: ['balance'],
        currency: 'USD',
      })
      .register('erp', {
        system: 'general_ledger',
        query: 'SELECT doc_ref, total FROM erp',
        keyFields: ['doc_ref'],
        valueFields: ['total'],
        currency: 'USD',
      });
    const mappings = new MappingRegistry().register('gl_to_erp', {
      keyMappings: { document_no: 'doc_ref' },
      valueMappings: { balance: 'total' },
    });
    const engine = await Engine.local({
      systems,
      dataSources,
      mappings,
      databaseUrl: url,
      taskQueue: uniqueId('local'),
      workflowBundle: await workflowBundle(),
    });
    let address = '';
    try {
      address = (await engine.connection()).config.address;
      const wf = new FinancialWorkflow('local_close')
        .setCloseIntegration({ company: uniqueId('LOCAL').replace(/[^A-Za-z0-9-]/g, ''), owner: 'sam' })
        .addReconciliation({
          id: 'gl_vs_erp',
          reconId: 'gl-vs-erp',
          ownerRole: 'accountant',
          sourceA: 'gl',
          sourceB: 'erp',
          mapping: 'gl_to_erp',
          matchingRules: [{ id: 'exact', type: 'exact' }],
        });
      const execution = await engine.execute(wf, { period: '2026-10' });
      await execution.waitFor('completed', { timeout: 90_000 });
      const results = await execution.getResults();
      expect(results.status).toBe('completed');
      expect(results.reconciliation).toMatchObject({ itemsProcessed: 6, exceptions: 1 });
    } finally {
      await engine.close();
    }
    // The dev server is gone: nothing answers on its address any more.
    await expect(Connection.connect({ address, connectTimeout: 2_000 })).rejects.toThrow();
  }, 180_000);
});

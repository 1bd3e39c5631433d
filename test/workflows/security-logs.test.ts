// Worker logs never carry restricted values: the process-wide Temporal Runtime logs through the redacting pino
// logger (installed by the worker's own installWorkerRuntime, as in production), and a close runs whose activity logs
// a restricted field and whose failing activity quotes an IBAN in its error message.
import { log } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { createActivities } from '../../activities';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { REDACTED } from '../../activities/security/redaction';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { createDataConverter } from '../../platform/data-converter';
import { installWorkerRuntime } from '../../workers/main';
import type { monthEndCloseWorkflow } from '../../workflows';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, installRuntimeLogger, testWorkerOptions, uniqueId } from '../helpers/temporal';
import { seedPolicy } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
const SECOND_IBAN = 'GB82WEST12345698765432';
// No pattern recognises this one: only the policy's field rule (bank.account_number: restricted) can hide it.
const ACCOUNT = 'ACCT-7731-55-0092';

const lines: string[] = [];
let env: TestWorkflowEnvironment;
let systems: SystemRegistry;

beforeAll(async () => {
  installRuntimeLogger(() =>
    installWorkerRuntime({
      policy: seedPolicy(),
      level: 'debug',
      destination: { write: (line: string) => void lines.push(line) },
    }),
  );
  const url = await freshDatabase('security_logs');
  const db = new PgClient({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.09');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
}, 180_000);

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

describe('worker logs', () => {
  it('redact restricted fields logged by an activity and IBANs quoted in activity failures, keeping the rest readable', async () => {
    const real = createActivities({ systems });
    const activities = {
      ...real,
      // The real activity, preceded by the kind of log line a connector author might write.
      reconcileTables: async (input: Parameters<typeof real.reconcileTables>[0]) => {
        log.info('reading bank statement lines', {
          reconId: input.reconId,
          rows: 2,
          account_number: ACCOUNT,
          counterparty: { accountNumber: ACCOUNT, note: `pays to ${SECOND_IBAN}` },
        });
        return real.reconcileTables(input);
      },
    };
    const dataConverter = createDataConverter(new KeyRing([generateMasterKey('k1')], 'k1'));
    const taskQueue = uniqueId('tq');
    const company = uniqueId('LOGS').replace(/[^A-Za-z0-9-]/g, '');
    const ref = (table: string, key: string, value: string) => ({
      system: 'ledger',
      table,
      keyField: key,
      valueField: value,
    });
    const worker = await Worker.create(
      await testWorkerOptions({ connection: env.nativeConnection, taskQueue, activities, dataConverter }),
    );
    const result = await worker.runUntil(
      new Client({ connection: env.connection, dataConverter }).workflow.execute<typeof monthEndCloseWorkflow>(
        'monthEndCloseWorkflow',
        {
          taskQueue,
          workflowId: `close:${company}:2026-10`,
          args: [
            {
              company,
              period: '2026-10',
              tasks: [
                {
                  id: 'gl_vs_erp',
                  kind: 'reconciliation',
                  config: {
                    reconId: 'gl-vs-erp',
                    a: ref('gl', 'account_code', 'balance'),
                    b: ref('erp', 'acct_num', 'amt'),
                  },
                },
                {
                  id: 'bank_vs_gl',
                  kind: 'reconciliation',
                  config: {
                    reconId: 'bank-vs-gl',
                    a: ref(`bank ${IBAN}`, 'iban', 'amount'),
                    b: ref('gl', 'account_code', 'balance'),
                  },
                },
              ],
            },
          ],
        },
      ),
    );
    expect(result.tasks.map((t) => t.state)).toEqual(['done_with_exceptions', 'failed']);

    Runtime.instance().flushLogs();
    const output = lines.join('');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // The lines are there, with what is not sensitive in clear...
    const reading = entries.filter((e) => e.msg === 'reading bank statement lines');
    expect(reading).toHaveLength(2);
    expect(reading.map((e) => e.reconId).sort()).toEqual(['bank-vs-gl', 'gl-vs-erp']);
    expect(reading[0]).toMatchObject({
      rows: 2,
      account_number: REDACTED,
      counterparty: { accountNumber: REDACTED, note: `pays to ${REDACTED}` },
      activityType: 'reconcileTables',
    });
    const failed = entries.find((e) => e.msg === 'Activity failed');
    expect(JSON.stringify(failed)).toContain(`a.table \\"bank ${REDACTED}\\" is not a plain SQL identifier`);
    // ...and the restricted values are nowhere.
    for (const secret of [IBAN, SECOND_IBAN, ACCOUNT]) expect(output).not.toContain(secret);
  }, 60_000);
});

// How workers and clients take their keys from the environment: a worker and a client configured only through
// FINFLOW_KEYS run a close on the time-skipping server with every payload encrypted; bad or missing keys stop a
// worker before it connects.
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client as PgClient } from 'pg';
import { KeyConfigError } from '../../activities/security/key-ring';
import { connectClient } from '../../client/connect';
import { FAILURE_CONVERTER_PATH } from '../../platform/data-converter';
import { startWorker } from '../../workers/main';
import {
  ensureKeyFile,
  keyProviderFromEnvIfConfigured,
  resolveDataConverter,
  securityPolicyFromEnv,
  temporalLoggerFromPino,
} from '../../platform/security-setup';
import type { CloseStatus } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, uniqueId, workflowBundle } from '../helpers/temporal';
import pino from 'pino';

const KEY = Buffer.alloc(32, 7).toString('base64');
let env: TestWorkflowEnvironment;
let url: string;
let dir: string;

beforeAll(async () => {
  url = await freshDatabase('security_setup');
  const db = new PgClient({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.10');`);
  await db.end();
  dir = mkdtempSync(join(tmpdir(), 'finflow-setup-'));
}, 180_000);

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {});

describe('keys from the environment', () => {
  it('make startWorker and connectClient encrypt: the close runs and the server holds only ciphertext', async () => {
    const keyEnv = { FINFLOW_KEYS: `env-k1:${KEY}`, DATABASE_URL: url };
    const taskQueue = uniqueId('tq');
    const company = uniqueId('ENVKEY').replace(/[^A-Za-z0-9-]/g, '');
    const worker = await startWorker({
      config: { address: env.address, namespace: 'default', taskQueue },
      connection: env.nativeConnection,
      workflowBundle: await workflowBundle({ failureConverterPath: FAILURE_CONVERTER_PATH }),
      env: keyEnv,
    });
    expect(worker.encrypted).toBe(true);
    const connected = await connectClient({ address: env.address, taskQueue }, { env: keyEnv });
    try {
      expect(connected.dataConverter?.payloadCodecs).toHaveLength(1);
      const ref = (table: string, key: string, value: string) => ({
        system: 'ledger',
        table,
        keyField: key,
        valueField: value,
      });
      const result = (await connected.client.workflow.execute('monthEndCloseWorkflow', {
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
            ],
          },
        ],
      })) as CloseStatus;
      expect(result.tasks[0].result?.status).toBe('balanced');
    } finally {
      await connected.close();
      await worker.stop();
    }
    const raw = await new Client({ connection: env.connection }).workflow
      .getHandle(`close:${company}:2026-10`)
      .fetchHistory();
    const started = raw.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(started?.metadata?.['encryption-key-id'] ?? []).toString()).toBe('env-k1');
    expect(Buffer.from(started?.data ?? []).toString('latin1')).not.toContain('account_code');
  }, 60_000);

  it('bundle the workflows once for both queues, with the failure converter: a refused plan fails in ciphertext', async () => {
    const keyEnv = { FINFLOW_KEYS: `env-k1:${KEY}`, DATABASE_URL: url };
    const taskQueue = uniqueId('tq');
    // No prebuilt bundle: startWorker bundles the workflows itself, as `npm run worker` and the demo do.
    const worker = await startWorker({
      config: { address: env.address, namespace: 'default', taskQueue },
      connection: env.nativeConnection,
      env: keyEnv,
    });
    expect(worker.reconciliationWorker).toBeDefined();
    const connected = await connectClient({ address: env.address, taskQueue }, { env: keyEnv });
    const workflowId = `close:${uniqueId('CYCLE').replace(/[^A-Za-z0-9-]/g, '')}:2026-10`;
    try {
      const manual = (id: string, after: string) => ({ id, kind: 'manual', predecessors: [after] });
      const run = connected.client.workflow.execute('monthEndCloseWorkflow', {
        taskQueue,
        workflowId,
        args: [{ company: 'CYCLE', period: '2026-10', tasks: [manual('a', 'b'), manual('b', 'a')] }],
      });
      // The client holds the keys, so it reads the refusal in clear...
      await expect(run).rejects.toMatchObject({ cause: { message: expect.stringContaining('cycle') } });
    } finally {
      await connected.close();
      await worker.stop();
    }
    // ...while the server holds only the encoded failure: the bundle carries the failure converter.
    const raw = await new Client({ connection: env.connection }).workflow.getHandle(workflowId).fetchHistory();
    const failed = raw.events?.at(-1)?.workflowExecutionFailedEventAttributes?.failure;
    expect(failed?.message).toBe('Encoded failure');
    expect(failed?.encodedAttributes?.metadata?.['encryption-key-id']).toBeDefined();
  }, 60_000);

  it('leave payloads in clear only when no keys are configured, or when encryption is turned off explicitly', async () => {
    expect(await resolveDataConverter(undefined, {})).toBeUndefined();
    expect(await resolveDataConverter(null, { FINFLOW_KEYS: `k1:${KEY}` })).toBeUndefined();
    expect(await resolveDataConverter(undefined, { FINFLOW_KEYS: `k1:${KEY}` })).toMatchObject({
      failureConverterPath: FAILURE_CONVERTER_PATH,
    });
    const plain = await connectClient({ address: env.address }, { env: {} });
    expect(plain.dataConverter).toBeUndefined();
    await plain.close();
  });

  it('stop a worker before it connects when keys are required but absent, malformed, or in a file others can read', async () => {
    const nowhere = { address: '127.0.0.1:1', namespace: 'default', taskQueue: 'never' };
    await expect(startWorker({ config: nowhere, env: { FINFLOW_ENCRYPTION: 'required' } })).rejects.toThrow(
      'FINFLOW_ENCRYPTION=required but neither FINFLOW_KEY_FILE nor FINFLOW_KEYS is set',
    );
    await expect(startWorker({ config: nowhere, env: { FINFLOW_KEYS: 'k1:c2hvcnQ=' } })).rejects.toThrow(
      'key k1 is 5 bytes; AES-256 needs 32',
    );
    const file = join(dir, 'open-keys.json');
    writeFileSync(file, JSON.stringify({ current: 'k1', keys: { k1: KEY } }));
    chmodSync(file, 0o644);
    await expect(startWorker({ config: nowhere, env: { FINFLOW_KEY_FILE: file } })).rejects.toThrow(
      /group\/others must have no access/,
    );
    chmodSync(file, 0o600);
    expect((await (await keyProviderFromEnvIfConfigured({ FINFLOW_KEY_FILE: file }))!.getCurrentKey()).id).toBe('k1');
  });
});

describe('ensureKeyFile', () => {
  it('creates a 0600 key file in a 0700 directory once, and keeps using the same key afterwards', async () => {
    const path = join(dir, 'cache', 'demo-keys.json');
    const first = await ensureKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'cache')).mode & 0o777).toBe(0o700);
    const content = readFileSync(path, 'utf8');
    const second = await ensureKeyFile(path, 'other-id');
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect((await second.getCurrentKey()).key.equals((await first.getCurrentKey()).key)).toBe(true);
    expect((await second.getCurrentKey()).id).toBe('demo-1');
  });

  it('refuses an existing key file that others can read instead of replacing it', async () => {
    const path = join(dir, 'shared-keys.json');
    writeFileSync(path, JSON.stringify({ current: 'k1', keys: { k1: KEY } }), { mode: 0o640 });
    await expect(ensureKeyFile(path)).rejects.toBeInstanceOf(KeyConfigError);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ current: 'k1', keys: { k1: KEY } });
  });
});

describe('securityPolicyFromEnv and the Temporal logger adapter', () => {
  it('reads a YAML or JSON policy file, names the file when it is invalid, and defaults to no field rules', () => {
    const yamlFile = join(dir, 'policy.yaml');
    writeFileSync(yamlFile, 'fields:\n  bank.account_number: restricted\n');
    expect(securityPolicyFromEnv({ FINFLOW_SECURITY_POLICY: yamlFile }).fields).toEqual({
      'bank.account_number': 'restricted',
    });
    const bad = join(dir, 'policy.json');
    writeFileSync(bad, JSON.stringify({ fields: { account_number: 'secret' } }));
    expect(() => securityPolicyFromEnv({ FINFLOW_SECURITY_POLICY: bad })).toThrow(`invalid security policy ${bad}`);
    expect(securityPolicyFromEnv({}).fields).toEqual({});
  });

  it('maps Temporal levels to pino and hands errors to pino as err, with message and stack', () => {
    const lines: string[] = [];
    const logger = temporalLoggerFromPino(pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) }));
    logger.warn('Activity failed', { error: new Error('connection reset'), attempt: 3 });
    logger.trace('polling');
    logger.log('ERROR', 'boom');
    const [warn, trace, error] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warn).toMatchObject({ level: 40, msg: 'Activity failed', attempt: 3, err: { message: 'connection reset' } });
    expect((warn.err as { stack: string }).stack).toContain('Error: connection reset');
    expect(trace).toMatchObject({ level: 10, msg: 'polling' });
    expect(error).toMatchObject({ level: 50, msg: 'boom' });
  });
});

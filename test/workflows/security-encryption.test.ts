// Payload encryption proven against the real time-skipping server: what the server stores is read back with a
// client that has no codec, byte by byte, and must hold no plaintext; a worker with the wrong key must fail
// closed; a key rotation must not disturb a running close.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type DataConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { createActivities } from '../../activities';
import {
  generateMasterKey,
  KeyFileProvider,
  KeyRing,
  rotateKeyFile,
  setCurrentKeyInFile,
  writeKeyFile,
  type KeyProvider,
} from '../../activities/security/key-ring';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { ENCRYPTED_ENCODING, EncryptionCodec, METADATA_KEY_ID_KEY } from '../../platform/codec';
import { createDataConverter } from '../../platform/data-converter';
import type { monthEndCloseWorkflow } from '../../workflows';
import { approvalSignal, statusQuery } from '../../workflows/definitions';
import type { CloseStatus, MonthEndCloseInput } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

// Two valid IBANs: one in the close's input (and so in a failing activity's message), one in the approval signal.
const IBAN = 'DE89370400440532013000';
const SIGNAL_IBAN = 'GB82WEST12345698765432';
const APPROVER = 'approver-q7x3';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
const ring1 = new KeyRing([generateMasterKey('k1')], 'k1');
const converter1 = createDataConverter(ring1);

beforeAll(async () => {
  const url = await freshDatabase('security_enc');
  const db = new PgClient({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10'),('1003','75.00');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.09'),('1004','12.34');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
  await workflowBundle({ failureConverterPath: converter1.failureConverterPath });
}, 180_000);

const started: string[] = [];
afterEach(async () => {
  for (const id of started.splice(0))
    await env.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
});

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

const ref = (table: string, key: string, value: string) => ({
  system: 'ledger',
  table,
  keyField: key,
  valueField: value,
});

/** A close whose input carries a restricted value, one reconciliation that fails quoting it, and an approval. */
function plan(company: string, parts: { failing?: boolean; approval?: boolean } = {}): MonthEndCloseInput {
  started.push(`close:${company}:2026-10`, `recon:${company}:2026-10:gl-vs-erp`, `recon:${company}:2026-10:bank-vs-gl`);
  const tasks: MonthEndCloseInput['tasks'] = [
    {
      id: 'gl_vs_erp',
      name: `GL vs ERP, refunds to ${IBAN}`,
      kind: 'reconciliation',
      config: { reconId: 'gl-vs-erp', a: ref('gl', 'account_code', 'balance'), b: ref('erp', 'acct_num', 'amt') },
    },
  ];
  if (parts.failing)
    tasks.push({
      id: 'bank_vs_gl',
      kind: 'reconciliation',
      // Not an SQL identifier: the activity refuses it with a message that quotes it, IBAN included.
      config: {
        reconId: 'bank-vs-gl',
        a: ref(`bank ${IBAN}`, 'iban', 'amount'),
        b: ref('gl', 'account_code', 'balance'),
      },
    });
  if (parts.approval)
    tasks.push({
      id: 'recon_review',
      kind: 'approval',
      predecessors: ['gl_vs_erp'],
      config: { checkpointId: 'recon-review', role: 'supervisor', escalation: { timeout: '4h', path: ['manager'] } },
    });
  // allowUnsignedApprovals: the approval below is an unsigned signal (development mode, workflows/approval/checkpoints.ts).
  return { company, period: '2026-10', owner: `controller, IBAN ${IBAN}`, tasks, allowUnsignedApprovals: true };
}

function newCompany(prefix: string): string {
  return uniqueId(prefix).replace(/[^A-Za-z0-9-]/g, '');
}

async function newWorker(taskQueue: string, dataConverter: DataConverter, extra: { maxCachedWorkflows?: number } = {}) {
  return Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({ systems }),
      dataConverter,
      ...extra,
    }),
  );
}

async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

/** The raw history as the server stores it, fetched by a client without any codec. */
async function rawHistory(workflowId: string): Promise<temporal.api.history.v1.IHistory> {
  const plain = new Client({ connection: env.connection });
  return plain.workflow.getHandle(workflowId).fetchHistory();
}

/** Every byte of a history (all payloads, failures, names), as the server would send it. */
function historyBytes(history: temporal.api.history.v1.IHistory): string {
  return Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
}

/** Every Payload anywhere in a history's events. */
function payloadsOf(node: unknown, out: Payload[] = []): Payload[] {
  if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return out;
  const candidate = node as { data?: unknown; metadata?: unknown };
  if (ArrayBuffer.isView(candidate.data) && typeof candidate.metadata === 'object') {
    out.push(node as Payload);
    return out;
  }
  for (const v of Object.values(node)) payloadsOf(v, out);
  return out;
}

const meta = (p: Payload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString('utf8');

async function decodeAll(payloads: Payload[], keys: KeyProvider): Promise<unknown[]> {
  const decoded = await new EncryptionCodec(keys).decode(payloads);
  return decoded.map((p) => defaultPayloadConverter.fromPayload(p));
}

function eventsOf(history: temporal.api.history.v1.IHistory, type: temporal.api.enums.v1.EventType) {
  return (history.events ?? []).filter((e) => e.eventType === type);
}
const EventType = temporal.api.enums.v1.EventType;

describe('payload encryption on the time-skipping server', () => {
  it('stores inputs, signals, results and activity failure messages only as ciphertext under the key id, and they decode with the codec', async () => {
    const company = newCompany('ENC');
    const workflowId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const client = new Client({ connection: env.connection, dataConverter: converter1 });
    const worker = await newWorker(taskQueue, converter1);
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId,
        args: [plan(company, { failing: true, approval: true })],
      });
      await waitFor(
        () => handle.query(statusQuery),
        (s) => s.checkpoints.length === 1,
        'checkpoint opened',
      );
      await handle.signal(approvalSignal, {
        checkpointId: 'recon-review',
        decision: 'approved',
        approverId: APPROVER,
        role: 'supervisor',
        comments: `difference refunded to ${SIGNAL_IBAN}`,
      });
      return handle.result();
    });
    // Through the codec the client reads everything, the failure message included.
    expect(result.state).toBe('blocked');
    const bank = result.tasks.find((t) => t.id === 'bank_vs_gl');
    expect(bank?.state).toBe('failed');
    expect(result.checkpoints[0].decisions[0]).toMatchObject({ approverId: APPROVER, comments: expect.any(String) });

    const ids = [workflowId, `recon:${company}:2026-10:gl-vs-erp`, `recon:${company}:2026-10:bank-vs-gl`];
    const histories = await Promise.all(ids.map(rawHistory));
    for (const [i, history] of histories.entries()) {
      const bytes = historyBytes(history);
      for (const secret of [IBAN, SIGNAL_IBAN, APPROVER, 'refunded', 'account_code', 'GL vs ERP'])
        expect({ workflow: ids[i], containsSecret: bytes.includes(secret), secret }).toEqual({
          workflow: ids[i],
          containsSecret: false,
          secret,
        });
      // The SDK's own bookkeeping is written by Temporal's core in the clear and holds no data of ours: a patch
      // marker's id, a local activity marker's sequence and times, the TemporalChangeVersion search attribute.
      const bookkeeping = new Set<Payload>();
      for (const e of history.events ?? []) {
        const marker = e.markerRecordedEventAttributes;
        if (marker && ['core_patch', 'core_local_activity'].includes(marker.markerName ?? ''))
          for (const key of ['data', 'patch-data'])
            for (const p of payloadsOf(marker.details?.[key])) bookkeeping.add(p);
        const sa = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        for (const p of payloadsOf(sa?.TemporalChangeVersion)) bookkeeping.add(p);
      }
      for (const p of bookkeeping) expect(meta(p, 'encoding')).toBe('json/plain');
      const payloads = payloadsOf(history.events).filter((p) => !bookkeeping.has(p));
      expect(payloads.length).toBeGreaterThanOrEqual(2);
      for (const p of payloads) {
        expect(meta(p, 'encoding')).toBe(ENCRYPTED_ENCODING);
        expect(meta(p, METADATA_KEY_ID_KEY)).toBe('k1');
      }
    }

    // The parent's history, decoded with the key: the input and the signal are all there.
    const [parent, , bankChild] = histories;
    const startedEvent = eventsOf(parent, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)[0];
    const [input] = (await decodeAll(
      startedEvent.workflowExecutionStartedEventAttributes!.input!.payloads!,
      ring1,
    )) as MonthEndCloseInput[];
    expect(input.owner).toBe(`controller, IBAN ${IBAN}`);
    const signalEvent = eventsOf(parent, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)[0];
    expect(
      await decodeAll(signalEvent.workflowExecutionSignaledEventAttributes!.input!.payloads!, ring1),
    ).toMatchObject([{ approverId: APPROVER, comments: `difference refunded to ${SIGNAL_IBAN}` }]);
    const completed = eventsOf(parent, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)[0];
    const [closeResult] = (await decodeAll(
      completed.workflowExecutionCompletedEventAttributes!.result!.payloads!,
      ring1,
    )) as CloseStatus[];
    expect(closeResult.tasks.map((t) => t.state)).toEqual(['done_with_exceptions', 'failed', 'done']);

    // The failing activity's message: a placeholder on the server, the real text inside the encrypted attributes.
    const failure = eventsOf(bankChild, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)[0].activityTaskFailedEventAttributes!
      .failure!;
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace ?? '').toBe('');
    const [attributes] = (await decodeAll([failure.encodedAttributes as Payload], ring1)) as { message: string }[];
    expect(attributes.message).toBe(`a.table "bank ${IBAN}" is not a plain SQL identifier`);
  }, 120_000);

  it('encrypts the message of a failure raised in workflow code (the bundle carries the failure converter)', async () => {
    const company = newCompany('WFFAIL');
    const workflowId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const client = new Client({ connection: env.connection, dataConverter: converter1 });
    const input = plan(company);
    // A duplicate task id: the workflow refuses the plan with ApplicationFailure quoting the id.
    input.tasks.push({ ...input.tasks[0], id: IBAN }, { ...input.tasks[0], id: IBAN });
    const worker = await newWorker(taskQueue, converter1);
    await worker.runUntil(async () => {
      await expect(
        client.workflow.execute<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
          taskQueue,
          workflowId,
          args: [input],
        }),
      ).rejects.toMatchObject({ cause: { type: 'InvalidClosePlan', message: `task id ${IBAN} appears twice` } });
    });
    const history = await rawHistory(workflowId);
    const failed = eventsOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)[0]
      .workflowExecutionFailedEventAttributes!.failure!;
    expect(failed.message).toBe('Encoded failure');
    expect(failed.applicationFailureInfo?.type).toBe('InvalidClosePlan');
    expect(historyBytes(history)).not.toContain(IBAN);
  }, 60_000);

  it('fails closed on a worker with the wrong key: the workflow task fails, nothing runs, and the right worker then finishes the close', async () => {
    const company = newCompany('WRONGKEY');
    const workflowId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const client = new Client({ connection: env.connection, dataConverter: converter1 });
    // The same key id with other key material: the id matches, so only authentication can catch it.
    const impostorRing = new KeyRing([generateMasterKey('k1')], 'k1');
    const impostor = createDataConverter(impostorRing);
    const handle = await client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
      taskQueue,
      workflowId,
      args: [plan(company)],
    });
    const wrong = await newWorker(taskQueue, impostor);
    const failedTask = await wrong.runUntil(async () => {
      const history = await waitFor(
        () => rawHistory(workflowId),
        (h) => eventsOf(h, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length > 0,
        'workflow task failed on the wrong-key worker',
      );
      return { history, failure: eventsOf(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)[0] };
    });
    // Nothing of the workflow ran: no child, no activity, no completion, and no plaintext came back from the worker.
    const types = new Set((failedTask.history.events ?? []).map((e) => e.eventType));
    expect(types.has(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)).toBe(false);
    expect(types.has(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toBe(false);
    expect(historyBytes(failedTask.history)).not.toContain(IBAN);
    // The worker reports its failure encrypted under its own key; read with that key it names the cause.
    const taskFailure = failedTask.failure.workflowTaskFailedEventAttributes!.failure!;
    expect(taskFailure.message).toBe('Encoded failure');
    const [failureAttrs] = (await decodeAll([taskFailure.encodedAttributes as Payload], impostorRing)) as {
      message: string;
    }[];
    expect(failureAttrs.message).toMatch(/cannot decrypt payload: authentication failed under key "k1"/);
    const { status } = await handle.describe();
    expect(status.name).toBe('RUNNING');

    const right = await newWorker(taskQueue, converter1);
    const result = await right.runUntil(handle.result());
    expect(result.state).toBe('completed');
    expect(result.tasks[0].result?.keys).toEqual({ matched: 1, amountMismatch: 1, missingInA: 1, missingInB: 1 });
  }, 120_000);

  it('rotates the key under a running close: the same worker keeps going, new payloads use the new key, old ones still decode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finflow-rotate-'));
    const keyFile = join(dir, 'keys.json');
    await writeKeyFile(keyFile, new KeyRing([generateMasterKey('k1')], 'k1'));
    // Client and worker read the file separately, as two processes would; interval 0 re-checks it on every use.
    const clientKeys = new KeyFileProvider(keyFile, 0);
    const workerKeys = new KeyFileProvider(keyFile, 0);
    const client = new Client({ connection: env.connection, dataConverter: createDataConverter(clientKeys) });
    const company = newCompany('ROTATE');
    const workflowId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    // No workflow cache: every workflow task replays the whole history, so the worker must decode the k1 payloads
    // again after the rotation.
    const worker = await newWorker(taskQueue, createDataConverter(workerKeys), { maxCachedWorkflows: 0 });
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId,
        args: [plan(company, { approval: true })],
      });
      await waitFor(
        () => handle.query(statusQuery),
        (s) => s.checkpoints.length === 1,
        'checkpoint opened',
      );
      // Step one: every process learns k2; step two: k2 becomes current.
      await rotateKeyFile(keyFile, 'k2', false);
      await handle.query(statusQuery);
      await setCurrentKeyInFile(keyFile, 'k2');
      await handle.signal(approvalSignal, {
        checkpointId: 'recon-review',
        decision: 'approved',
        approverId: APPROVER,
        role: 'supervisor',
      });
      return handle.result();
    });
    expect(result.state).toBe('completed');
    expect(result.checkpoints[0].decisions[0].approverId).toBe(APPROVER);

    const history = await rawHistory(workflowId);
    const kid = (e: temporal.api.history.v1.IHistoryEvent) => meta(payloadsOf(e)[0], METADATA_KEY_ID_KEY);
    expect(kid(eventsOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)[0])).toBe('k1');
    expect(kid(eventsOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)[0])).toBe('k2');
    expect(kid(eventsOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)[0])).toBe('k2');
    const all = payloadsOf(history.events);
    const afterRotation = new KeyFileProvider(keyFile, 0);
    expect((await afterRotation.getCurrentKey()).id).toBe('k2');
    const decoded = await decodeAll(all, afterRotation);
    expect(decoded).toHaveLength(all.length);
    expect(JSON.stringify(decoded)).toContain(IBAN);
    // Why old keys stay in the ring: with k1 retired, the start of this close could no longer be read.
    const onlyK2 = new KeyRing([await afterRotation.getKey('k2')], 'k2');
    await expect(decodeAll(all, onlyK2)).rejects.toThrow('unknown key id "k1"');
  }, 120_000);
});

// End to end on the Temporal CLI dev server: a real worker, a real PostgreSQL, and closes driven from the
// outside exactly as a user would: the finflow CLI, and the plain `temporal workflow start|signal|query`.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { addUserKeyToFile, userKeysFromFile } from '../../activities/approval/user-keys';
import { systemsFromEnv } from '../../activities/systems';
import { reconWorkflowId } from '../../domain/ids';
import { finflowSearchAttributeKeys } from '../../scripts/lib/dev-server';
import { temporalCliPath } from '../../scripts/lib/servers';
import { startWorker, type RunningWorker } from '../../workers/main';
import type { ApprovalsStatus, CloseStatus, MonthEndCloseInput } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { freshDatabase } from '../helpers/postgres';
import { devServerEnv, uniqueId, workflowBundle } from '../helpers/temporal';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let taskQueue: string;
let dir: string;
/** Each approver's own private key file (finflow keys user add). */
const keyOf: Record<string, string> = {};

beforeAll(async () => {
  const url = await freshDatabase('e2e_cli');
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl SELECT 'A' || g, g * 1.25 FROM generate_series(1, 500) g;
    INSERT INTO erp SELECT 'A' || g, g * 1.25 FROM generate_series(1, 500) g WHERE g <> 77;
    UPDATE erp SET amt = amt + 9 WHERE acct_num = 'A300';`);
  await db.end();
  env = await devServerEnv({ searchAttributes: finflowSearchAttributeKeys() });
  taskQueue = uniqueId('e2e');
  dir = mkdtempSync(join(tmpdir(), 'finflow-e2e-'));
  // Each approver's own key in the user key directory the worker reads, as `finflow keys user add` makes it
  // (test/activities/keys-cli.test.ts): a worker trusts no CLI key it was not given.
  const userKeys = join(dir, 'keys', 'user-keys.json');
  for (const person of ['sue', 'sam'])
    keyOf[person] = (await addUserKeyToFile(userKeys, { personId: person, addedBy: 'ivy.admin' })).privateKeyFile;
  worker = await startWorker({
    config: { address: env.address, namespace: 'default', taskQueue },
    connection: env.nativeConnection,
    systems: systemsFromEnv({ DATABASE_URL: url }),
    workflowBundle: await workflowBundle(),
    approval: { userKeys: userKeysFromFile(join(dir, 'keys', 'user-keys.json')) },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

function plan(company: string): MonthEndCloseInput {
  return {
    company,
    period: '2026-10',
    owner: 'dora',
    approvalPolicy: seedPolicyInput(),
    tasks: [
      {
        id: 'gl_vs_erp',
        kind: 'reconciliation',
        config: {
          reconId: 'gl-vs-erp',
          a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
          b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
        },
      },
      {
        id: 'recon_review',
        kind: 'approval',
        predecessors: ['gl_vs_erp'],
        config: {
          checkpointId: 'recon-review',
          item: { preparer: 'ann', evidence: [{ kind: 'bank_statement', ref: 'store://bank/2026-10' }] },
        },
      },
    ],
  };
}

async function finflow(...args: string[]): Promise<string> {
  const { stdout } = await run(
    join(root, 'bin/finflow'),
    ['--address', env?.address ?? 'localhost:1', '--task-queue', taskQueue, ...args],
    { cwd: root },
  );
  return stdout;
}

/** The CLI exits 2 when the workflow refuses a decision: its answer is still on stdout. */
async function finflowRefused(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    return { code: 0, stdout: await finflow(...args) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

async function temporal(...args: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [...args, '--address', env.address, '--namespace', 'default']);
  return stdout;
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition never met');
}

describe('a close driven from the outside on the dev server', () => {
  it('starts with the finflow CLI, is idempotent, shows its status, takes an approval and completes', async () => {
    const company = uniqueId('CLI').replace(/[^A-Za-z0-9-]/g, '');
    const file = join(dir, `${company}.yaml`);
    writeFileSync(file, JSON.stringify(plan(company))); // JSON is YAML too
    expect(await finflow('close', 'start', file, '--period', '2026-10')).toContain(`started close:${company}:2026-10`);
    expect(await finflow('close', 'start', file)).toContain('already running or done: not started again');

    const status = await until(
      async () =>
        JSON.parse(
          await finflow('close', 'status', '--company', company, '--period', '2026-10', '--json'),
        ) as CloseStatus,
      (s) => s.checkpoints.length === 1,
    );
    expect(status.tasks[0].result).toMatchObject({
      a: { records: 500, amount: '156562.50' },
      b: { records: 499, amount: '156475.25' },
      keys: { matched: 498, amountMismatch: 1, missingInA: 0, missingInB: 1 },
      difference: '87.25',
    });
    expect(await finflow('close', 'status', `close:${company}:2026-10`)).toMatch(
      /checkpoint recon-review: open; may approve: supervisor/,
    );
    // The CLI sends the reconciliation children to the worker's second queue (its own Worker and workflow thread).
    expect(worker.reconciliationWorker).toBeDefined();
    const child = await env.client.workflow.getHandle(reconWorkflowId(company, '2026-10', 'gl-vs-erp')).describe();
    expect(child.taskQueue).toBe(`${taskQueue}-reconciliation`);

    const id = `close:${company}:2026-10`;
    // Without a signing key the decision goes unsigned: refused, and the attempt is in the trail.
    const unsigned = await finflowRefused(
      'approve',
      id,
      '--checkpoint',
      'recon-review',
      '--by',
      'sue',
      '--role',
      'supervisor',
    );
    expect(unsigned.code).toBe(2);
    expect(unsigned.stdout).toContain('(UNSIGNED, round 1): refused (unsigned)');
    // Signed, but the checkpoint requires a resolution: refused by the rules, with the reason.
    const noResolution = await finflowRefused(
      'approve',
      id,
      '--checkpoint',
      'recon-review',
      '--by',
      'sue',
      '--signing-key',
      keyOf.sue,
    );
    expect(noResolution.stdout).toContain('refused (resolution_missing)');
    // sam's key signing as sue: refused as not properly signed, the key being bound to sam.
    const anothers = await finflowRefused(
      'approve',
      id,
      '--checkpoint',
      'recon-review',
      '--by',
      'sue',
      '--resolution',
      'explained',
      '--signing-key',
      keyOf.sam,
    );
    expect(anothers.stdout).toContain('refused (unsigned): signature not accepted (key_of_another_person): key ');
    expect(
      await finflow(
        'approve',
        id,
        '--checkpoint',
        'recon-review',
        '--by',
        'sue',
        '--resolution',
        'A77 is a timing difference; A300 corrected in the ERP',
        '--signing-key',
        keyOf.sue,
      ),
    ).toContain('(signed, round 1): accepted: sue (supervisor) approved level 1 of 1; round 1 is approved');
    const final = await finflow('close', 'result', id, '--json');
    const result = JSON.parse(final) as CloseStatus;
    expect(result.state).toBe('completed');
    expect(result.checkpoints[0].decisions).toHaveLength(1);
    expect(result.checkpoints[0].decisions[0]).toMatchObject({ approverId: 'sue', decision: 'approved', signed: true });
    expect(result.checkpoints[0].refusals.map((r) => [r.approverId, r.reason])).toEqual([
      ['sue', 'unsigned'],
      ['sue', 'resolution_missing'],
      ['sue', 'unsigned'],
    ]);
    const shown = await finflow('approval', 'status', id);
    expect(shown).toMatch(/recon-review {2}APPROVED {2}round 1/);
    expect(shown).toMatch(/approved round 1 level 1 by sue \(supervisor\)/);
    expect(shown).toMatch(/refused {2}sue: unsigned: /);
    // About ten finflow CLI processes, each a few seconds to start on a loaded machine.
  }, 180_000);

  it('runs the same close with only the plain temporal CLI: workflow start, query, signal', async () => {
    const company = uniqueId('TCLI').replace(/[^A-Za-z0-9-]/g, '');
    const id = `close:${company}:2026-10`;
    const inputFile = join(dir, `${company}.json`);
    writeFileSync(inputFile, JSON.stringify(plan(company)));
    await temporal(
      'workflow',
      'start',
      '--type',
      'monthEndCloseWorkflow',
      '--task-queue',
      taskQueue,
      '--workflow-id',
      id,
      '--input-file',
      inputFile,
    );

    const status = await until(
      async () =>
        JSON.parse(
          await temporal('workflow', 'query', '--workflow-id', id, '--name', 'status', '--output', 'json'),
        ) as { queryResult: CloseStatus[] },
      // The Go CLI re-encodes the answer and prints an empty array as null.
      (r) => (r.queryResult[0].checkpoints ?? []).length === 1,
    );
    expect(status.queryResult[0].tasks[0].state).toBe('done_with_exceptions');

    // A plain signal claiming an identity is refused as unsigned, and recorded.
    const claimed = { checkpointId: 'recon-review', decision: 'approved', approverId: 'sam', role: 'supervisor' };
    await temporal('workflow', 'signal', '--workflow-id', id, '--name', 'approval', '--input', JSON.stringify(claimed));
    const refused = await until(
      async () =>
        JSON.parse(
          await temporal('workflow', 'query', '--workflow-id', id, '--name', 'approvals', '--output', 'json'),
        ) as { queryResult: ApprovalsStatus[] },
      (r) => (r.queryResult[0].checkpoints[0].refusals ?? []).length === 1,
    );
    expect(refused.queryResult[0].checkpoints[0].refusals[0]).toMatchObject({ approverId: 'sam', reason: 'unsigned' });

    // sam delegates to sue while he is away, signed with his own key: every running close (found by the visibility
    // query, this one) takes it and says so.
    const lastDay = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const delegated = await finflow(
      'approval',
      'delegate',
      '--from',
      'sam',
      '--to',
      'sue',
      '--until',
      lastDay,
      '--scope',
      'reconciliation',
      '--signing-key',
      keyOf.sam,
    );
    expect(delegated).toContain(`${id}: accepted: sue holds sam's authority for reconciliation from `);

    // The same decision signed by `finflow approval sign`, sent with the plain temporal CLI.
    const signal = await finflow(
      'approval',
      'sign',
      id,
      '--checkpoint',
      'recon-review',
      '--by',
      'sam',
      '--round',
      '1',
      '--resolution',
      'explained',
      '--signing-key',
      keyOf.sam,
    );
    expect(JSON.parse(signal)).toEqual({ checkpointId: 'recon-review', round: 1, token: expect.any(String) });
    await temporal('workflow', 'signal', '--workflow-id', id, '--name', 'approval', '--input', signal.trim());
    const result = JSON.parse(await temporal('workflow', 'result', '--workflow-id', id, '--output', 'json')) as {
      status: string;
      result: CloseStatus;
    };
    expect(result.status).toBe('COMPLETED');
    expect(result.result.state).toBe('completed');
    expect(result.result.checkpoints[0].decisions[0]).toMatchObject({ approverId: 'sam', signed: true });
  }, 120_000);
});

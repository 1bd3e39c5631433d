// End to end on the Temporal CLI dev server, as an operator would run it: a worker configured from its environment
// (payload key file, manifest signing key, evidence and archive directories, audit ledger, security policy), a
// close started and approved with the finflow CLI whose documentation task produces the SOX package of control
// F-R3-GL-15, then `finflow evidence export` after the close, `finflow evidence verify`, `finflow audit verify` and
// `finflow archive list`, all as separate processes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { addUserKeyToFile, userKeysFromFile } from '../../activities/approval/user-keys';
import { exportSigningKey, generateSigningKey, listFiles } from '../../activities/compliance';
import type { TrailEntry } from '../../activities/history-export';
import { systemsFromEnv } from '../../activities/systems';
import { parseEvidenceDocument } from '../../domain/compliance/evidence';
import { finflowSearchAttributeKeys } from '../../scripts/lib/dev-server';
import { FAILURE_CONVERTER_PATH } from '../../platform/data-converter';
import { startWorker, type RunningWorker } from '../../workers/main';
import { ensureKeyFile } from '../../platform/security-setup';
import type { CloseStatus } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { freshDatabase } from '../helpers/postgres';
import { devServerEnv, uniqueId, workflowBundle } from '../helpers/temporal';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const IBAN = 'DE89370400440532013000';
let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let taskQueue: string;
let dir: string;
let approvalKey: string;
let settings: Record<string, string>;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  const url = await freshDatabase('e2e_evidence');
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl SELECT 'A' || g, g * 1.25 FROM generate_series(1, 200) g;
    INSERT INTO erp SELECT 'A' || g, g * 1.25 FROM generate_series(1, 200) g;`);
  await db.end();
  env = await devServerEnv({ searchAttributes: finflowSearchAttributeKeys() });
  taskQueue = uniqueId('e2e-evidence');
  dir = mkdtempSync(join(tmpdir(), 'finflow-e2e-evidence-'));
  await ensureKeyFile(join(dir, 'payload-keys.json'), 'e2e-1');
  const manifestKey = join(dir, 'manifest-signing.pem');
  writeFileSync(manifestKey, exportSigningKey(generateSigningKey()).privateKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ fields: { 'approval.comments': 'restricted' } }));
  settings = {
    FINFLOW_KEY_FILE: join(dir, 'payload-keys.json'),
    FINFLOW_SIGNING_KEY_FILE: manifestKey,
    FINFLOW_EVIDENCE_DIR: join(dir, 'evidence'),
    FINFLOW_ARCHIVE_DIR: join(dir, 'archive'),
    FINFLOW_AUDIT_DATABASE_URL: url,
    FINFLOW_SECURITY_POLICY: join(dir, 'policy.json'),
    FINFLOW_ACTOR: 'records.manager',
  };
  // sam's own key in the user key directory the worker reads, as `finflow keys user add` makes it.
  approvalKey = (
    await addUserKeyToFile(join(dir, 'keys', 'user-keys.json'), { personId: 'sam', addedBy: 'records.manager' })
  ).privateKeyFile;
  // The worker takes its compliance settings from its process environment, like a deployed worker.
  for (const [k, v] of Object.entries(settings)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  worker = await startWorker({
    config: { address: env.address, namespace: 'default', taskQueue },
    connection: env.nativeConnection,
    systems: systemsFromEnv({ DATABASE_URL: url }),
    workflowBundle: await workflowBundle({ failureConverterPath: FAILURE_CONVERTER_PATH }),
    approval: { userKeys: userKeysFromFile(join(dir, 'keys', 'user-keys.json')) },
  });
  expect(worker.encrypted).toBe(true);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function finflow(...args: string[]): Promise<string> {
  const { stdout } = await run(
    join(root, 'bin/finflow'),
    ['--address', env?.address ?? 'localhost:1', '--task-queue', taskQueue, ...args],
    { cwd: root, env: { ...process.env, ...settings } },
  );
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

describe('SOX evidence of a close on the dev server', () => {
  it('is produced by the close, completed by finflow evidence export after it, and verifies', async () => {
    const company = uniqueId('EV').replace(/[^A-Za-z0-9-]/g, '');
    const id = `close:${company}:2026-10`;
    const file = join(dir, `${company}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        company,
        period: '2026-10',
        name: 'SOX close',
        owner: 'dora',
        approvalPolicy: seedPolicyInput(),
        tasks: [
          {
            id: 'gl_vs_erp',
            name: 'GL vs ERP',
            kind: 'reconciliation',
            ownerRole: 'accountant',
            config: {
              reconId: 'gl-vs-erp',
              a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
              b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
            },
          },
          {
            id: 'recon_review',
            name: 'Supervisor review',
            kind: 'approval',
            ownerRole: 'supervisor',
            predecessors: ['gl_vs_erp'],
            config: {
              checkpointId: 'recon-review',
              item: { preparer: 'ann', evidence: [{ kind: 'bank_statement', ref: 'store://bank/2026-10' }] },
            },
          },
          {
            id: 'sox_documentation',
            name: 'SOX documentation for control F-R3-GL-15',
            kind: 'documentation',
            ownerRole: 'controller',
            predecessors: ['recon_review'],
            config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
          },
        ],
      }),
    );
    expect(await finflow('close', 'start', file)).toContain(`started ${id}`);
    await until(
      async () => JSON.parse(await finflow('close', 'status', id, '--json')) as CloseStatus,
      (s) => s.checkpoints.some((c) => c.state === 'open'),
    );
    expect(
      await finflow(
        'approve',
        id,
        '--checkpoint',
        'recon-review',
        '--by',
        'sam',
        '--comment',
        `balanced; the refund went to ${IBAN}`,
        '--resolution',
        'no differences',
        '--signing-key',
        approvalKey,
      ),
    ).toContain('accepted: sam (supervisor) approved');
    const result = JSON.parse(await finflow('close', 'result', id, '--json')) as CloseStatus;
    expect(result.state).toBe('completed');
    const packageId = `SOX_F-R3-GL-15_${company}_2026-10`;
    const pkg = join(settings.FINFLOW_ARCHIVE_DIR, 'packages', packageId);
    // Nobody attested (the plan's documentation step has no attestation): the control is not held (issue 15).
    expect(result.tasks.find((t) => t.id === 'sox_documentation')).toMatchObject({
      state: 'done_with_exceptions',
      output: { packageId, path: pkg, files: 7 },
    });

    const exported = await finflow('evidence', 'export', id);
    expect(exported).toMatch(new RegExp(`^${packageId}: trail of ${id} \\(completed `));
    expect(exported).toContain('(archived package, record updated)');
    expect(await finflow('evidence', 'verify', pkg)).toContain(
      `package ${packageId} verified: 5 files match the signed manifest`,
    );
    expect(await finflow('audit', 'verify')).toMatch(/^audit ledger intact: \d+ entries/);
    expect(await finflow('archive', 'list')).toMatch(new RegExp(`${packageId} {2}retain until 2033-`));

    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(pkg, 'evidence.json'), 'utf8')));
    expect(doc.close).toMatchObject({ closeId: id, state: 'completed' });
    expect(doc.approvals.decisions).toEqual([
      expect.objectContaining({ approverId: 'sam', signed: true, comments: '****3000' }),
    ]);
    expect(doc.allControlsHeld).toBe(false);
    expect(doc.controlsValidated.attestationGiven?.held).toBe(false);
    const trail = readFileSync(join(pkg, 'attachments/workflow_history/history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrailEntry);
    // `finflow approve` sends the submitApproval update: the trail shows who signed what, with which key.
    expect(
      trail.some((e) =>
        /^update submitApproval accepted: sam approved recon-review round 1 \(signed token, key /.test(e.summary),
      ),
    ).toBe(true);
    expect(trail.some((e) => e.workflowId === id && e.event === 'WORKFLOW_EXECUTION_COMPLETED')).toBe(true);
    for (const f of await listFiles(pkg)) expect(readFileSync(join(pkg, f)).includes(IBAN)).toBe(false);
  }, 180_000);
});

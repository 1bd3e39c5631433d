// The seed's SOX scenario (control F-R3-GL-15) as a real close on the time-skipping server, with payload
// encryption on: a reconciliation on PostgreSQL, an approval signed by the gateway's key (and a refused
// self-approval by the preparer), then the documentation task's activity builds the evidence package (history cut
// at its own time, as inside the close), logs it to the audit ledger and archives it; after the close has ended,
// `finflow evidence export` adds the complete history and re-signs the package.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { Client as PgClient, Pool } from 'pg';
import { createActivities } from '../../activities';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval';
import { signApprovalDecision } from '../../activities/approval/signing';
import { AuditLedger } from '../../activities/audit-ledger';
import {
  createCloseEvidenceActivities,
  exportSigningKey,
  FileSystemArchiveStore,
  generateSigningKey,
  listFiles,
  MANIFEST_FILE,
  refreshEvidenceTrail,
  setLegalHold,
  SIGNATURE_FILE,
  verifyEvidencePackage,
  type CloseEvidenceDeps,
} from '../../activities/compliance';
import type { TrailEntry } from '../../activities/history-export';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { registerComplianceCommands } from '../../client/commands/compliance';
import type { ApprovalDecisionInput } from '../../domain/approval';
import { parseEvidenceDocument } from '../../domain/compliance/evidence';
import { maskByFieldName } from '../../domain/security/masking';
import { SecurityPolicySchema } from '../../domain/security/policy';
import { createDataConverter } from '../../platform/data-converter';
import type { monthEndCloseWorkflow } from '../../workflows';
import { approvalSignal, statusQuery } from '../../workflows/definitions';
import type { ClosePlanInput } from '../../domain/close/plan';
import type { CloseRunOptions, CloseStatus, MonthEndCloseInput, ReconciliationSummary } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

const IBAN = 'DE89370400440532013000';
const master = generateMasterKey('k1');
const dataConverter = createDataConverter(new KeyRing([master], 'k1'));
const manifestKey = generateSigningKey();
const policyInput = { fields: { 'approval.comments': 'restricted' } } as const;
const policy = SecurityPolicySchema.parse(policyInput);
const mask = (v: unknown) => maskByFieldName(v, policy, ['auditor'], { maskFreeText: true }).value;

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let url: string;
let pool: Pool;
let ledger: AuditLedger;
/** Each person's own key, in the user key directory the worker reads (no CLI key is trusted otherwise). */
let people: PeopleKeys;
let work: string;
const started: string[] = [];

beforeAll(async () => {
  url = await freshDatabase('close_evidence');
  const db = new PgClient({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10'),('1003','75.00');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.10'),('1003','40.00'),('1003','35.00');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  people = await PeopleKeys.of(['ann', 'sam']);
  work = mkdtempSync(join(tmpdir(), 'finflow-close-evidence-'));
  await workflowBundle({ failureConverterPath: dataConverter.failureConverterPath });
}, 180_000);

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
  await pool?.end();
});

function closeInput(company: string): MonthEndCloseInput {
  started.push(`close:${company}:2026-10`, `recon:${company}:2026-10:gl-vs-erp`);
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
          item: { preparer: 'ann', evidence: [{ kind: 'bank_statement', ref: 'store://recon/gl-vs-erp/statement' }] },
        },
      },
    ],
  };
}

async function signed(
  workflowId: string,
  decision: Omit<ApprovalDecisionInput, 'workflowId' | 'checkpointId' | 'round' | 'roles'>,
) {
  const { token, nonce } = await signApprovalDecision(
    { workflowId, checkpointId: 'recon-review', round: 1, roles: [], ...decision },
    people.keyOf(decision.approverId),
    { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: new Date(await env.currentTimeMs()) },
  );
  return { signal: { checkpointId: 'recon-review', token }, token, nonce };
}

async function waitFor(
  handle: { query: (q: typeof statusQuery) => Promise<CloseStatus> },
  ok: (s: CloseStatus) => boolean,
) {
  let last: CloseStatus | undefined;
  for (let i = 0; i < 300; i++) {
    last = await handle.query(statusQuery);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `status never reached the expected state; last: run ${last?.run} ${JSON.stringify(last?.tasks.map((t) => [t.id, t.state, t.reason]))}`,
  );
}

function readTrail(path: string): TrailEntry[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TrailEntry);
}

async function finflow(envVars: NodeJS.ProcessEnv, ...args: string[]): Promise<{ lines: string[]; error?: string }> {
  const lines: string[] = [];
  const program = new Command('finflow').exitOverride();
  registerComplianceCommands(program, (l) => lines.push(l), envVars);
  try {
    await program.parseAsync(['node', 'finflow', ...args]);
    return { lines };
  } catch (err) {
    return { lines, error: (err as Error).message };
  }
}

/** Runs the SOX close to its end with a refused self-approval and sam's signed approval; returns its final status. */
async function runClose(
  company: string,
  client: Client,
): Promise<{ result: CloseStatus; samNonce: string; samToken: string }> {
  const taskQueue = uniqueId('tq');
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      dataConverter,
      activities: createActivities({ systems, approval: { userKeys: people } }),
    }),
  );
  return worker.runUntil(async () => {
    const handle = await client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
      taskQueue,
      workflowId: `close:${company}:2026-10`,
      args: [closeInput(company)],
    });
    await waitFor(handle, (s) => s.checkpoints.some((c) => c.state === 'open'));
    // The preparer tries to approve her own reconciliation: refused (segregation of duties), and recorded.
    await handle.signal(
      approvalSignal,
      (await signed(handle.workflowId, { decision: 'approved', approverId: 'ann', resolution: 'mine' })).signal,
    );
    await waitFor(handle, (s) => s.checkpoints[0].refusals.length === 1);
    const sam = await signed(handle.workflowId, {
      decision: 'approved',
      approverId: 'sam',
      comments: `1003 split over two ERP lines; the refund went to ${IBAN}`,
      resolution: 'no differences; 1003 is one ledger line against two ERP postings that add up',
    });
    await handle.signal(approvalSignal, sam.signal);
    return { result: await handle.result(), samNonce: sam.nonce, samToken: sam.token };
  });
}

describe('the close evidence package of control F-R3-GL-15', () => {
  it('is built by the documentation activity from the close, archived and logged; evidence export then adds the full history', async () => {
    const company = uniqueId('SOX').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    const client = new Client({ connection: env.connection, dataConverter });
    const { result, samNonce, samToken } = await runClose(company, client);
    expect(result.state).toBe('completed');
    const sam = result.checkpoints[0].decisions.find((d) => d.approverId === 'sam');
    expect(sam).toBeDefined();

    const evidenceRoot = join(work, `evidence-${company}`);
    const archiveRoot = join(work, `archive-${company}`);
    const store = new FileSystemArchiveStore(archiveRoot);
    const deps: CloseEvidenceDeps = {
      signingKey: manifestKey,
      evidenceRoot,
      archive: { store },
      ledger,
      client,
      mask,
      actor: 'finflow-worker',
    };
    // The documentation task runs right after the approval, before the close ends: its history stops there.
    const asOf = sam?.at as string;
    const produced = await createCloseEvidenceActivities(deps).produceCloseEvidence({
      closeWorkflowId: closeId,
      company,
      period: '2026-10',
      taskId: 'sox_documentation',
      config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
      reconciliations: result.tasks.filter((t) => t.result).map((t) => t.result as ReconciliationSummary),
      approvals: result.checkpoints,
      journal: [{ at: asOf, by: 'dora', action: 'complete', taskId: 'recon_review', reason: 'approved by sam' }],
      asOf,
    });
    const packageId = `SOX_F-R3-GL-15_${company}_2026-10`;
    // Nobody attested: the package must not claim the control held (issue 15).
    expect(produced).toMatchObject({ packageId, path: store.location(packageId), allControlsHeld: false });
    expect(produced.attestationMissingFrom).toEqual(['controller']);
    const dir = produced.path;
    expect(await listFiles(dir)).toEqual([
      'attachments/workflow_history/history.html',
      'attachments/workflow_history/history.jsonl',
      'evidence.json',
      MANIFEST_FILE,
      SIGNATURE_FILE,
      'report.html',
      'report.pdf',
    ]);
    expect(produced.files).toBe(7);
    const first = await verifyEvidencePackage(dir, manifestKey.publicKey);
    expect(first).toMatchObject({ ok: true, errors: [], manifestSha256: produced.manifestSha256 });

    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')));
    expect(doc.control).toMatchObject({
      regulation: 'SOX',
      controlId: 'F-R3-GL-15',
      attestationRequiredFrom: ['controller'],
      evidence: [
        'reconciliation_summary',
        'exception_report',
        'exception_handling',
        'approval_evidence',
        'workflow_history',
      ],
    });
    expect(doc.control.description).toContain('reconciliation');
    expect(doc.close).toMatchObject({ closeId, company, state: 'running', completedAt: asOf });
    expect(doc.population.totals).toEqual({
      reconciliations: 1,
      balanced: 1,
      withExceptions: 0,
      recordsA: 3,
      recordsB: 4,
      amountA: '425.10',
      amountB: '425.10',
      matchedKeys: 3,
      exceptionKeys: 0,
    });
    expect(doc.approvals.decisions).toEqual([
      expect.objectContaining({
        checkpointId: 'recon-review',
        decision: 'approved',
        approverId: 'sam',
        role: 'supervisor',
        signed: true,
        nonce: samNonce,
        comments: '****3000',
      }),
    ]);
    expect(doc.approvals.refusals).toEqual([
      expect.objectContaining({
        checkpointId: 'recon-review',
        approverId: 'ann',
        reason: expect.stringMatching(/^self_approval: /),
      }),
    ]);
    expect(doc.preparedBy).toMatchObject({ id: 'ann' });
    expect(doc.reviewedBy).toMatchObject({ id: 'sam', role: 'supervisor', at: asOf });
    expect(doc.controlsValidated.controlTotalsBalanced.held).toBe(true);
    expect(doc.controlsValidated.segregationOfDuties).toMatchObject({ held: true });
    expect(doc.controlsValidated.segregationOfDuties.detail).toContain('1 self-approval attempt(s) refused');
    expect(doc.controlsValidated.approvalsWithinLimits.held).toBe(true);
    expect(doc.controlsValidated.exceptionsAccountedFor.held).toBe(true);
    expect(doc.closeJournal).toEqual([
      { at: asOf, by: 'dora', action: 'complete', taskId: 'recon_review', reason: 'approved by sam' },
    ]);
    expect(doc.evidence.find((e) => e.kind === 'workflow_history')?.satisfiedBy).toEqual([
      'attachments/workflow_history/history.jsonl',
      'attachments/workflow_history/history.html',
    ]);
    expect(doc.evidence.find((e) => e.kind === 'exception_handling')?.satisfiedBy).toContain(
      'evidence.json#/closeJournal',
    );

    // The trail so far: the close and its child up to the approval, decoded; the close's end is not in it yet.
    const early = readTrail(join(dir, 'attachments/workflow_history/history.jsonl'));
    expect(early.some((e) => e.workflowId === `recon:${company}:2026-10:gl-vs-erp`)).toBe(true);
    expect(early.some((e) => e.event === 'WORKFLOW_EXECUTION_COMPLETED' && e.workflowId === closeId)).toBe(false);
    expect(early.every((e) => e.time <= asOf)).toBe(true);
    for (const f of await listFiles(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes(IBAN)).toBe(false);
      expect(bytes.includes(samToken)).toBe(false);
    }

    const record = await store.get(packageId);
    expect(record?.manifestSha256).toBe(produced.manifestSha256);
    const years =
      new Date(record?.retainUntil as string).getUTCFullYear() -
      new Date(record?.archivedAt as string).getUTCFullYear();
    expect(years).toBe(7);
    const logged = await pool.query<{ action: string; subject: string }>(
      `SELECT action, subject FROM audit_ledger WHERE subject = $1 ORDER BY seq`,
      [packageId],
    );
    expect(logged.rows.map((r) => r.action)).toEqual(['evidence.generated', 'evidence.archived']);

    // A retry of the activity (same input, same cut-off) changes nothing and is refused by nobody.
    const again = await createCloseEvidenceActivities(deps).produceCloseEvidence({
      closeWorkflowId: closeId,
      company,
      period: '2026-10',
      taskId: 'sox_documentation',
      config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
      reconciliations: result.tasks.filter((t) => t.result).map((t) => t.result as ReconciliationSummary),
      approvals: result.checkpoints,
      journal: [{ at: asOf, by: 'dora', action: 'complete', taskId: 'recon_review', reason: 'approved by sam' }],
      asOf,
    });
    expect(again.manifestSha256).toBe(produced.manifestSha256);
    expect(again.ledgerSeq).toBe(produced.ledgerSeq);

    // After the close: `finflow evidence export` with the worker's settings from the environment.
    const keyFile = join(work, `sign-${company}.pem`);
    writeFileSync(keyFile, exportSigningKey(manifestKey).privateKeyPem);
    const policyFile = join(work, `policy-${company}.json`);
    writeFileSync(policyFile, JSON.stringify(policyInput));
    const cliEnv = {
      TEMPORAL_ADDRESS: env.address,
      FINFLOW_KEYS: `k1:${master.key.toString('base64')}`,
      FINFLOW_SIGNING_KEY_FILE: keyFile,
      FINFLOW_SECURITY_POLICY: policyFile,
      FINFLOW_AUDIT_DATABASE_URL: url,
      FINFLOW_ACTOR: 'records.manager',
    };
    const exported = await finflow(cliEnv, 'evidence', 'export', closeId, '--archive', archiveRoot);
    expect(exported.error).toBeUndefined();
    expect(exported.lines.join('\n')).toMatch(
      new RegExp(`^${packageId}: trail of ${closeId} \\(completed .*\\): \\d+ events of 2 workflow\\(s\\); rewrote `),
    );
    const verified = await finflow(cliEnv, 'evidence', 'verify', dir);
    expect(verified).toEqual({ lines: [`package ${packageId} verified: 5 files match the signed manifest`] });

    const full = readTrail(join(dir, 'attachments/workflow_history/history.jsonl'));
    expect(full.length).toBeGreaterThan(early.length);
    const end = full.find((e) => e.event === 'WORKFLOW_EXECUTION_COMPLETED' && e.workflowId === closeId);
    expect(end).toBeDefined();
    // The approval signal carries its signed-token proof: header, claims (restricted comments masked), signature, hash.
    const samSignal = full.find(
      (e) => e.event === 'WORKFLOW_EXECUTION_SIGNALED' && JSON.stringify(e.details).includes(`"sub":"sam"`),
    );
    expect(samSignal?.details).toMatchObject({
      signalName: 'approval',
      input: [
        {
          checkpointId: 'recon-review',
          token: {
            jws: {
              protectedHeader: { alg: 'EdDSA', kid: people.keyOf('sam').kid, typ: 'finflow-approval+jwt' },
              claims: { sub: 'sam', decision: 'approved', jti: samNonce, comments: '****3000', workflowId: closeId },
              signature: samToken.split('.')[2],
              sha256: createHash('sha256').update(samToken).digest('hex'),
            },
          },
        },
      ],
    });
    expect(samSignal?.summary).toBe(
      `signal approval: sam approved recon-review round 1 (signed token, key ${people.keyOf('sam').kid}, nonce ${samNonce})`,
    );
    const after = parseEvidenceDocument(JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')));
    expect(after.close).toMatchObject({ state: 'completed', completedAt: end?.time });
    for (const f of await listFiles(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes(IBAN)).toBe(false);
      expect(bytes.includes(samToken)).toBe(false);
    }
    const revised = await store.get(packageId);
    expect(revised?.retainUntil).toBe(record?.retainUntil);
    expect(revised?.revisions).toEqual([
      expect.objectContaining({
        by: 'records.manager',
        previousManifestSha256: produced.manifestSha256,
        manifestSha256: revised?.manifestSha256,
      }),
    ]);
    expect(revised?.manifestSha256).not.toBe(produced.manifestSha256);

    // Exporting again rewrites nothing: the history of an ended close does not change.
    const twice = await finflow(cliEnv, 'evidence', 'export', closeId, '--archive', archiveRoot);
    expect(twice.lines.join('\n')).toContain('nothing changed');
    expect((await store.get(packageId))?.manifestSha256).toBe(revised?.manifestSha256);
    const log = await pool.query<{ action: string }>(
      `SELECT action FROM audit_ledger WHERE subject = $1 ORDER BY seq`,
      [packageId],
    );
    expect(log.rows.map((r) => r.action)).toEqual([
      'evidence.generated',
      'evidence.archived',
      'evidence.trail_exported',
      'evidence.revised',
    ]);
    expect((await ledger.verify({})).ok).toBe(true);

    // A legal hold freezes the package: no export touches it until the hold is lifted.
    await setLegalHold({ store }, { packageId, on: true, by: 'counsel', reason: 'litigation 2026-117' });
    const held = await finflow(cliEnv, 'evidence', 'export', closeId, '--archive', archiveRoot);
    expect(held.error).toMatch(/under legal hold .* by counsel: litigation 2026-117/);
  }, 180_000);

  it('resumes a trail export killed mid-way and ends with the same manifest as an uninterrupted one', async () => {
    const company = uniqueId('SOXR').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    const client = new Client({ connection: env.connection, dataConverter });
    const { result } = await runClose(company, client);
    const sam = result.checkpoints[0].decisions.find((d) => d.approverId === 'sam');
    const deps: CloseEvidenceDeps = {
      signingKey: manifestKey,
      evidenceRoot: join(work, `ev-${company}`),
      client,
      mask,
    };
    const produced = await createCloseEvidenceActivities(deps).produceCloseEvidence({
      closeWorkflowId: closeId,
      company,
      period: '2026-10',
      taskId: 'sox_documentation',
      config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
      reconciliations: result.tasks.filter((t) => t.result).map((t) => t.result as ReconciliationSummary),
      approvals: result.checkpoints,
      journal: [],
      asOf: sam?.at,
    });
    const copy = join(work, `copy-${company}`, produced.packageId);
    cpSync(produced.path, copy, { recursive: true });
    const trailDeps = { client, codecs: dataConverter.payloadCodecs, mask, signingKey: manifestKey };

    // The reference: `finflow evidence export --out <evidence directory>` on a package that was not archived.
    const keyFile = join(work, `sign-${company}.pem`);
    writeFileSync(keyFile, exportSigningKey(manifestKey).privateKeyPem);
    const policyFile = join(work, `policy-${company}.json`);
    writeFileSync(policyFile, JSON.stringify(policyInput));
    const cli = await finflow(
      {
        TEMPORAL_ADDRESS: env.address,
        FINFLOW_KEYS: `k1:${master.key.toString('base64')}`,
        FINFLOW_SIGNING_KEY_FILE: keyFile,
        FINFLOW_SECURITY_POLICY: policyFile,
      },
      'evidence',
      'export',
      closeId,
      '--out',
      deps.evidenceRoot,
      '--json',
    );
    expect(cli.error).toBeUndefined();
    const [reference] = JSON.parse(cli.lines.join('\n')) as {
      manifestSha256: string;
      archived: boolean;
      dir: string;
    }[];
    expect(reference).toMatchObject({ archived: false, dir: produced.path });

    // Killed after evidence.json: the history and evidence.json are new, the reports and manifest still old.
    await expect(
      refreshEvidenceTrail(trailDeps, {
        dir: copy,
        closeWorkflowId: closeId,
        onFile: (p) => {
          if (p === 'evidence.json') throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect((await verifyEvidencePackage(copy, manifestKey.publicKey)).ok).toBe(false);
    const resumed = await refreshEvidenceTrail(trailDeps, { dir: copy, closeWorkflowId: closeId });
    expect(resumed.written).toEqual(['report.html', 'report.pdf', MANIFEST_FILE, SIGNATURE_FILE]);
    expect(readFileSync(join(copy, MANIFEST_FILE))).toEqual(readFileSync(join(produced.path, MANIFEST_FILE)));
    expect(readFileSync(join(copy, SIGNATURE_FILE))).toEqual(readFileSync(join(produced.path, SIGNATURE_FILE)));
    expect(resumed.manifestSha256).toBe(reference.manifestSha256);
    expect((await verifyEvidencePackage(copy, manifestKey.publicKey)).ok).toBe(true);
  }, 180_000);
  it('is produced by the close itself when its documentation task runs, and completed by evidence export afterwards', async () => {
    const company = uniqueId('SOXP').replace(/[^A-Za-z0-9-]/g, '');
    const closeId = `close:${company}:2026-10`;
    started.push(closeId, `recon:${company}:2026-10:gl-vs-erp`);
    const client = new Client({ connection: env.connection, dataConverter });
    const archiveRoot = join(work, `archive-${company}`);
    const store = new FileSystemArchiveStore(archiveRoot);
    const keyFile = join(work, `sign-${company}.pem`);
    writeFileSync(keyFile, exportSigningKey(manifestKey).privateKeyPem);
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        dataConverter,
        activities: createActivities({
          systems,
          approval: { userKeys: people },
          // No client: the activity reads the history through the worker's own (Context.client, same codec).
          closeEvidence: {
            signingKey: manifestKey,
            evidenceRoot: join(work, `ev-${company}`),
            archive: { store },
            ledger,
            mask,
          },
        }),
      }),
    );
    const plan: ClosePlanInput & CloseRunOptions = {
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
            item: { preparer: 'ann', evidence: [{ kind: 'bank_statement', ref: 'store://recon/gl-vs-erp/statement' }] },
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
    };
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: closeId,
        args: [plan],
      });
      await waitFor(handle, (s) => s.checkpoints.some((c) => c.checkpointId === 'recon-review' && c.state === 'open'));
      const early = await finflow(
        {
          TEMPORAL_ADDRESS: env.address,
          FINFLOW_KEYS: `k1:${master.key.toString('base64')}`,
          FINFLOW_SIGNING_KEY_FILE: keyFile,
        },
        'evidence',
        'export',
        closeId,
        '--archive',
        archiveRoot,
      );
      expect(early.error).toBe(
        `${closeId} is still running: its history is complete only once it ends; export it afterwards`,
      );
      for (let i = 0; i < 3; i++)
        await handle.signal(
          approvalSignal,
          (await signed(closeId, { decision: 'approved', approverId: 'ann', resolution: `mine, try ${i}` })).signal,
        );
      await waitFor(
        handle,
        (s) => (s.checkpoints.find((c) => c.checkpointId === 'recon-review')?.refusals.length ?? 0) === 3,
      );
      const sam = await signed(closeId, {
        decision: 'approved',
        approverId: 'sam',
        comments: `checked; the refund went to ${IBAN}`,
        resolution: 'no differences; 1003 is one ledger line against two ERP postings',
      });
      await handle.signal(approvalSignal, sam.signal);
      return handle.result();
    });
    expect(result.state).toBe('completed');
    const doc = result.tasks.find((t) => t.id === 'sox_documentation');
    const packageId = `SOX_F-R3-GL-15_${company}_2026-10`;
    // The plan's documentation step has no attestation: its control is not held, so the step is done with exceptions.
    expect(doc?.state).toBe('done_with_exceptions');
    expect(doc?.output).toMatchObject({ packageId, path: store.location(packageId), files: 7 });
    const dir = store.location(packageId);
    expect((await verifyEvidencePackage(dir, manifestKey.publicKey)).ok).toBe(true);
    const evidence = parseEvidenceDocument(JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')));
    expect(evidence.close).toMatchObject({ closeId, state: 'running' });
    expect(evidence.approvals.refusals).toHaveLength(3);
    expect(evidence.allControlsHeld).toBe(false);
    expect(evidence.controlsValidated.attestationGiven).toEqual({
      held: false,
      detail: 'the attestation required from controller was not given',
    });
    expect(evidence.controlsValidated.exceptionsExplained?.held).toBe(true);
    const early = readTrail(join(dir, 'attachments/workflow_history/history.jsonl'));
    // The documentation task's own scheduling is the last thing its trail can hold, but for the close's status
    // read-model write of that same turn (a local activity's marker: close-status-read-model).
    expect(
      early.filter((e) => e.workflowId === closeId && !e.summary.startsWith('marker core_local_activity')).pop()
        ?.summary,
    ).toMatch(/^activity produceCloseEvidence scheduled/);
    expect(early.some((e) => e.summary.startsWith('signal approval: sam approved recon-review'))).toBe(true);

    const policyFile = join(work, `policy-${company}.json`);
    writeFileSync(policyFile, JSON.stringify(policyInput));
    const exported = await finflow(
      {
        TEMPORAL_ADDRESS: env.address,
        FINFLOW_KEYS: `k1:${master.key.toString('base64')}`,
        FINFLOW_SIGNING_KEY_FILE: keyFile,
        FINFLOW_SECURITY_POLICY: policyFile,
        FINFLOW_ARCHIVE_DIR: archiveRoot,
      },
      'evidence',
      'export',
      closeId,
    );
    expect(exported.error).toBeUndefined();
    const full = readTrail(join(dir, 'attachments/workflow_history/history.jsonl'));
    const runs = new Set(full.filter((e) => e.workflowId === closeId).map((e) => e.runId));
    const lastRun = (await client.workflow.getHandle(closeId).describe()).runId;
    expect(runs.has(lastRun)).toBe(true);
    expect(full.some((e) => e.workflowId === closeId && e.event === 'WORKFLOW_EXECUTION_COMPLETED')).toBe(true);
    expect(full.some((e) => e.summary.startsWith('activity produceCloseEvidence completed'))).toBe(true);
    expect(full.filter((e) => e.event === 'WORKFLOW_EXECUTION_STARTED' && e.workflowId === closeId)).toHaveLength(
      runs.size,
    );
    for (const f of await listFiles(dir)) expect(readFileSync(join(dir, f)).includes(IBAN)).toBe(false);
    expect((await verifyEvidencePackage(dir, manifestKey.publicKey)).ok).toBe(true);
  }, 180_000);
});

// produceCloseEvidence over the reconciliation engine's outputs: exceptions read from the result store on
// PostgreSQL (open, explained, resolved), the report files a run recorded (checked against their SHA-256), and the
// refusals of bad configuration. The control here names no workflow history, so no Temporal server is involved;
// the history path is covered by test/workflows/history-export-close-evidence.test.ts.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import {
  createCloseEvidenceActivities,
  generateSigningKey,
  listFiles,
  verifyEvidencePackage,
  type CloseEvidenceDeps,
  type CloseEvidenceInput,
} from '../../activities/compliance';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { type ActionRequest, createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { parseEvidenceDocument } from '../../domain/compliance/evidence';
import type { CheckpointStatus, ReconciliationSummary } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';

const key = generateSigningKey();
let pool: Pool;
let store: ResultStore;
let work: string;
let runId: string;
let reportPath: string;

const CONTROL = {
  regulation: 'SOX',
  controlId: 'F-R3-GL-15',
  // No workflow_history: this suite has no Temporal server.
  evidence: ['reconciliation_summary', 'exception_report', 'exception_handling', 'approval_evidence'],
  attestations: [{ id: 'chris', role: 'controller', at: '2026-11-04T17:00:00Z', statement: 'attested' }],
};

const approval: CheckpointStatus = {
  checkpointId: 'recon-review',
  state: 'approved',
  allowedRoles: ['supervisor'],
  escalations: [],
  decisions: [
    {
      at: '2026-11-03T10:15:00.000Z',
      approverId: 'sam',
      role: 'supervisor',
      decision: 'approved',
      round: 1,
      level: 1,
      signed: true,
      nonce: 'n-1',
    },
  ],
  refusals: [],
  item: { type: 'reconciliation', preparer: 'ann' },
  rounds: [
    {
      round: 1,
      status: 'approved',
      openedAt: '2026-11-02T16:00:00.000Z',
      preparerId: 'ann',
      mode: 'single',
      basis: 'required_roles',
      levels: [{ level: 1, role: 'supervisor', limit: null, signedBy: 'sam', at: '2026-11-03T10:15:00.000Z' }],
      escalatedTo: [],
      reminders: [],
    },
  ],
};

beforeAll(async () => {
  const url = await freshDatabase('close_evidence_act');
  pool = new Pool({ connectionString: url, max: 2 });
  store = createResultStore({ pool });
  await store.migrate();
  runId = 'recon:ACME:2026-10:gl-vs-erp/run-1';
  await store.startRun({
    workflowId: 'recon:ACME:2026-10:gl-vs-erp',
    workflowRunId: 'run-1',
    reconId: 'gl-vs-erp',
    definitionHash: 'h1',
  });
  await store.writeExceptions(runId, [
    {
      itemId: 'GL:2',
      side: 'both',
      key: '1002',
      category: 'amount_mismatch',
      amount: '250.10',
      difference: '0.01',
      amountA: '250.10',
      amountB: '250.09',
    },
    { itemId: 'GL:3', side: 'a', key: '1003', category: 'missing_in_b', amount: '75.00', difference: '75.00' },
    { itemId: 'ERP:4', side: 'b', key: '1004', category: 'missing_in_a', amount: '12.34', difference: '-12.34' },
  ]);
  await store.resolveException(runId, 'GL:2', {
    by: 'alex',
    explanation: 'rounding booked in JE-77',
    at: '2026-11-02T15:30:00Z',
  });
  await store.explainException(runId, 'GL:3', {
    by: 'alex',
    explanation: 'posted in ERP on 1 Nov',
    at: '2026-11-02T15:35:00Z',
  });
  work = mkdtempSync(join(tmpdir(), 'finflow-close-evidence-act-'));
  reportPath = join(work, 'gl-vs-erp_exceptions_2026-10-31.xlsx');
  writeFileSync(reportPath, 'not really a workbook, but bytes with a hash');
}, 60_000);

afterAll(async () => {
  await pool?.end();
});

function summary(over: Partial<ReconciliationSummary> = {}): ReconciliationSummary {
  return {
    reconId: 'gl-vs-erp',
    status: 'exceptions',
    a: { records: 3, amount: '425.10' },
    b: { records: 3, amount: '362.43' },
    keys: { matched: 1, amountMismatch: 1, missingInA: 1, missingInB: 1 },
    difference: '62.67',
    runId,
    controlTotals: 'balanced',
    reports: [
      {
        kind: 'exceptions',
        format: 'xlsx',
        path: reportPath,
        sha256: createHash('sha256').update(readFileSync(reportPath)).digest('hex'),
        rows: 3,
      },
    ],
    ...over,
  };
}

function input(over: Partial<CloseEvidenceInput> = {}): CloseEvidenceInput {
  return {
    closeWorkflowId: 'close:ACME:2026-10',
    company: 'ACME',
    period: '2026-10',
    taskId: 'sox_documentation',
    config: CONTROL,
    reconciliations: [summary()],
    approvals: [approval],
    journal: [
      {
        at: '2026-11-03T11:00:00.000Z',
        by: 'dora',
        action: 'waive',
        taskId: 'bank_vs_gl',
        reason: 'bank feed down, reconciled by hand',
      },
      {
        at: '2026-11-03T11:05:00.000Z',
        by: 'ann',
        action: 'skip',
        taskId: 'gl_vs_erp',
        accepted: false,
        refusal: 'ann is not the owner of gl_vs_erp',
      },
    ],
    asOf: '2026-11-04T17:45:00.000Z',
    ...over,
  };
}

async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('produceCloseEvidence over the reconciliation engine', () => {
  it('lists every exception from the result store with how it was handled, attaches the run report, and verifies', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'a'), resultStore: () => store };
    const r = await createCloseEvidenceActivities(deps).produceCloseEvidence(input());
    // ERP:4 (12.34) is still open: nobody explained it, so the control is not held, though the attestation is given.
    expect(r).toMatchObject({
      packageId: 'SOX_F-R3-GL-15_ACME_2026-10',
      allControlsHeld: false,
      attestationMissingFrom: [],
    });
    expect(await listFiles(r.path)).toContain('attachments/exception_report/gl-vs-erp_exceptions_2026-10-31.xlsx');
    expect((await verifyEvidencePackage(r.path, key.publicKey)).ok).toBe(true);

    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(r.path, 'evidence.json'), 'utf8')));
    const byId = Object.fromEntries(doc.exceptions.items.map((e) => [e.id, e]));
    expect(Object.keys(byId).sort()).toEqual(['gl-vs-erp:ERP:4', 'gl-vs-erp:GL:2', 'gl-vs-erp:GL:3']);
    expect(byId['gl-vs-erp:GL:2']).toMatchObject({
      category: 'amount_mismatch',
      amountA: '250.10',
      amountB: '250.09',
      difference: '0.01',
      resolution: { status: 'resolved', by: 'alex', at: '2026-11-02T15:30:00.000Z', note: 'rounding booked in JE-77' },
    });
    expect(byId['gl-vs-erp:GL:3'].resolution).toMatchObject({
      status: 'resolved',
      by: 'alex',
      note: 'explained: posted in ERP on 1 Nov',
    });
    expect(byId['gl-vs-erp:ERP:4']).toMatchObject({ amountA: null, amountB: '12.34', resolution: { status: 'open' } });
    expect(doc.exceptions).toMatchObject({ count: 3, open: 1 });
    expect(doc.controlsValidated.exceptionsAccountedFor.held).toBe(true);
    expect(doc.controlsValidated.exceptionsExplained).toEqual({
      held: false,
      detail: '1 unexplained exception(s) above materiality 0, totalling 12.34 (gl-vs-erp:ERP:4)',
    });
    expect(doc.controlsValidated.attestationGiven).toEqual({
      held: true,
      detail: 'attested by chris (controller) at 2026-11-04T17:00:00Z',
    });
    expect(doc.evidence.find((e) => e.kind === 'exception_report')?.satisfiedBy).toContain(
      'attachments/exception_report/gl-vs-erp_exceptions_2026-10-31.xlsx',
    );
    expect(doc.closeJournal).toEqual(input().journal);
    const html = readFileSync(join(r.path, 'report.html'), 'utf8');
    expect(html).toContain('refused: ann is not the owner of gl_vs_erp');
    expect(html).toContain('signed token, nonce n-1');
    expect(doc.attestation.given).toEqual([CONTROL.attestations[0]]);

    // The same input again (an activity retry): the same package, byte for byte.
    const again = await createCloseEvidenceActivities(deps).produceCloseEvidence(input());
    expect(again.manifestSha256).toBe(r.manifestSha256);
  });

  it('holds the control when the only unexplained exception is within the materiality the documentation step sets', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'm'), resultStore: store };
    const r = await createCloseEvidenceActivities(deps).produceCloseEvidence(
      input({ config: { ...CONTROL, materiality: '12.34' } }),
    );
    expect(r.allControlsHeld).toBe(true);
    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(r.path, 'evidence.json'), 'utf8')));
    expect(doc.control.materiality).toBe('12.34');
    expect(doc.controlsValidated.exceptionsExplained).toEqual({
      held: true,
      detail: 'no unexplained exception above materiality 12.34 (1 unexplained at or below it)',
    });
  });

  it('shows every explanation and resolution with its reason code, reference and author from the exception lifecycle', async () => {
    const run2 = 'recon:ACME:2026-10:gl-vs-erp/run-2';
    await store.startRun({
      workflowId: 'recon:ACME:2026-10:gl-vs-erp',
      workflowRunId: 'run-2',
      reconId: 'gl-vs-erp',
      definitionHash: 'h1',
    });
    await store.writeExceptions(run2, [
      {
        itemId: 'GL:2',
        side: 'both',
        key: '1002',
        category: 'amount_mismatch',
        amount: '250.10',
        difference: '0.01',
        amountA: '250.10',
        amountB: '250.09',
      },
      { itemId: 'GL:3', side: 'a', key: '1003', category: 'missing_in_b', amount: '75.00', difference: '75.00' },
      { itemId: 'ERP:4', side: 'b', key: '1004', category: 'missing_in_a', amount: '12.34', difference: '-12.34' },
    ]);
    const actions = createExceptionActionStore({ pool, results: store });
    const act = (itemIds: string[], action: ActionRequest['action'], at: string) =>
      actions.apply({
        runId: run2,
        reconId: 'gl-vs-erp',
        actor: { id: 'ann', roles: ['accountant'] },
        ownerRoles: ['accountant'],
        action,
        itemIds,
        at,
      });
    await act(
      ['GL:2', 'GL:3', 'ERP:4'],
      { action: 'explain', reasonCode: 'timing', text: 'posted in November' },
      '2026-11-02T10:00:00Z',
    );
    await act(
      ['GL:2'],
      { action: 'resolve', kind: 'adjusting_entry', text: 'rounding booked', reference: 'JE-77', amount: '0.01' },
      '2026-11-02T11:00:00Z',
    );
    await act(['GL:3'], { action: 'carry_forward', text: 'clears in November' }, '2026-11-02T12:00:00Z');
    await act(['ERP:4'], { action: 'reopen', reason: 'not in November after all' }, '2026-11-02T13:00:00Z');
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'l'), exceptionActions: actions };
    const r = await createCloseEvidenceActivities(deps).produceCloseEvidence(
      input({ reconciliations: [summary({ runId: run2 })] }),
    );
    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(r.path, 'evidence.json'), 'utf8')));
    const byId = Object.fromEntries(doc.exceptions.items.map((e) => [e.id, e]));
    expect(byId['gl-vs-erp:GL:2']).toMatchObject({
      amountA: '250.10',
      amountB: '250.09',
      difference: '0.01',
      resolution: {
        status: 'adjusted',
        by: 'ann',
        at: '2026-11-02T11:00:00.000Z',
        reference: 'JE-77',
        note: 'adjusting entry JE-77 of 0.01: rounding booked; explained (timing) by ann: posted in November',
      },
    });
    expect(byId['gl-vs-erp:GL:3'].resolution).toMatchObject({
      status: 'carried_forward',
      by: 'ann',
      note: 'carried forward; explained (timing) by ann: posted in November',
    });
    expect(byId['gl-vs-erp:ERP:4'].resolution).toMatchObject({
      status: 'open',
      note: 'reopened; was explained (timing) by ann: posted in November',
    });
    // ERP:4 is open again (12.34): the control is not held, and the package says which.
    expect(doc.controlsValidated.exceptionsExplained?.detail).toBe(
      '1 unexplained exception(s) above materiality 0, totalling 12.34 (gl-vs-erp:ERP:4)',
    );
  });

  it('reports the control NOT held when the required attestation was never given, naming the role', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'n'), resultStore: store };
    const { attestations: _none, ...unattested } = CONTROL;
    const r = await createCloseEvidenceActivities(deps).produceCloseEvidence(
      input({ config: { ...unattested, materiality: '100' } }),
    );
    expect(r).toMatchObject({ allControlsHeld: false, attestationMissingFrom: ['controller'] });
    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(r.path, 'evidence.json'), 'utf8')));
    expect(doc.attestation.given).toEqual([]);
    expect(doc.controlsValidated.attestationGiven).toEqual({
      held: false,
      detail: 'the attestation required from controller was not given',
    });
    expect(doc.controlsValidated.exceptionsExplained?.held).toBe(true);
  });

  it('refuses a materiality that is not an amount of 0 or more, naming the field', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'o'), resultStore: store };
    const err = await refusal(
      createCloseEvidenceActivities(deps).produceCloseEvidence(input({ config: { ...CONTROL, materiality: '-5' } })),
    );
    expect(err.type).toBe('InvalidEvidenceInput');
    expect(err.message).toContain('materiality: a materiality is an amount of 0 or more');
  });

  it('says in the package that a control did not hold instead of leaving it out', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'b'), resultStore: store };
    const selfApproved: CheckpointStatus = {
      ...approval,
      decisions: [{ ...approval.decisions[0], approverId: 'ann', role: 'supervisor' }],
    };
    const r = await createCloseEvidenceActivities(deps).produceCloseEvidence(
      input({ approvals: [selfApproved], reconciliations: [summary({ difference: '62.66' })] }),
    );
    expect(r.allControlsHeld).toBe(false);
    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(r.path, 'evidence.json'), 'utf8')));
    expect(doc.controlsValidated.segregationOfDuties).toEqual({
      held: false,
      detail: 'recon-review: ann decided on an item prepared by ann',
    });
    expect(doc.controlsValidated.controlTotalsBalanced.detail).toBe(
      'gl-vs-erp: A 425.10 - B 362.43 = 62.67, but the difference reported is 62.66',
    );
    expect(readFileSync(join(r.path, 'report.html'), 'utf8')).toContain('ann decided on an item prepared by ann');
  });

  it('refuses a report that changed since its run recorded it, naming it', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'c'), resultStore: store };
    const s = summary();
    s.reports = [{ ...s.reports![0], sha256: '0'.repeat(64) }];
    const err = await refusal(
      createCloseEvidenceActivities(deps).produceCloseEvidence(input({ reconciliations: [s] })),
    );
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('InvalidEvidenceInput');
    expect(err.message).toContain(`report ${reportPath} no longer has the SHA-256 its run recorded`);
  });

  it('refuses a control finflow does not know unless the config describes it, and a misspelt config field', async () => {
    const deps: CloseEvidenceDeps = { signingKey: key, evidenceRoot: join(work, 'd'), resultStore: store };
    const acts = createCloseEvidenceActivities(deps);
    const unknown = await refusal(
      acts.produceCloseEvidence(input({ config: { regulation: 'SOX', controlId: 'X-1' } })),
    );
    expect(unknown.message).toBe(
      'task sox_documentation config: control SOX X-1 is not one finflow knows, so the config must give description, attestationText, attestationRequiredFrom',
    );
    const typo = await refusal(acts.produceCloseEvidence(input({ config: { ...CONTROL, attestationFrom: 'cfo' } })));
    expect(typo.message).toContain('task sox_documentation config');
    expect(typo.message).toContain('attestationFrom');
    const described = await acts.produceCloseEvidence(
      input({
        config: {
          regulation: 'SOX',
          controlId: 'X-1',
          description: 'Bank reconciliation reviewed monthly',
          evidence: ['reconciliation_summary'],
          attestation: { text: 'I attest the bank reconciliation.', requiredFrom: ['cfo', 'controller'] },
        },
      }),
    );
    expect(described).toMatchObject({
      packageId: 'SOX_X-1_ACME_2026-10',
      attestationMissingFrom: ['cfo', 'controller'],
    });
  });

  it('refuses to run on a worker with no signing key', async () => {
    const saved = { a: process.env.FINFLOW_SIGNING_KEY, b: process.env.FINFLOW_SIGNING_KEY_FILE };
    delete process.env.FINFLOW_SIGNING_KEY;
    delete process.env.FINFLOW_SIGNING_KEY_FILE;
    try {
      const err = await refusal(createCloseEvidenceActivities().produceCloseEvidence(input()));
      expect(err).toMatchObject({ type: 'EvidenceNotConfigured', nonRetryable: true });
      expect(err.message).toContain('FINFLOW_SIGNING_KEY');
    } finally {
      if (saved.a !== undefined) process.env.FINFLOW_SIGNING_KEY = saved.a;
      if (saved.b !== undefined) process.env.FINFLOW_SIGNING_KEY_FILE = saved.b;
    }
  });
});

// The close's controls as the evidence package states them, each shown holding and failing, and the mapping of a
// close's state (checkpoints, journal, summaries) to evidence input.
import {
  checkApprovalsWithinLimits,
  checkControlTotals,
  checkSegregationOfDuties,
  closeEvidenceInput,
  resolveControl,
  parseCloseEvidenceConfig,
  type CloseCheckpoint,
  type CloseReconciliation,
} from '../../domain/compliance/close-evidence';
import { buildEvidenceDocument, parseEvidenceInput } from '../../domain/compliance/evidence';

const recon = (over: Partial<CloseReconciliation> = {}): CloseReconciliation => ({
  reconId: 'gl-vs-erp',
  status: 'exceptions',
  a: { records: 4, amount: '465.10' },
  b: { records: 5, amount: '402.43' },
  keys: { matched: 2, amountMismatch: 1, missingInA: 1, missingInB: 1 },
  difference: '62.67',
  ...over,
});

const je = (over: Partial<CloseCheckpoint> = {}): CloseCheckpoint => ({
  checkpointId: 'je-approval',
  state: 'approved',
  decisions: [
    {
      at: '2026-11-03T10:00:00.000Z',
      approverId: 'maya',
      role: 'manager',
      decision: 'approved',
      round: 1,
      level: 1,
      signed: true,
      nonce: 'n1',
    },
    {
      at: '2026-11-03T11:00:00.000Z',
      approverId: 'dan',
      role: 'director',
      decision: 'approved',
      round: 1,
      level: 2,
      signed: true,
      nonce: 'n2',
    },
  ],
  refusals: [
    {
      at: '2026-11-03T09:00:00.000Z',
      approverId: 'ann',
      role: 'accountant',
      reason: 'self_approval',
      message: 'ann prepared this item',
    },
  ],
  item: { type: 'journal_entry', amount: '75000.00', currency: 'USD', preparer: 'ann', ref: 'JE-42' },
  rounds: [
    {
      round: 1,
      status: 'approved',
      openedAt: '2026-11-02T16:00:00.000Z',
      preparerId: 'ann',
      amount: '75000.00',
      levels: [
        { level: 1, role: 'manager', limit: '50000', signedBy: 'maya' },
        { level: 2, role: 'director', limit: '1000000', signedBy: 'dan' },
      ],
    },
  ],
  audit: [{ at: '2026-11-02T16:00:00.000Z', event: 'submitted', actor: 'ann', role: 'accountant' }],
  ...over,
});

describe('the control totals check', () => {
  it('holds when each side ties to the difference and the keys fit the records', () => {
    expect(
      checkControlTotals([
        recon(),
        recon({
          reconId: 'bank',
          status: 'balanced',
          a: { records: 1, amount: '5' },
          b: { records: 1, amount: '5.00' },
          keys: { matched: 1, amountMismatch: 0, missingInA: 0, missingInB: 0 },
          difference: '0',
        }),
      ]).held,
    ).toBe(true);
  });

  it('fails naming the reconciliation when the difference, the keys or the status do not add up', () => {
    expect(checkControlTotals([recon({ difference: '62.00' })]).detail).toBe(
      'gl-vs-erp: A 465.10 - B 402.43 = 62.67, but the difference reported is 62.00',
    );
    expect(checkControlTotals([recon({ a: { records: 2, amount: '465.10' } })]).detail).toBe(
      'gl-vs-erp: 4/4 keys out of 2/5 records in',
    );
    expect(checkControlTotals([recon({ status: 'balanced' })])).toEqual({
      held: false,
      detail: 'gl-vs-erp: status balanced but its keys say exceptions',
    });
    expect(checkControlTotals([])).toEqual({ held: false, detail: 'no reconciliation ran in this close' });
  });

  it("judges the status by the engine's open exceptions, whatever their category, when the engine gives them", () => {
    // Timing differences and duplicates are exceptions the three legacy key counts do not name.
    const engine = recon({
      keys: { matched: 2, amountMismatch: 0, missingInA: 0, missingInB: 0 },
      exceptions: 2,
      openExceptions: 1,
    });
    expect(checkControlTotals([engine]).held).toBe(true);
    expect(checkControlTotals([{ ...engine, status: 'balanced' }])).toEqual({
      held: false,
      detail: 'gl-vs-erp: status balanced but its open exceptions say exceptions',
    });
    expect(checkControlTotals([{ ...engine, openExceptions: 0, status: 'balanced' }]).held).toBe(true);
  });

  it("takes the engine's per-currency check for a multi-currency side, and fails without it", () => {
    const multi = recon({ a: { records: 4, amount: 'multi-currency' }, difference: 'multi-currency' });
    expect(checkControlTotals([{ ...multi, controlTotals: 'balanced' }]).held).toBe(true);
    expect(checkControlTotals([multi]).detail).toBe(
      'gl-vs-erp: amounts in several currencies and no per-currency control totals from the engine',
    );
  });
});

describe('the segregation of duties check', () => {
  it('holds when nobody decides on their own item, and counts the refused self-approvals', () => {
    expect(checkSegregationOfDuties([je()])).toEqual({
      held: true,
      detail:
        'every decision (je-approval: maya, je-approval: dan) was signed by someone other than the preparer; je-approval: 1 self-approval attempt(s) refused',
    });
  });

  it('fails on a decision by the preparer, a person signing twice in a round, or an unsigned decision', () => {
    const [maya, dan] = je().decisions;
    expect(checkSegregationOfDuties([je({ decisions: [maya, { ...dan, approverId: 'ann' }] })]).detail).toBe(
      'je-approval: ann decided on an item prepared by ann',
    );
    expect(checkSegregationOfDuties([je({ decisions: [maya, { ...dan, approverId: 'maya' }] })]).detail).toBe(
      'je-approval: maya signed twice in round 1',
    );
    expect(checkSegregationOfDuties([je({ decisions: [maya, { ...dan, signed: false }] })]).detail).toBe(
      "je-approval: dan's decision was unsigned (identity claimed, not proven)",
    );
    expect(checkSegregationOfDuties([]).held).toBe(false);
  });
});

describe('the approvals within limits check', () => {
  it('holds when every signed level covers the amount, and ignores checkpoints never opened', () => {
    const r = checkApprovalsWithinLimits([je(), je({ checkpointId: 'waive:x', state: 'pending' })]);
    expect(r).toEqual({
      held: true,
      detail: 'je-approval: 75000.00 within the authority of dan (director, limit 1000000)',
    });
  });

  it("fails when a signer's limit is below the amount, or an approval is still open or deadlocked", () => {
    const rounds = je().rounds!;
    const over = je({ rounds: [{ ...rounds[0], levels: [{ ...rounds[0].levels[0] }] }] });
    expect(checkApprovalsWithinLimits([over]).detail).toBe(
      'je-approval: 75000.00 exceeds the limit of every signer: maya (manager, limit 50000)',
    );
    expect(
      checkApprovalsWithinLimits([je({ state: 'deadlocked', blockedReason: 'nobody left to escalate to' })]),
    ).toEqual({
      held: false,
      detail: 'je-approval is deadlocked (nobody left to escalate to), not decided',
    });
    expect(checkApprovalsWithinLimits([je({ state: 'pending' })]).held).toBe(false);
  });
});

describe('closeEvidenceInput', () => {
  it('turns a close into evidence input the package schema accepts, with preparer, reviewer and proofs', () => {
    const raw = closeEvidenceInput(
      {
        closeWorkflowId: 'close:ACME:2026-10',
        company: 'ACME',
        period: '2026-10',
        taskId: 'sox',
        config: { regulation: 'sox', controlId: 'F-R3-GL-15' },
        reconciliations: [
          recon({
            status: 'balanced',
            keys: { matched: 4, amountMismatch: 0, missingInA: 0, missingInB: 0 },
            b: { records: 5, amount: '465.10' },
            difference: '0.00',
          }),
        ],
        approvals: [je()],
        journal: [
          {
            at: '2026-11-03T12:00:00.000Z',
            by: 'dora',
            action: 'waive',
            taskId: 'bank',
            accepted: false,
            refusal: 'needs approval',
          },
        ],
      },
      { asOf: '2026-11-04T17:00:00.000Z' },
    );
    const history = {
      kind: 'workflow_history',
      mode: 'copy' as const,
      file: 'attachments/workflow_history/history.jsonl',
      source: null,
      sha256: '0'.repeat(64),
      bytes: 1,
      description: null,
    };
    // The seed control asks for the workflow history; without it the package is refused.
    expect(() => buildEvidenceDocument(parseEvidenceInput(raw), [])).toThrow(/not supplied: workflow_history/);
    const doc = buildEvidenceDocument(parseEvidenceInput(raw), [history]);
    expect(doc.control.controlId).toBe('F-R3-GL-15');
    expect(doc.preparedBy).toEqual({ id: 'ann', role: 'accountant', at: '2026-11-02T16:00:00.000Z' });
    expect(doc.reviewedBy).toEqual({ id: 'dan', role: 'director', at: '2026-11-03T11:00:00.000Z' });
    expect(doc.approvals.decisions.map((d) => [d.approverId, d.limit, d.signed, d.nonce, d.level])).toEqual([
      ['maya', '50000', true, 'n1', 1],
      ['dan', '1000000', true, 'n2', 2],
    ]);
    expect(doc.approvals.refusals).toEqual([
      {
        checkpointId: 'je-approval',
        approverId: 'ann',
        role: 'accountant',
        at: '2026-11-03T09:00:00.000Z',
        reason: 'self_approval: ann prepared this item',
      },
    ]);
    expect(doc.closeJournal).toEqual([
      {
        at: '2026-11-03T12:00:00.000Z',
        by: 'dora',
        action: 'waive',
        taskId: 'bank',
        accepted: false,
        refusal: 'needs approval',
      },
    ]);
    expect(doc.close).toMatchObject({ state: 'running', completedAt: '2026-11-04T17:00:00.000Z' });
  });

  it('prefers the preparer and reviewer the config names', () => {
    const raw = closeEvidenceInput(
      {
        closeWorkflowId: 'c',
        company: 'ACME',
        period: '2026-10',
        taskId: 'sox',
        config: {
          regulation: 'SOX',
          controlId: 'F-R3-GL-15',
          preparedBy: { id: 'pat', role: 'accountant' },
          reviewedBy: { id: 'rev', role: 'controller', at: '2026-11-04T09:00:00Z' },
        },
        reconciliations: [recon()],
        approvals: [je()],
        journal: [],
      },
      { asOf: '2026-11-04T17:00:00.000Z' },
    );
    expect(raw.preparedBy).toEqual({ id: 'pat', role: 'accountant', at: '2026-11-04T17:00:00.000Z' });
    expect(raw.reviewedBy).toEqual({ id: 'rev', role: 'controller', at: '2026-11-04T09:00:00Z' });
  });
});

describe('the documentation task config', () => {
  it('completes the seed control from its id and takes the attestation in either form', () => {
    expect(
      resolveControl(parseCloseEvidenceConfig({ regulation: 'SOX', controlId: 'F-R3-GL-15' })).attestationRequiredFrom,
    ).toEqual(['controller']);
    const c = resolveControl(
      parseCloseEvidenceConfig({
        regulation: 'SOX',
        controlId: 'F-R3-GL-15',
        attestation: { text: 'I attest.', requiredFrom: 'cfo' },
      }),
    );
    expect([c.attestationText, c.attestationRequiredFrom]).toEqual(['I attest.', ['cfo']]);
  });

  it('names the bad field of a config', () => {
    expect(() => parseCloseEvidenceConfig({ regulation: 'SOX' }, 'task sox config')).toThrow(
      /^task sox config: controlId: /,
    );
    expect(() =>
      resolveControl(
        parseCloseEvidenceConfig({
          regulation: 'SOX',
          controlId: 'bad id!',
          description: 'd',
          attestationText: 't',
          attestationRequiredFrom: 'x',
        }),
      ),
    ).toThrow(/controlId: a control id is letters/);
  });
});

// The evidence package's verdict on the people's half of a control: the required attestation given, and no
// unexplained exception above the control's materiality. Issue 15: a package once said "all controls held" with
// attestation.given = [] and exceptions open.
import {
  buildEvidenceDocument,
  parseEvidenceDocument,
  parseEvidenceInput,
  type EvidenceInputRaw,
} from '../../domain/compliance/evidence';
import { checkSegregationOfDuties, type CloseCheckpoint } from '../../domain/compliance/close-evidence';
import { describeMaterial, totalsText, unexplainedAboveMateriality } from '../../domain/exceptions/materiality';
import { SOX_CONTROL, soxScenarioInput } from '../activities/compliance-fixture';

/** The seed scenario with every exception resolved (none open), attested by the controller. */
function allWorked(over: Partial<EvidenceInputRaw> = {}): EvidenceInputRaw {
  const base = soxScenarioInput({ exceptions: 6, openEvery: 1000 });
  return { ...base, ...over };
}

const build = (raw: EvidenceInputRaw) => buildEvidenceDocument(parseEvidenceInput(raw), []);

describe('the evidence package’s conclusion on attestation and exceptions', () => {
  it('says every control held when every exception was handled and the controller attested', () => {
    const doc = build(allWorked());
    expect(doc.controlsValidated.attestationGiven).toEqual({
      held: true,
      detail: 'attested by chris.controller (controller) at 2026-11-04T17:00:00Z',
    });
    expect(doc.controlsValidated.exceptionsExplained).toEqual({
      held: true,
      detail: 'no unexplained exception above materiality 0',
    });
    expect(doc.allControlsHeld).toBe(true);
  });

  it('reports the control NOT held when the required attestation is missing, naming from whom', () => {
    const doc = build(allWorked({ attestations: [] }));
    expect(doc.attestation).toMatchObject({ given: [], missingFrom: ['controller'] });
    expect(doc.controlsValidated.attestationGiven).toEqual({
      held: false,
      detail: 'the attestation required from controller was not given',
    });
    expect(doc.allControlsHeld).toBe(false);
  });

  it('needs an attestation from every required role: one role of two is not enough', () => {
    const control = { ...SOX_CONTROL, attestationRequiredFrom: ['controller', 'cfo'] };
    const doc = build(allWorked({ control }));
    expect(doc.controlsValidated.attestationGiven).toEqual({
      held: false,
      detail: 'the attestation required from cfo was not given',
    });
    expect(doc.allControlsHeld).toBe(false);
  });

  it('reports the control NOT held while unexplained exceptions above materiality remain, with their count and total', () => {
    const raw = allWorked();
    raw.exceptions[1].resolution = { status: 'open' };
    raw.exceptions[4].resolution = { status: 'open', note: 'under investigation' };
    const doc = build(raw);
    const total = [raw.exceptions[1], raw.exceptions[4]]
      .map((e) => Math.round(Math.abs(Number(e.difference)) * 100))
      .reduce((a, b) => a + b, 0);
    expect(doc.controlsValidated.exceptionsExplained).toEqual({
      held: false,
      detail: `2 unexplained exception(s) above materiality 0, totalling ${(total / 100).toFixed(2)} (EX-000002, EX-000005)`,
    });
    expect(doc.allControlsHeld).toBe(false);
  });

  it('holds when the unexplained exceptions are all at or below the control’s materiality, and says how many there are', () => {
    const raw = allWorked();
    // EX-000001 is an amount mismatch of 0.01.
    raw.exceptions[0].resolution = { status: 'open' };
    const held = build({ ...raw, control: { ...SOX_CONTROL, materiality: '0.01' } });
    expect(held.controlsValidated.exceptionsExplained).toEqual({
      held: true,
      detail: 'no unexplained exception above materiality 0.01 (1 unexplained at or below it)',
    });
    expect(held.allControlsHeld).toBe(true);
    const strict = build({ ...raw, control: { ...SOX_CONTROL, materiality: '0.00' } });
    expect(strict.controlsValidated.exceptionsExplained?.held).toBe(false);
  });

  it('does not count an explained, resolved, adjusted, waived or written-off exception as unexplained', () => {
    const raw = allWorked();
    const statuses = ['resolved', 'adjusted', 'waived', 'written_off', 'resolved', 'adjusted'] as const;
    raw.exceptions.forEach((e, i) => {
      e.resolution = { status: statuses[i], by: 'alex.accountant', at: '2026-11-02T15:30:00Z' };
    });
    expect(build(raw).controlsValidated.exceptionsExplained?.held).toBe(true);
  });

  it('reports the control NOT held when a reconciliation has open exceptions but none are listed to judge', () => {
    const raw = allWorked({ exceptions: [] });
    raw.reconciliations[0] = { ...raw.reconciliations[0], exceptions: 0, openExceptions: 2 };
    raw.reconciliations[1] = { ...raw.reconciliations[1], exceptions: 0, openExceptions: 0 };
    const doc = build(raw);
    expect(doc.controlsValidated.exceptionsExplained).toEqual({
      held: false,
      detail: 'gl-vs-erp: 2 open exception(s) not listed',
    });
  });

  it('still reads a package written before these two checks existed', () => {
    const doc = JSON.parse(JSON.stringify(build(allWorked())));
    delete doc.controlsValidated.attestationGiven;
    delete doc.controlsValidated.exceptionsExplained;
    expect(parseEvidenceDocument(doc).controlsValidated.attestationGiven).toBeUndefined();
  });

  it('refuses a negative or non-decimal materiality in the control, naming the field', () => {
    expect(() => parseEvidenceInput(allWorked({ control: { ...SOX_CONTROL, materiality: '-1' } }))).toThrow(
      'control.materiality: a materiality is an amount of 0 or more',
    );
    expect(() => parseEvidenceInput(allWorked({ control: { ...SOX_CONTROL, materiality: '1e3' } }))).toThrow(
      'control.materiality',
    );
  });
});

describe('unexplained exceptions above materiality', () => {
  it('counts only unexplained items strictly above materiality, totalling absolute amounts per currency', () => {
    const r = unexplainedAboveMateriality(
      [
        { id: 'a', amount: '-100.50', explained: false, currency: 'USD' },
        { id: 'b', amount: '100', explained: false, currency: 'USD' },
        { id: 'c', amount: '250.125', explained: false, currency: 'EUR' },
        { id: 'd', amount: '999', explained: true, currency: 'USD' },
        { id: 'e', amount: '99.99', explained: false, currency: 'USD' },
      ],
      '100',
    );
    expect(r).toEqual({
      materiality: '100',
      count: 2,
      totals: [
        { currency: 'EUR', total: '250.125' },
        { currency: 'USD', total: '100.50' },
      ],
      ids: ['a', 'c'],
      belowCount: 2,
    });
    expect(describeMaterial(r)).toBe(
      '2 unexplained exception(s) above materiality 100, totalling EUR 250.125 + USD 100.50 (a, c)',
    );
  });

  it('names at most `show` items and says how many more there are', () => {
    const items = Array.from({ length: 5 }, (_, i) => ({ id: `x${i}`, amount: '1.00', explained: false }));
    const r = unexplainedAboveMateriality(items, '0', { show: 2 });
    expect(r.totals).toEqual([{ currency: null, total: '5.00' }]);
    expect(describeMaterial(r)).toBe(
      '5 unexplained exception(s) above materiality 0, totalling 5.00 (x0, x1 and 3 more)',
    );
  });

  it('writes 0 for no totals, and refuses a negative or malformed materiality or amount', () => {
    expect(totalsText([])).toBe('0');
    expect(describeMaterial(unexplainedAboveMateriality([], '10'))).toBe(
      'no unexplained exception above materiality 10',
    );
    expect(() => unexplainedAboveMateriality([], '-1', { where: 'recon gl-vs-erp materiality' })).toThrow(
      'recon gl-vs-erp materiality: a materiality is an amount of 0 or more, not -1',
    );
    expect(() => unexplainedAboveMateriality([{ id: 'q', amount: '1,000', explained: false }], '0')).toThrow(
      'not a decimal amount: "1,000" (q amount)',
    );
  });
});

describe('segregation of duties over exception work', () => {
  const reconCp = (approverId: string, over: Partial<CloseCheckpoint> = {}): CloseCheckpoint => ({
    checkpointId: 'recon-review',
    state: 'approved',
    decisions: [{ at: '2026-11-03T10:00:00Z', approverId, role: 'supervisor', decision: 'approved', signed: true }],
    refusals: [],
    item: { type: 'reconciliation', preparer: 'ann' },
    ...over,
  });
  const journal = [
    { at: '2026-11-02T10:00:00Z', by: 'vic', action: 'exceptions.explain', taskId: 'gl_vs_erp', accepted: true },
    { at: '2026-11-02T11:00:00Z', by: 'sue', action: 'exceptions.refused', taskId: 'gl_vs_erp', accepted: false },
    { at: '2026-11-02T12:00:00Z', by: 'vic', action: 'exceptions.resolve', taskId: 'bank_vs_gl', accepted: true },
  ];

  it('is NOT held when whoever explained or resolved exceptions approved the reconciliation', () => {
    expect(checkSegregationOfDuties([reconCp('vic')], journal)).toEqual({
      held: false,
      detail: 'recon-review: vic explained or resolved exceptions of (gl_vs_erp, bank_vs_gl) and may not approve it',
    });
  });

  it('holds for an approver who did not work the exceptions, a refused attempt, or a checkpoint that is not a reconciliation', () => {
    expect(checkSegregationOfDuties([reconCp('sam')], journal).held).toBe(true);
    expect(checkSegregationOfDuties([reconCp('sue')], journal).held).toBe(true);
    const je = reconCp('vic', { item: { type: 'journal_entry', preparer: 'ann' } });
    expect(checkSegregationOfDuties([je], journal).held).toBe(true);
    expect(checkSegregationOfDuties([reconCp('vic')]).held).toBe(true);
  });
});

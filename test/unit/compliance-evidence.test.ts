import { parseControlDefinition } from '../../domain/compliance/control';
import {
  buildEvidenceDocument,
  evidencePackageId,
  parseEvidenceDocument,
  parseEvidenceInput,
  type EvidenceInputRaw,
} from '../../domain/compliance/evidence';
import { SOX_CONTROL, soxScenarioInput } from '../activities/compliance-fixture';

const input = (over: Partial<EvidenceInputRaw> = {}) =>
  parseEvidenceInput({ ...soxScenarioInput({ exceptions: 6 }), ...over });

describe('control definitions', () => {
  it('accepts the seed control F-R3-GL-15 and normalises a single attesting role to a list', () => {
    expect(parseControlDefinition(SOX_CONTROL)).toMatchObject({
      regulation: 'SOX',
      controlId: 'F-R3-GL-15',
      attestationRequiredFrom: ['controller'],
    });
    expect(
      parseControlDefinition({ ...SOX_CONTROL, attestationRequiredFrom: ['controller', 'cfo'] })
        .attestationRequiredFrom,
    ).toEqual(['controller', 'cfo']);
  });

  it('names each bad field of a control', () => {
    expect(() =>
      parseControlDefinition({ ...SOX_CONTROL, controlId: 'F R3', evidence: [] }, 'close.yaml#documentation'),
    ).toThrow(
      /close\.yaml#documentation: controlId: a control id is letters.*evidence: a control names at least one kind of evidence/,
    );
    expect(() =>
      parseControlDefinition({ ...SOX_CONTROL, evidence: ['exception_report', 'exception_report'] }),
    ).toThrow('an evidence kind is listed twice');
  });
});

describe('the evidence document', () => {
  it('is deterministic: the same input gives the same document', () => {
    const a = JSON.stringify(buildEvidenceDocument(input(), []));
    const b = JSON.stringify(buildEvidenceDocument(input(), []));
    expect(a).toBe(b);
    expect(parseEvidenceDocument(JSON.parse(a)).packageId).toBe('SOX_F-R3-GL-15_ACME_2026-10');
  });

  it('sums the population exactly in decimals at the widest scale of its inputs', () => {
    const base = soxScenarioInput({ exceptions: 0 });
    base.reconciliations[0].a.amount = '0.1';
    base.reconciliations[1].a.amount = '0.205';
    const doc = buildEvidenceDocument(parseEvidenceInput(base), []);
    expect(doc.population.totals.amountA).toBe('0.305');
    expect(doc.population.totals.exceptionKeys).toBe(0);
  });

  it('records when the exceptions listed do not account for the reconciliations’ exception counts', () => {
    const base = soxScenarioInput({ exceptions: 6 });
    base.exceptions = base.exceptions.slice(1);
    const doc = buildEvidenceDocument(parseEvidenceInput(base), []);
    expect(doc.controlsValidated.exceptionsAccountedFor).toEqual({
      held: false,
      detail:
        "exceptions listed do not match the reconciliations' counts: gl-vs-erp: 3 exception keys, 2 exceptions listed",
    });
    expect(doc.allControlsHeld).toBe(false);
  });

  it("counts the engine's exceptions of every category, not only the three legacy key counts", () => {
    const base = soxScenarioInput({ exceptions: 6 });
    const listed = base.exceptions.filter((e) => e.reconId === 'gl-vs-erp').length;
    base.reconciliations[0] = { ...base.reconciliations[0], exceptions: listed + 1, openExceptions: 1 };
    const short = buildEvidenceDocument(parseEvidenceInput(base), []);
    expect(short.controlsValidated.exceptionsAccountedFor.detail).toContain(
      `gl-vs-erp: ${listed + 1} exception keys, ${listed} exceptions listed`,
    );
    base.reconciliations[0].exceptions = listed;
    const whole = buildEvidenceDocument(parseEvidenceInput(base), []);
    expect(whole.controlsValidated.exceptionsAccountedFor.held).toBe(true);
  });

  it('lists the roles whose attestation is still missing', () => {
    const doc = buildEvidenceDocument(input({ attestations: [] }), []);
    expect(doc.attestation.missingFrom).toEqual(['controller']);
  });

  it('refuses an exception of a reconciliation outside the population, and duplicate ids', () => {
    const base = soxScenarioInput({ exceptions: 3 });
    base.exceptions[2].reconId = 'ghost';
    expect(() => buildEvidenceDocument(parseEvidenceInput(base), [])).toThrow(
      'exceptions[2] (EX-000003): reconciliation ghost is not in the population',
    );
    const dup = soxScenarioInput({ exceptions: 3 });
    dup.exceptions[1].id = dup.exceptions[0].id;
    expect(() => buildEvidenceDocument(parseEvidenceInput(dup), [])).toThrow(
      'exceptions[1]: exception id EX-000001 is listed twice',
    );
  });

  it('refuses when evidence the control requires was not supplied', () => {
    const control = { ...SOX_CONTROL, evidence: ['approval_evidence', 'workflow_history', 'bank_confirmation'] };
    expect(() => buildEvidenceDocument(input({ control, approvals: [] }), [])).toThrow(
      'control F-R3-GL-15 requires evidence that was not supplied: approval_evidence, workflow_history, bank_confirmation',
    );
    const doc = buildEvidenceDocument(input({ control }), [
      {
        kind: 'workflow_history',
        mode: 'copy',
        file: 'attachments/workflow_history/h.jsonl',
        source: null,
        sha256: 'a'.repeat(64),
        bytes: 1,
        description: null,
      },
      {
        kind: 'bank_confirmation',
        mode: 'reference',
        file: null,
        source: '/archive/bank.pdf',
        sha256: 'b'.repeat(64),
        bytes: 2,
        description: null,
      },
    ]);
    expect(doc.evidence).toEqual([
      { kind: 'approval_evidence', satisfiedBy: ['evidence.json#/approvals'] },
      { kind: 'workflow_history', satisfiedBy: ['attachments/workflow_history/h.jsonl'] },
      { kind: 'bank_confirmation', satisfiedBy: ['/archive/bank.pdf'] },
    ]);
  });

  it('names the field of bad input: a float amount, a resolution without who and when, a bad instant', () => {
    const base = soxScenarioInput({ exceptions: 2 });
    (base.reconciliations[0].a as { amount: unknown }).amount = 12.5;
    base.exceptions[0].resolution = { status: 'resolved' };
    base.preparedBy.at = '2 Nov';
    expect(() => parseEvidenceInput(base)).toThrow(
      /preparedBy\.at: an ISO 8601 instant.*reconciliations\.0\.a\.amount: .*exceptions\.0\.resolution: a resolved exception needs who resolved it/,
    );
  });

  it('refuses a document of a schema version it does not know', () => {
    const doc = JSON.parse(JSON.stringify(buildEvidenceDocument(input(), [])));
    // Version 2 is the one whose exceptions may be shown as a role sees them (exception-view.ts).
    expect(() => parseEvidenceDocument({ ...doc, schemaVersion: 3 })).toThrow(
      'evidence.json: schemaVersion 3 is not one this finflow reads (1, 2)',
    );
  });

  it('builds a file-name-safe package id from regulation, control, company and period', () => {
    expect(
      evidencePackageId({ regulation: 'SOX', controlId: 'F-R3-GL-15' }, { company: 'ACME', period: '2026-10' }),
    ).toBe('SOX_F-R3-GL-15_ACME_2026-10');
    expect(evidencePackageId({ regulation: 'EU AI/Act', controlId: 'x' }, { company: 'A', period: 'p' })).toBe(
      'EU-AI-Act_x_A_p',
    );
  });
});

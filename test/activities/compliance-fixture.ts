// The seed's SOX scenario as evidence input: control F-R3-GL-15 over a month-end close of GL-vs-ERP and bank
// reconciliations, with planted exceptions (resolved and open), a supervisor's approval, a refused attempt and
// the controller's attestation. Sized by parameters so the benchmark can reuse it at 100,000 exceptions.
import ExcelJS from 'exceljs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvidenceInputRaw } from '../../domain/compliance/evidence';
import { Dec } from '../../domain/money';

export const SOX_CONTROL = {
  regulation: 'SOX',
  controlId: 'F-R3-GL-15',
  description:
    'Monthly reconciliation of the general ledger to the ERP sub-ledger and the bank statements, with every ' +
    'exception investigated and resolved, reviewed and approved by a supervisor.',
  evidence: ['reconciliation_summary', 'exception_report', 'approval_evidence', 'exception_handling'],
  attestationText:
    'I attest that the reconciliations of this period are complete and accurate, that every exception was ' +
    'investigated, and that the approvals were given by authorised people within their limits.',
  attestationRequiredFrom: 'controller',
};

const CATEGORIES = ['amount_mismatch', 'missing_in_a', 'missing_in_b'] as const;

/** Deterministic pseudo-random integers (no Math.random: the same fixture every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

export function soxScenarioInput(
  opts: {
    reconciliations?: number;
    exceptions?: number;
    openEvery?: number;
    attachments?: EvidenceInputRaw['attachments'];
  } = {},
): EvidenceInputRaw {
  const reconCount = opts.reconciliations ?? 2;
  const exceptionCount = opts.exceptions ?? 5;
  const openEvery = opts.openEvery ?? 5;
  const rnd = lcg(15);
  const reconIds = Array.from({ length: reconCount }, (_, i) =>
    i === 0 ? 'gl-vs-erp' : i === 1 ? 'bank-vs-gl' : `recon-${String(i).padStart(3, '0')}`,
  );
  const perRecon = new Map(reconIds.map((id) => [id, { mismatch: 0, missA: 0, missB: 0 }]));
  const exceptions: EvidenceInputRaw['exceptions'] = [];
  for (let i = 0; i < exceptionCount; i++) {
    const reconId = reconIds[i % reconCount];
    const category = CATEGORIES[i % CATEGORIES.length];
    const c = perRecon.get(reconId) as { mismatch: number; missA: number; missB: number };
    const cents = 1 + (rnd() % 500_000);
    const amount = new Dec(cents).div(100).toFixed(2);
    let amountA: string | null = amount;
    let amountB: string | null = amount;
    let difference = amount;
    if (category === 'amount_mismatch') {
      c.mismatch++;
      amountB = new Dec(cents - 1).div(100).toFixed(2);
      difference = '0.01';
    } else if (category === 'missing_in_a') {
      c.missA++;
      amountA = null;
      difference = `-${amount}`;
    } else {
      c.missB++;
      amountB = null;
    }
    const open = i % openEvery === openEvery - 1;
    exceptions.push({
      id: `EX-${String(i + 1).padStart(6, '0')}`,
      reconId,
      key: `${4000 + (i % 900)}-${String(i).padStart(6, '0')}`,
      category,
      amountA,
      amountB,
      difference,
      resolution: open
        ? { status: 'open', note: 'under investigation by the AP team' }
        : {
            status: category === 'amount_mismatch' ? 'adjusted' : 'resolved',
            by: 'alex.accountant',
            at: '2026-11-02T15:30:00Z',
            note: category === 'amount_mismatch' ? 'rounding difference booked' : 'timing difference, cleared on 2 Nov',
            reference: category === 'amount_mismatch' ? `JE-2026-10-${String(i).padStart(5, '0')}` : undefined,
          },
    });
  }
  const reconciliations = reconIds.map((reconId, i) => {
    const c = perRecon.get(reconId) as { mismatch: number; missA: number; missB: number };
    const records = 20_000 + i;
    return {
      reconId,
      name: i === 0 ? 'General ledger vs ERP' : i === 1 ? 'Bank vs general ledger' : undefined,
      status: c.mismatch + c.missA + c.missB ? ('exceptions' as const) : ('balanced' as const),
      a: { records: records + c.missB, amount: `${1_250_000 + i}.50` },
      b: { records: records + c.missA, amount: `${1_250_000 + i}.25` },
      keys: { matched: records - c.mismatch, amountMismatch: c.mismatch, missingInA: c.missA, missingInB: c.missB },
      difference: '0.25',
    };
  });
  return {
    control: SOX_CONTROL,
    close: {
      closeId: 'close:ACME:2026-10',
      company: 'ACME',
      period: '2026-10',
      state: 'completed',
      startedAt: '2026-11-01T06:00:00Z',
      completedAt: '2026-11-04T17:45:00Z',
    },
    preparedBy: { id: 'alex.accountant', role: 'accountant', at: '2026-11-02T16:00:00Z' },
    reviewedBy: { id: 'sam.supervisor', role: 'supervisor', at: '2026-11-03T10:15:00Z' },
    reconciliations,
    exceptions,
    approvals: [
      {
        checkpointId: 'recon-review',
        decision: 'approved',
        approverId: 'sam.supervisor',
        role: 'supervisor',
        at: '2026-11-03T10:15:00Z',
        amount: '0.25',
        limit: '10000',
        comments: 'differences explained',
      },
    ],
    refusals: [
      {
        checkpointId: 'recon-review',
        approverId: 'alex.accountant',
        role: 'accountant',
        at: '2026-11-03T09:00:00Z',
        reason: 'the preparer may not approve their own reconciliation',
      },
    ],
    controls: {
      controlTotalsBalanced: { held: true, detail: 'records in = matched + unmatched out for every reconciliation' },
      segregationOfDuties: { held: true, detail: 'preparer alex.accountant did not approve; approver sam.supervisor' },
      approvalsWithinLimits: { held: true, detail: 'recon-review: 0.25 within the supervisor limit of 10000' },
    },
    attestations: [{ id: 'chris.controller', role: 'controller', at: '2026-11-04T17:00:00Z', statement: 'attested' }],
    attachments: opts.attachments ?? [],
  };
}

/** Writes the reconciliation summary and exceptions reports as real xlsx files (what the report writer hands over). */
export async function writeXlsxReports(
  dir: string,
  input: EvidenceInputRaw,
): Promise<{ summary: string; exceptions: string }> {
  const summary = join(dir, 'reconciliation-summary.xlsx');
  const wb = new ExcelJS.Workbook();
  wb.created = new Date('2026-11-04T17:45:00Z');
  const s = wb.addWorksheet('Summary');
  s.addRow(['Reconciliation', 'Status', 'A records', 'A amount', 'B records', 'B amount', 'Difference']);
  for (const r of input.reconciliations)
    s.addRow([r.reconId, r.status, r.a.records, r.a.amount, r.b.records, r.b.amount, r.difference]);
  await wb.xlsx.writeFile(summary);
  const exceptions = join(dir, 'exceptions.xlsx');
  const wb2 = new ExcelJS.Workbook();
  const e = wb2.addWorksheet('Exceptions');
  e.addRow(['Id', 'Reconciliation', 'Key', 'Category', 'Difference', 'Resolution']);
  for (const x of input.exceptions) e.addRow([x.id, x.reconId, x.key, x.category, x.difference, x.resolution.status]);
  await wb2.xlsx.writeFile(exceptions);
  return { summary, exceptions };
}

export function writeHistoryFiles(dir: string): { jsonl: string; html: string } {
  const jsonl = join(dir, 'history.jsonl');
  const html = join(dir, 'history.html');
  writeFileSync(
    jsonl,
    `${JSON.stringify({ workflowId: 'close:ACME:2026-10', eventId: 1, time: '2026-11-01T06:00:00.000Z', event: 'WORKFLOW_EXECUTION_STARTED', summary: 'workflow monthEndCloseWorkflow started' })}\n`,
  );
  writeFileSync(html, '<!doctype html><title>history</title><p>workflow monthEndCloseWorkflow started</p>\n');
  return { jsonl, html };
}

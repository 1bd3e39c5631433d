// A reconciliation's exceptions and summary reports rewritten from the result store as the exceptions stand now
// (issue 15): the reports a run wrote show every exception open, while people explain, resolve and decide
// suggestions afterwards. The close's documentation step has them rewritten before it builds the evidence package,
// so the package's reports say what its evidence says. Each file keeps its name and place (written atomically, so
// a retry rewrites it whole) and is sealed as it was; the new SHA-256 goes back to the close, which names it to the
// package (the old one stays in the close's history). A bank reconciliation statement is left as it was written.
import { basename, dirname } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ReconReportRef } from '../../contracts';
import { classificationOf, strictestClassification } from '../../domain/security/policy';
import { type ReportInput, writeExceptionsReport, writeSummaryReport } from '../reports';
import type { SummaryReportInput } from '../reports/summary-report';
import type { ResultStore } from '../result-store';
import type { DatasetCipher } from '../security/envelope';

export interface RewriteReconReportsInput {
  runId: string;
  reconId: string;
  /** The reports the run wrote (its summary's `reports`). */
  reports: ReconReportRef[];
  /** The definition's classifications of its sources (a, b), as when the run wrote them. */
  classifications?: string[];
}

export interface RewriteReconReportsDeps {
  store: ResultStore;
  reportCipherOf: (runId: string) => Promise<DatasetCipher | undefined>;
  ruleCounts?: SummaryReportInput['ruleCounts'];
  heartbeat: (details?: unknown) => void;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The refs of the rewritten reports, in the order given (a bank statement's unchanged). */
export async function rewriteRunReports(
  deps: RewriteReconReportsDeps,
  input: RewriteReconReportsInput,
): Promise<ReconReportRef[]> {
  const name = new RegExp(`^${escape(input.reconId)}_(exceptions|summary)_(\\d{4}-\\d{2}-\\d{2})\\.`);
  const refuse = (m: string): never => {
    throw ApplicationFailure.nonRetryable(`reconciliation ${input.reconId}: ${m}`, 'InvalidReport');
  };
  const sealed = input.reports.some((r) => r.sealed && r.kind !== 'bank_statement');
  const seal = sealed ? await deps.reportCipherOf(input.runId) : undefined;
  if (sealed && !seal) refuse(`its reports were sealed, and run ${input.runId} has no data key any more (shredded?)`);
  try {
    const c = input.classifications;
    const out: ReconReportRef[] = [];
    for (const ref of input.reports) {
      if (ref.kind === 'bank_statement') {
        out.push(ref);
        continue;
      }
      const m = name.exec(basename(ref.path));
      const format = ref.format;
      if (!m || m[1] !== ref.kind || (format !== 'xlsx' && format !== 'csv' && format !== 'json'))
        return refuse(`report ${ref.path} is not a ${ref.kind} report of this reconciliation`);
      const base: ReportInput = {
        store: deps.store,
        runId: input.runId,
        reconId: input.reconId,
        date: m[2],
        dir: dirname(ref.path),
        ...(ref.sealed && seal ? { seal } : {}),
        ...(c?.length ? { classification: strictestClassification(c) } : {}),
        ...(c?.length === 2 ? { sides: { a: classificationOf(c[0]), b: classificationOf(c[1]) } } : {}),
      };
      const f =
        ref.kind === 'exceptions'
          ? await writeExceptionsReport(format, base)
          : await writeSummaryReport(format, { ...base, ...(deps.ruleCounts ? { ruleCounts: deps.ruleCounts } : {}) });
      if (f.path !== ref.path) refuse(`report ${ref.path} was rewritten as ${f.path}`);
      out.push({ ...ref, sha256: f.sha256, rows: f.rows });
      deps.heartbeat({ kind: ref.kind, format });
    }
    return out;
  } finally {
    seal?.dispose();
  }
}

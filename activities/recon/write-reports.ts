// Writing a run's reports (moved out of index.ts, behaviour unchanged): the store's count per category checked
// against the reconciliation's, the run's outcome recorded, then the exceptions and summary reports in each format.
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { classificationOf, strictestClassification } from '../../domain/security/policy';
import { type ReportFile, type ReportInput, writeExceptionsReport, writeSummaryReport } from '../reports';
import { teeExceptionStore } from '../reports/tee';
import type { BankStatementRequest } from '../../domain/recon/bank-statement-request';
import type { SummaryReportInput } from '../reports/summary-report';
import type { ResultStore } from '../result-store';
import type { DatasetCipher } from '../security/envelope';
import { writeRunBankStatement } from './bank-statement-report';
import { removeRunDir } from './spill';

export interface WriteReconReportsInput {
  runId: string;
  reconId: string;
  company: string;
  period: string;
  /** Business date in the file names, yyyy-mm-dd. */
  asOfDate: string;
  /** A fiscal period's first and last day (as the extraction had them, for the statement file's path). */
  periodStart?: string;
  periodEnd?: string;
  /** The merged summary, recorded with the run (the summary report shows it). */
  summary?: unknown;
  status?: 'balanced' | 'exceptions';
  /** Remove the run's spill files once the reports are written (default true). */
  cleanUp?: boolean;
  /**
   * The definition's classifications of its two sources (a, b): the stricter, and each side's, are recorded in
   * sealed reports' headers.
   */
  classifications?: string[];
  /** A bank reconciliation that asks for its statement: written beside the other reports (bank-statement-report.ts). */
  bankStatement?: BankStatementRequest;
  /** Rows the run holds for the previous period's brought-forward items, per category (roll-forward). */
  broughtForward?: Record<string, number>;
}

export interface WrittenReport {
  kind: 'exceptions' | 'summary' | 'bank_statement';
  format: 'xlsx' | 'csv' | 'json' | 'html' | 'pdf';
  path: string;
  sha256: string;
  rows: number;
  /** Sealed at rest with the run's data key (`finflow report open` gives the clear file). */
  sealed?: boolean;
}

/**
 * A business key as one folder name: letters, digits, '.', '_' and '-' kept, any other character as %XX of its
 * UTF-8 bytes (so two keys never share a folder), never '.' or '..'.
 */
export function folderName(key: string, what: string): string {
  if (!key)
    throw ApplicationFailure.nonRetryable(`the ${what} is empty: no folder can be named after it`, 'InvalidInput');
  const name = Array.from(Buffer.from(key, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return name === '.' || name === '..' ? name.replace(/\./g, '%2E') : name;
}

export interface WriteRunReportsDeps {
  store: ResultStore;
  /** Per-rule matched (auto) / matched (confirmed) / suggested (pending) for the summary report. */
  ruleCounts?: SummaryReportInput['ruleCounts'];
  reportsDir: string;
  workDir: string;
  /** The run's dataset cipher for sealing its reports, or undefined when they stay in clear. */
  reportCipherOf: (runId: string) => Promise<DatasetCipher | undefined>;
  heartbeat: (details?: unknown) => void;
  /** Relative source file paths are resolved against it (the bank statement file whose closing balance is read). */
  filesDir?: string;
}

/**
 * Records the run's outcome and writes the exceptions and summary reports (xlsx, csv, json) from the result
 * store. Each file is written atomically under its final name, so a retry rewrites it whole.
 */
export async function writeRunReports(
  deps: WriteRunReportsDeps,
  input: WriteReconReportsInput,
): Promise<WrittenReport[]> {
  const st = deps.store;
  // The store's own count per category must be the reconciliation's: two records sharing an id on different
  // keys would otherwise overwrite each other's item silently (items are keyed by run and record id).
  const counted = (input.summary as { perCategory?: Record<string, number> } | undefined)?.perCategory;
  if (counted) {
    const stored: Record<string, number> = {};
    // Brought-forward items (roll-forward) are rows of the run but no records of its sides: not counted here.
    for (const [category, n] of Object.entries(input.broughtForward ?? {})) stored[category] = -n;
    for (const t of await st.exceptionTotals(input.runId)) stored[t.category] = (stored[t.category] ?? 0) + t.count;
    for (const category of new Set([...Object.keys(counted), ...Object.keys(stored)]))
      if ((counted[category] ?? 0) !== (stored[category] ?? 0))
        throw ApplicationFailure.nonRetryable(
          `control totals do not balance in ${input.reconId}: the result store holds ${stored[category] ?? 0} ${category} exceptions, the reconciliation counted ${counted[category] ?? 0} (records sharing an id?)`,
          'ControlTotalsError',
        );
  }
  if (input.status !== undefined)
    await st.finishRun(input.runId, { status: input.status, summary: input.summary ?? null });
  // Sealed at rest under the run's data key when its extracts were (a worker with keys); a run extracted in
  // clear keeps clear reports, and a shredded one cannot be reported on any more (non-retryable).
  const seal = await deps.reportCipherOf(input.runId);
  try {
    const base: ReportInput = {
      store: st,
      runId: input.runId,
      reconId: input.reconId,
      date: input.asOfDate,
      // A folder per close (company, period): the seed's file names repeat across companies and closes.
      dir: join(deps.reportsDir, folderName(input.company, 'company'), folderName(input.period, 'period')),
      ...(seal ? { seal } : {}),
      ...(input.classifications?.length ? { classification: strictestClassification(input.classifications) } : {}),
      // The definition's two sources in order (a, b): each side's own columns take its own level in role views.
      ...(input.classifications?.length === 2
        ? {
            sides: { a: classificationOf(input.classifications[0]), b: classificationOf(input.classifications[1]) },
          }
        : {}),
    };
    const out: WrittenReport[] = [];
    const FORMATS = ['xlsx', 'csv', 'json'] as const;
    const written = (kind: WrittenReport['kind'], format: (typeof FORMATS)[number], f: ReportFile) => {
      out.push({ kind, format, path: f.path, sha256: f.sha256, rows: f.rows, ...(seal ? { sealed: true } : {}) });
      deps.heartbeat({ kind, format });
    };
    // The three exceptions reports share one read of the run's exceptions, each written at its own pace.
    const views = teeExceptionStore(st, input.runId, FORMATS.length);
    const files = await Promise.all(
      FORMATS.map((format, i) => writeExceptionsReport(format, { ...base, store: views[i] })),
    );
    FORMATS.forEach((format, i) => written('exceptions', format, files[i]));
    for (const format of FORMATS)
      written(
        'summary',
        format,
        await writeSummaryReport(format, { ...base, ...(deps.ruleCounts ? { ruleCounts: deps.ruleCounts } : {}) }),
      );
    if (input.bankStatement !== undefined) {
      out.push(
        ...(await writeRunBankStatement(input.bankStatement, input, base, {
          filesDir: deps.filesDir,
          asOf: input.asOfDate,
          period: input.period,
          ...(input.periodStart && input.periodEnd
            ? { periodStart: input.periodStart, periodEnd: input.periodEnd }
            : {}),
        })),
      );
      deps.heartbeat({ kind: 'bank_statement' });
    }
    if (input.cleanUp !== false) await removeRunDir(deps.workDir, input.runId);
    return out;
  } finally {
    seal?.dispose();
  }
}

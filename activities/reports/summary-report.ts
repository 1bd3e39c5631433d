// The summary report of a reconciliation run: what was compared, the run's control totals (its summary as the
// workflow recorded it), and the exceptions by category, side and currency with exact sums from the database.
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type ExcelJS from 'exceljs';
import { Dec } from '../../domain/money';
import type { ExceptionTotal, RunRow } from '../result-store';
import type { RuleMatchCounts } from '../result-store/suggestions';
import { recordedAgeing, summaryWithoutAgeing, writeAgeingSheet } from './ageing-sheet';
import { amountCell, csvField, csvLine } from './cells';
import { applyWidths, decimalsOf, displayLength, fitWidths } from './sheet-layout';
import type { ReportInput } from './exceptions-report';
import {
  type ReportFile,
  type ReportFormat,
  reportFileName,
  reportWorkbook,
  withTextFile,
  writeAtomically,
} from './files';

const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** The summary's input: a report's, plus where the per-rule counts come from (the suggestion store). */
export interface SummaryReportInput extends ReportInput {
  /**
   * Per rule: matched (auto), matched (confirmed), suggested (pending), rejected (result-store/suggestions.ts).
   * Without it the summary has no per-rule lines.
   */
  ruleCounts?: (runId: string) => Promise<RuleMatchCounts[]>;
}

interface SummaryData {
  run: RunRow;
  rules: RuleMatchCounts[];
  categories: ExceptionTotal[];
  /** Per side and currency, summed exactly over the categories. */
  totals: { side: string; currency: string | null; count: number; amount: string; difference: string }[];
  /** Unresolved exceptions by age per category and currency, as the run's roll-forward recorded them (issue 15). */
  ageing: ReturnType<typeof recordedAgeing>;
}

async function load(input: SummaryReportInput): Promise<SummaryData> {
  const run = await input.store.getRun(input.runId);
  if (!run) throw ApplicationFailure.nonRetryable(`no run ${input.runId} in the result store`, 'RunNotStarted');
  const categories = await input.store.exceptionTotals(input.runId);
  const acc = new Map<string, { side: string; currency: string | null; count: number; amount: Dec; difference: Dec }>();
  for (const c of categories) {
    const k = `${c.side}\u0000${c.currency ?? ''}`;
    const t = acc.get(k) ?? {
      side: c.side,
      currency: c.currency,
      count: 0,
      amount: new Dec(0),
      difference: new Dec(0),
    };
    t.count += c.count;
    t.amount = t.amount.plus(c.amount);
    t.difference = t.difference.plus(c.difference);
    acc.set(k, t);
  }
  const totals = [...acc.values()]
    .sort((a, b) => `${a.side}\u0000${a.currency ?? ''}`.localeCompare(`${b.side}\u0000${b.currency ?? ''}`))
    .map((t) => ({ ...t, amount: t.amount.toFixed(), difference: t.difference.toFixed() }));
  const rules = input.ruleCounts ? await input.ruleCounts(input.runId) : [];
  return { run, rules, categories, totals, ageing: recordedAgeing(run.summary) };
}

const RULE_HEADERS = ['Rule', 'Matched (auto)', 'Matched (confirmed)', 'Suggested (pending)', 'Rejected'];

/** The per-rule lines of the JSON summary (snake_case like the rest of it). */
function ruleLines(rules: RuleMatchCounts[]) {
  return rules.map((r) => ({
    rule: r.rule,
    matched_auto: r.matchedAuto,
    matched_confirmed: r.matchedConfirmed,
    suggested_pending: r.suggestedPending,
    rejected: r.rejected,
  }));
}

/** The run's summary JSON as (path, value) lines: `keys.matched`, `a.amount`, ... */
export function flattenSummary(value: unknown, prefix = ''): [string, string | number | boolean | null][] {
  if (value === null || typeof value !== 'object')
    return [[prefix || 'summary', value as string | number | boolean | null]];
  const out: [string, string | number | boolean | null][] = [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [k, v] of entries) out.push(...flattenSummary(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

function runLines(input: ReportInput, run: RunRow): [string, string | null][] {
  return [
    ['Reconciliation', input.reconId],
    ['Date', input.date],
    ['Run', run.runId],
    ['Status', run.status],
    ['Definition hash', run.definitionHash],
    ['Started', run.startedAt],
    ['Finished', run.finishedAt],
  ];
}

function valueCell(cell: ExcelJS.Cell, v: string | number | boolean | null, decimals?: number): number {
  if (v === null) return 0;
  // Decimal strings (amounts, counts) follow the amount rule: a number only when exact, else text.
  if (typeof v === 'string' && DECIMAL_RE.test(v)) {
    const c = amountCell(v, decimals);
    cell.value = c.value;
    if (c.numFmt) cell.numFmt = c.numFmt;
    return displayLength(c.value, c.numFmt);
  }
  cell.value = v;
  return displayLength(v);
}

const CATEGORY_HEADERS = [
  'Category',
  'Side',
  'Currency',
  'Count',
  'Open',
  'Explained',
  'Resolved',
  'Amount',
  'Difference',
];

/**
 * The summary workbook: "Summary" first (the run and its control totals as label/value lines), then "By
 * category" with a line per category, side and currency and the totals per side and currency. Both sheets have
 * a frozen header row and columns fitted to their content; the category sheet is filterable, and its amounts are
 * numbers shown with their currency's decimals.
 */
export async function writeSummaryXlsx(input: SummaryReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'summary', input.date, 'xlsx', !!input.seal));
  const data = await load(input);
  return writeAtomically(
    path,
    async (sink) => {
      const wb = reportWorkbook(sink);
      const ws = wb.addWorksheet('Summary', { views: [{ state: 'frozen', ySplit: 1 }] });
      const lines: [string, string | number | boolean | null][] = [
        ...runLines(input, data.run),
        ...flattenSummary(summaryWithoutAgeing(data.run.summary) ?? {}).map(
          ([k, v]) => [`summary.${k}`, v] as [string, typeof v],
        ),
      ];
      ws.getRow(1).values = ['Item', 'Value'];
      ws.getRow(1).font = { bold: true };
      const lengths = lines.map(([k, v], i) => {
        const row = ws.getRow(i + 2);
        row.getCell(1).value = k;
        return [k.length, valueCell(row.getCell(2), v)];
      });
      applyWidths(ws, fitWidths(['Item', 'Value'], lengths));
      for (let i = 1; i <= lines.length + 1; i++) ws.getRow(i).commit();
      ws.commit();

      const cs = wb.addWorksheet('By category', { views: [{ state: 'frozen', ySplit: 1 }] });
      cs.getRow(1).values = CATEGORY_HEADERS;
      cs.getRow(1).font = { bold: true };
      const catLengths: number[][] = [];
      let i = 2;
      const line = (
        values: (string | number)[],
        amount: string,
        difference: string,
        currency: string | null,
        bold = false,
      ) => {
        const row = cs.getRow(i++);
        row.values = values;
        const decimals = decimalsOf(currency);
        const lengths = CATEGORY_HEADERS.map((_, k) => (k < values.length ? displayLength(values[k]) : 0));
        lengths[7] = valueCell(row.getCell(8), amount, decimals);
        lengths[8] = valueCell(row.getCell(9), difference, decimals);
        catLengths.push(lengths);
        if (bold) row.font = { bold: true };
      };
      for (const c of data.categories)
        line(
          [c.category, c.side, c.currency ?? '', c.count, c.open, c.explained, c.resolved],
          c.amount,
          c.difference,
          c.currency,
        );
      for (const t of data.totals)
        line(['TOTAL', t.side, t.currency ?? '', t.count], t.amount, t.difference, t.currency, true);
      applyWidths(cs, fitWidths(CATEGORY_HEADERS, catLengths));
      cs.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: CATEGORY_HEADERS.length } };
      for (let n = 1; n < i; n++) cs.getRow(n).commit();
      cs.commit();
      if (data.rules.length) {
        const rs = wb.addWorksheet('By rule', { views: [{ state: 'frozen', ySplit: 1 }] });
        rs.getRow(1).values = RULE_HEADERS;
        rs.getRow(1).font = { bold: true };
        const values = data.rules.map((r) => [
          r.rule,
          r.matchedAuto,
          r.matchedConfirmed,
          r.suggestedPending,
          r.rejected,
        ]);
        values.forEach((v, n) => (rs.getRow(n + 2).values = v));
        applyWidths(
          rs,
          fitWidths(
            RULE_HEADERS,
            values.map((v) => v.map((x) => displayLength(x))),
          ),
        );
        for (let n = 1; n <= values.length + 1; n++) rs.getRow(n).commit();
        rs.commit();
      }
      if (data.ageing.length) writeAgeingSheet(wb, data.ageing);
      await wb.commit();
      return data.categories.length;
    },
    input,
  );
}

const SUMMARY_CSV_HEADER = [
  'recon_id',
  'date',
  'run_id',
  'category',
  'side',
  'currency',
  'count',
  'open',
  'explained',
  'resolved',
  'amount',
  'difference',
];

export async function writeSummaryCsv(input: SummaryReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'summary', input.date, 'csv', !!input.seal));
  const data = await load(input);
  return writeAtomically(
    path,
    (sink) =>
      withTextFile(sink.open(), async (write) => {
        await write(`\ufeff${csvLine(SUMMARY_CSV_HEADER)}`);
        const head = [input.reconId, input.date, data.run.runId].map((v) => csvField(v));
        for (const c of data.categories)
          await write(
            csvLine([
              ...head,
              ...[c.category, c.side, c.currency].map((v) => csvField(v)),
              ...[c.count, c.open, c.explained, c.resolved].map((v) => String(v)),
              csvField(c.amount, 'amount'),
              csvField(c.difference, 'amount'),
            ]),
          );
        // Total lines carry the count only: open/explained/resolved stay per category.
        for (const t of data.totals)
          await write(
            csvLine([
              ...head,
              'TOTAL',
              csvField(t.side),
              csvField(t.currency),
              String(t.count),
              '',
              '',
              '',
              csvField(t.amount, 'amount'),
              csvField(t.difference, 'amount'),
            ]),
          );
        return data.categories.length;
      }),
    input,
  );
}

export async function writeSummaryJson(input: SummaryReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'summary', input.date, 'json', !!input.seal));
  const data = await load(input);
  return writeAtomically(
    path,
    (sink) =>
      withTextFile(sink.open(), async (write) => {
        const { summary, ...run } = data.run;
        await write(
          `${JSON.stringify(
            {
              report: 'summary',
              recon_id: input.reconId,
              date: input.date,
              run,
              summary,
              ...(data.rules.length ? { rules: ruleLines(data.rules) } : {}),
              categories: data.categories,
              totals: data.totals,
              ...(data.ageing.length ? { ageing: data.ageing } : {}),
            },
            null,
            2,
          )}\n`,
        );
        return data.categories.length;
      }),
    input,
  );
}

export function writeSummaryReport(format: ReportFormat, input: SummaryReportInput): Promise<ReportFile> {
  switch (format) {
    case 'xlsx':
      return writeSummaryXlsx(input);
    case 'csv':
      return writeSummaryCsv(input);
    case 'json':
      return writeSummaryJson(input);
  }
}

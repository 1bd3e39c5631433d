// The bank reconciliation statement (domain/recon/bank-statement.ts) as the files a controller signs and an auditor
// files: JSON (every figure as its exact decimal string), xlsx (the statement, then every item; amounts numeric
// where exact, see cells.ts), HTML (printable; an unexplained difference in red) and PDF (bank-statement-pdf.ts).
// Written atomically like every report, so the evidence package never holds half a statement.
import { once } from 'node:events';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { BankReconciliationStatement } from '../../domain/recon/bank-statement';
import { statementLines } from './bank-statement-lines';
import { renderBankStatementPdf } from './bank-statement-pdf';
import { amountCell } from './cells';
import { reportWorkbook, withTextFile, writeAtomically, type ReportFile, type ReportSealing } from './files';

const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface BankStatementReports {
  json: ReportFile;
  xlsx: ReportFile;
  html: ReportFile;
  pdf: ReportFile;
}

/** Writes `<reconId>_bank-statement_<period end>.{json,xlsx,html,pdf}` into `dir`. */
export async function writeBankStatementReports(
  statement: BankReconciliationStatement,
  dir: string,
  reconId: string,
  sealing: ReportSealing = {},
): Promise<BankStatementReports> {
  if (!NAME_PART.test(reconId))
    throw ApplicationFailure.nonRetryable(
      `reconciliation id ${JSON.stringify(reconId)} cannot name a file (letters, digits, '.', '_', '-')`,
      'InvalidReport',
    );
  const sealed = sealing.seal ? '.sealed' : '';
  const base = join(dir, `${reconId}_bank-statement_${statement.period_end}`);
  const json = await writeAtomically(
    `${base}.json${sealed}`,
    (sink) =>
      withTextFile(sink.open(), async (write) => {
        await write(`${JSON.stringify(statement, null, 2)}\n`);
        return statement.items.length;
      }),
    sealing,
  );
  const xlsx = await writeAtomically(`${base}.xlsx${sealed}`, (sink) => writeXlsx(statement, sink), sealing);
  const html = await writeAtomically(
    `${base}.html${sealed}`,
    (sink) =>
      withTextFile(sink.open(), async (write) => {
        await write(bankStatementHtml(statement));
        return statement.items.length;
      }),
    sealing,
  );
  const pdf = await writeAtomically(
    `${base}.pdf${sealed}`,
    async (sink) => {
      const bytes = await renderBankStatementPdf(statement, { reconId });
      const out = sink.open();
      out.end(bytes);
      await once(out, 'finish');
      return statement.items.length;
    },
    sealing,
  );
  return { json, xlsx, html, pdf };
}

const RED = 'FFC00000';

async function writeXlsx(s: BankReconciliationStatement, sink: Parameters<typeof reportWorkbook>[0]): Promise<number> {
  const wb = reportWorkbook(sink);
  const ws = wb.addWorksheet('Bank reconciliation');
  ws.columns = [{ width: 70 }, { width: 10 }, { width: 22 }];
  const head: [string, string][] = [
    ['Bank reconciliation statement', ''],
    ['Account', s.account ?? ''],
    ['Currency', s.currency],
    ['Period end', s.period_end],
    ['Status', s.agrees ? 'agrees' : 'DOES NOT AGREE'],
    ['Items to explain', String(s.items_to_explain)],
  ];
  for (const [k, v] of head) ws.addRow([k, v]).commit();
  for (const w of s.warnings) ws.addRow(['Warning', w]).commit();
  ws.addRow([]).commit();
  ws.addRow(['', 'Items', `Amount (${s.currency})`]).commit();
  for (const line of statementLines(s)) {
    const cell = amountCell(line.amount, s.scale);
    const row = ws.addRow([line.label, line.count, cell.value]);
    if (cell.numFmt) row.getCell(3).numFmt = cell.numFmt;
    if (line.emphasis !== 'item') row.font = { bold: true };
    if (line.flag) row.font = { bold: line.emphasis !== 'item', color: { argb: RED } };
    row.commit();
  }
  ws.commit();

  const items = wb.addWorksheet('Reconciling items');
  items.columns = [
    { header: 'Kind', width: 22 },
    { header: 'Category', width: 20 },
    { header: 'Exception', width: 16 },
    { header: 'Bank records', width: 24 },
    { header: 'Book records', width: 24 },
    { header: `Amount (${s.currency})`, width: 18 },
    { header: 'Explained', width: 10 },
  ];
  for (const i of s.items) {
    const cell = amountCell(i.amount, s.scale);
    const row = items.addRow([
      i.kind,
      i.category,
      i.exception_id,
      i.bank_ids.join(' '),
      i.book_ids.join(' '),
      cell.value,
      i.explained ? 'yes' : 'no',
    ]);
    if (cell.numFmt) row.getCell(6).numFmt = cell.numFmt;
    row.commit();
  }
  items.commit();
  await wb.commit();
  return s.items.length;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (v: string): string => v.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** A self-contained, printable page: the statement, then every reconciling item. */
export function bankStatementHtml(s: BankReconciliationStatement): string {
  const rows = statementLines(s)
    .map(
      (l) =>
        `<tr class="${l.emphasis}${l.flag ? ' flag' : ''}"><td>${esc(l.label)}</td>` +
        `<td class="num">${l.count ?? ''}</td><td class="num">${esc(l.amount)}</td></tr>`,
    )
    .join('\n');
  const items = s.items
    .map(
      (i) =>
        `<tr${i.explained ? '' : ' class="flag"'}><td>${esc(i.kind)}</td><td>${esc(i.category)}</td>` +
        `<td>${esc(i.bank_ids.join(' '))}</td><td>${esc(i.book_ids.join(' '))}</td>` +
        `<td class="num">${esc(i.amount)}</td></tr>`,
    )
    .join('\n');
  const warnings = s.warnings.map((w) => `<p class="warning">${esc(w)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Bank reconciliation statement ${esc(s.account ?? '')} ${esc(s.period_end)}</title>
<style>
body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{padding:.2em .8em;border-bottom:1px solid #ddd}.num{text-align:right;font-variant-numeric:tabular-nums}
.balance,.adjusted,.difference{font-weight:bold}.flag{color:#c00000}.warning{color:#a06000}
</style></head><body>
<h1>Bank reconciliation statement</h1>
<p>Account ${esc(s.account ?? '(not named)')} &middot; ${esc(s.currency)} &middot; period end ${esc(s.period_end)} &middot;
<strong class="${s.agrees ? 'agrees' : 'flag'}">${s.agrees ? 'adjusted balances agree' : `does not agree: unexplained difference ${esc(s.unexplained_difference)}`}</strong>
&middot; ${s.items_to_explain} item(s) to explain</p>
${warnings}
<table><thead><tr><th></th><th>Items</th><th>Amount (${esc(s.currency)})</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Reconciling items</h2>
<table><thead><tr><th>Kind</th><th>Category</th><th>Bank records</th><th>Book records</th><th>Amount</th></tr></thead><tbody>
${items}
</tbody></table>
</body></html>
`;
}

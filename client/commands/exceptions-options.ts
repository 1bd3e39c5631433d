// The options and output helpers the `finflow exceptions` commands share (moved out of exceptions.ts, behaviour
// unchanged): the filter flags, the table and CSV cells, who acts.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { ExceptionFilter } from '../../domain/exceptions/filter';
import type { ExceptionState } from '../../domain/exceptions/lifecycle';

export function list(v: string, prev: string[] = []): string[] {
  return [
    ...prev,
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function wholeDays(v: string): number {
  if (!/^\d+$/.test(v)) throw new Error(`not a whole number of days: ${v}`);
  return Number(v);
}

export interface FilterOpts {
  category?: string[];
  currency?: string[];
  state?: string[];
  minAmount?: string;
  maxAmount?: string;
  minAgeDays?: number;
  maxAgeDays?: number;
  key?: string;
}

export function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--category <list>', 'categories (comma-separated, repeatable)', list)
    .option('--currency <list>', 'currencies', list)
    .option('--state <list>', 'states: open, explained, resolved, carried_forward, confirmed, rejected', list)
    .option('--min-amount <amount>', 'absolute amount at least')
    .option('--max-amount <amount>', 'absolute amount at most')
    .option('--min-age-days <n>', 'first seen at least n days ago', wholeDays)
    .option('--max-age-days <n>', 'first seen at most n days ago ("under 5 days": 4)', wholeDays)
    .option('--key <glob>', 'key pattern: * any characters, ? one');
}

/** The options of a filtered, paged listing (list, suggestions): the filters, then paging, the as-of day and the format. */
export type ListOpts = FilterOpts & { offset: number; limit: number; asOf?: string; json?: boolean; csv?: boolean };

export function withListOptions(cmd: Command, csvHelp: string): Command {
  return withFilterOptions(cmd)
    .option('--offset <n>', 'skip the first n', wholeDays, 0)
    .option('--limit <n>', 'at most n (default 50)', wholeDays, 50)
    .option('--as-of <date>', 'the day ages are counted to (default today)')
    .option('--json', 'print JSON')
    .option('--csv', csvHelp);
}

export function filterOf(o: FilterOpts): ExceptionFilter {
  return {
    ...(o.category?.length ? { categories: o.category } : {}),
    ...(o.currency?.length ? { currencies: o.currency } : {}),
    ...(o.state?.length ? { states: o.state as ExceptionState[] } : {}),
    ...(o.minAmount !== undefined ? { minAmount: o.minAmount } : {}),
    ...(o.maxAmount !== undefined ? { maxAmount: o.maxAmount } : {}),
    ...(o.minAgeDays !== undefined ? { minAgeDays: o.minAgeDays } : {}),
    ...(o.maxAgeDays !== undefined ? { maxAgeDays: o.maxAgeDays } : {}),
    ...(o.key !== undefined ? { keyPattern: o.key } : {}),
  };
}

export function csvCell(v: string): string {
  // A leading =, +, - or @ would make a spreadsheet run the cell as a formula.
  const safe = /^[=+\-@]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.min(40, Math.max(...rows.map((r) => r[i].length))));
  return rows
    .map((r) =>
      r
        .map((c, i) => (c.length > widths[i] ? `${c.slice(0, widths[i] - 1)}…` : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function actorOf(by: string | undefined, env: NodeJS.ProcessEnv): string {
  return by ?? env.FINFLOW_ACTOR ?? userInfo().username;
}

// `finflow recon run <definition.yaml> --param month_end_date=2026-10-31`: one reconciliation without a close
// (issue 16), through the same workflow a close runs as its child (client/recon-run.ts), printing its summary and
// where its reports are. Exit code 1 when the definition is refused or the run fails.
import type { Command } from 'commander';
import type { ReconciliationSummary } from '../../contracts';
import { connectClient } from '../connect';
import { readReconDefinition, reconRunInput, runReconciliation, type RunParameters } from '../recon-run';
import { registerReconStatementCommand, type StatementCliDeps } from './recon-statement';

type Out = (s: string) => void;

/** `name=value` into the parameters; a malformed one is refused, naming it. */
export function collectParam(raw: string, into: RunParameters = {}): RunParameters {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new Error(`--param takes name=value (got ${JSON.stringify(raw)})`);
  return { ...into, [raw.slice(0, eq).trim()]: raw.slice(eq + 1).trim() };
}

/** The summary as a person reads it: records and totals per side, matches per rule, exceptions per category, reports. */
export function formatReconSummary(workflowId: string, s: ReconciliationSummary): string {
  const lines = [
    `${workflowId}: ${s.status}${s.controlTotals ? ' (control totals balanced)' : ''}`,
    `  A: ${s.a.records} records, ${s.a.amount}    B: ${s.b.records} records, ${s.b.amount}    difference ${s.difference}`,
  ];
  if (s.matches !== undefined)
    lines.push(
      `  matched: ${s.matches}` +
        (s.matchesByRule && Object.keys(s.matchesByRule).length
          ? ` (${Object.entries(s.matchesByRule)
              .map(([rule, n]) => `${rule} ${n}`)
              .join(', ')})`
          : ''),
    );
  if (s.exceptions !== undefined) {
    const cats = Object.entries(s.perCategory ?? {}).filter(([, n]) => n > 0);
    lines.push(
      `  exceptions: ${s.exceptions}${s.openExceptions !== undefined ? `, ${s.openExceptions} open` : ''}` +
        (cats.length ? ` (${cats.map(([c, n]) => `${c} ${n}`).join(', ')})` : ''),
    );
  }
  for (const d of s.totals?.differences ?? []) lines.push(`  ${JSON.stringify(d)}`);
  if (s.runId) lines.push(`  result store run: ${s.runId}`);
  for (const r of s.reports ?? []) lines.push(`  report ${r.kind} (${r.format}, ${r.rows} rows): ${r.path}`);
  return lines.join('\n');
}

export function registerReconCommands(
  program: Command,
  out: Out = (s) => console.log(s),
  statementDeps: StatementCliDeps = {},
): void {
  const recon = program.command('recon').description('reconciliations on their own, outside a close');
  registerReconStatementCommand(recon, out, statementDeps);
  recon
    .command('run <definition>')
    .description(
      'run one reconciliation from a YAML or JSON definition and print its summary and report paths; ' +
        'the same workflow (and id recon:<company>:<period>:<id>) a close runs as its child',
    )
    .option(
      '--param <name=value>',
      'execution parameter (repeatable): month_end_date, as_of_date, period, company, ...',
      collectParam,
      {},
    )
    .option('--company <code>', 'company in the workflow id (default the company parameter, else "adhoc")')
    .option('--period <period>', 'period (default the yyyy-mm of month_end_date / as_of_date)')
    .option('--as-of <yyyy-mm-dd>', 'as-of date bound to :as_of_date (default month_end_date / as_of_date)')
    .option('--partitions <n>', 'hash partitions', (v) => Number(v))
    .option('--json', 'print the summary as JSON')
    .action(
      async (
        path: string,
        o: {
          param: RunParameters;
          company?: string;
          period?: string;
          asOf?: string;
          partitions?: number;
          json?: boolean;
        },
      ) => {
        const input = reconRunInput(readReconDefinition(path), o.param, {
          ...(o.company ? { company: o.company } : {}),
          ...(o.period ? { period: o.period } : {}),
          ...(o.asOf ? { asOf: o.asOf } : {}),
          ...(o.partitions !== undefined ? { partitions: o.partitions } : {}),
        });
        const g = program.opts<{ address?: string; namespace?: string; taskQueue?: string }>();
        const { client, config, close } = await connectClient({
          address: g.address,
          namespace: g.namespace,
          taskQueue: g.taskQueue,
        });
        try {
          const { workflowId, summary } = await runReconciliation(client, config, input);
          out(json(o.json, workflowId, summary));
        } finally {
          await close();
        }
      },
    );
}

const json = (asJson: boolean | undefined, workflowId: string, s: ReconciliationSummary) =>
  asJson ? JSON.stringify({ workflowId, ...s }, null, 2) : formatReconSummary(workflowId, s);

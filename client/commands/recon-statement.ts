// `finflow recon statement`: the bank reconciliation statement rebuilt after people explained items (issue 17). The
// run wrote the statement as matching left it; accountants then explain items (bank_error, book_error, ...), resolve
// them or confirm suggested matches. This reads the run's exceptions as they stand now in the result store
// (DATABASE_URL) and writes the statement again (json, xlsx, html, pdf) into --out, with the balances of the statement
// the run wrote (activities/reports/bank-statement-rebuild.ts). The run and its statement are named directly
// (--run, --statement) or found from a close's reconciliation task (--close, --recon).
import type { Command } from 'commander';
import { Pool } from 'pg';
import { rebuildBankStatement, type RebuiltStatement } from '../../activities/reports/bank-statement-rebuild';
import { envelopeSealer } from '../../activities/recon';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { PgAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { keyProviderFromEnvIfConfigured } from '../../platform/security-setup';
import type { CloseStatus } from '../../workflows/types';
import { defaultStatus } from './exceptions-context';

type Out = (s: string) => void;

export interface StatementCliDeps {
  env?: NodeJS.ProcessEnv;
  /** The close's status (default: the `status` query of the close). */
  closeStatus?: (closeId: string) => Promise<CloseStatus>;
  /** The result store (default: DATABASE_URL). */
  openStore?: () => Promise<{ store: Pick<ResultStore, 'streamExceptions' | 'getRun'>; close(): Promise<void> }>;
}

export interface StatementOptions {
  run?: string;
  statement?: string;
  close?: string;
  recon?: string;
  out: string;
  bankSide?: 'a' | 'b';
  json?: boolean;
}

/** The run and the statement JSON it wrote: as given, or from the close's task for the reconciliation. */
export async function statementTarget(
  o: StatementOptions,
  closeStatus: (closeId: string) => Promise<CloseStatus>,
): Promise<{ runId: string; statementPath: string }> {
  if (o.close === undefined) {
    if (o.run === undefined || o.statement === undefined)
      throw new Error('name the run and its statement (--run <runId> --statement <file.json>) or --close <id> --recon <id>');
    return { runId: o.run, statementPath: o.statement };
  }
  if (o.recon === undefined) throw new Error('--close needs --recon <task or reconciliation id>');
  const status = await closeStatus(o.close);
  const task = status.tasks.find((t) => t.id === o.recon || t.result?.reconId === o.recon);
  if (!task) throw new Error(`${o.close} has no task or reconciliation ${o.recon}`);
  const runId = task.result?.runId;
  if (runId === undefined) throw new Error(`reconciliation ${task.id} of ${o.close} has no result-store run yet`);
  const json = task.result?.reports?.find((r) => r.kind === 'bank_statement' && r.format === 'json');
  if (json === undefined && o.statement === undefined)
    throw new Error(`reconciliation ${task.id} of ${o.close} wrote no bank reconciliation statement`);
  return { runId, statementPath: o.statement ?? (json as { path: string }).path };
}

async function openFromEnv(env: NodeJS.ProcessEnv) {
  const url = env.DATABASE_URL;
  if (!url) throw new Error('name the result store: set DATABASE_URL');
  const pool = new Pool({ connectionString: url, max: 2 });
  // A run whose exceptions were sealed is read with the configured keys, as the exceptions commands read it (reading
  // is logged in the access log like theirs); without keys such a run is refused naming the column.
  const keys = await keyProviderFromEnvIfConfigured(env);
  const sealerFor = keys
    ? envelopeSealer(
        new EnvelopeEncryption({ keys, store: new PgDataKeyStore(pool), accessLog: new PgAccessLog(pool) }),
      )
    : undefined;
  return { store: createResultStore({ pool, ...(sealerFor ? { sealerFor } : {}) }), close: () => pool.end() };
}

export function formatRebuilt(r: RebuiltStatement): string {
  const s = r.statement;
  const count = (x: typeof s) => x.items.filter((i) => !i.explained).length;
  return [
    `bank reconciliation statement ${s.currency} at ${s.period_end}: ` +
      (s.agrees ? 'agrees' : `UNEXPLAINED DIFFERENCE ${s.unexplained_difference}`),
    `  per bank ${s.balance_per_bank.amount} -> adjusted ${s.adjusted_balance_per_bank}; ` +
      `per books ${s.balance_per_books.amount} -> adjusted ${s.adjusted_balance_per_books}`,
    `  items to explain: ${count(s)} (were ${count(r.before)} when the run wrote it)`,
    ...[...s.bank_adjustments, ...s.book_adjustments]
      .filter((k) => k.count > 0)
      .map((k) => `  ${k.kind}: ${k.count}, ${k.total}`),
    ...(['json', 'xlsx', 'html', 'pdf'] as const).map((f) => `  ${f}: ${r.files[f].path} sha256 ${r.files[f].sha256}`),
  ].join('\n');
}

export function registerReconStatementCommand(recon: Command, out: Out, deps: StatementCliDeps = {}): void {
  recon
    .command('statement')
    .description(
      "rebuild a run's bank reconciliation statement from its exceptions as people have worked them (result store: " +
        'DATABASE_URL), with the balances of the statement the run wrote; written into --out',
    )
    .option('--run <runId>', 'the result-store run')
    .option('--statement <file>', 'the statement JSON the run wrote (<recon>_bank-statement_<date>.json)')
    .option('--close <closeId>', "find the run and its statement in this close's reconciliation task")
    .option('--recon <id>', 'the task or reconciliation id within --close')
    .option('--bank-side <a|b>', 'which side is the bank, when the statement lists no bank item to tell')
    .requiredOption('--out <dir>', "directory for the rebuilt files (not the run's report folder)")
    .option('--json', 'print the statement as JSON')
    .action(async (o: StatementOptions) => {
      if (o.bankSide !== undefined && o.bankSide !== 'a' && o.bankSide !== 'b')
        throw new Error(`--bank-side is a or b, got ${String(o.bankSide)}`);
      const target = await statementTarget(o, deps.closeStatus ?? defaultStatus);
      const opened = await (deps.openStore ?? (() => openFromEnv(deps.env ?? process.env)))();
      try {
        const rebuilt = await rebuildBankStatement(opened.store, {
          ...target,
          outDir: o.out,
          ...(o.bankSide ? { bankSide: o.bankSide } : {}),
        });
        out(o.json ? JSON.stringify(rebuilt.statement, null, 2) : formatRebuilt(rebuilt));
      } finally {
        await opened.close();
      }
    });
}

// `finflow exceptions list|ageing|show|explain|resolve|reopen|carry-forward`: the people who own a reconciliation work its
// exceptions (issue 15). Reading needs the result store (DATABASE_URL, and the keys when its runs are sealed).
// Acting is signed with the person's key (--signing-key, as `finflow task complete`) and sent to the close as the
// `submitExceptionAction` update: the close's worker verifies it against the key set it trusts, takes the signer's
// roles from the close's own user directory, applies it in the result store and the audit ledger, and journals it in
// the close's history (workflows/close/exception-actions.ts). Which run and owner role: from the close's own status,
// never from the caller. Exit code 2 on a refusal (recorded), 1 on a failure to act at all.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Pool } from 'pg';
import { signExceptionAction } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, readSigningKeyFile } from '../../activities/approval/keys';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import type { ExceptionActionOutcome, ExceptionActionTarget } from '../../activities/exceptions/signed-action';
import { envelopeSealer } from '../../activities/recon';
import { createResultStore } from '../../activities/result-store';
import {
  createExceptionActionStore,
  type ExceptionActionStore,
  type LifecycleRow,
} from '../../activities/result-store/exception-actions';
import { PgAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { AGEING_BUCKETS, ageingReport } from '../../domain/exceptions/ageing';
import {
  ageInDays,
  describeFilter,
  type ExceptionFilter,
  selectExceptions,
  totalsByCurrency,
} from '../../domain/exceptions/filter';
import { type ExceptionState, parseExceptionAction } from '../../domain/exceptions/lifecycle';
import { totalsText } from '../../domain/exceptions/materiality';
import { keyProviderFromEnvIfConfigured } from '../../platform/security-setup';
import type { ExceptionActionRequest } from '../../workflows/close/exception-actions';
import { statusQuery } from '../../workflows/definitions';
import type { CloseStatus } from '../../workflows/types';
import { connectClient } from '../connect';
import { submitExceptionAction } from '../exception-action';

type Out = (s: string) => void;

export interface OpenedStores {
  store: ExceptionActionStore;
  ledger?: AuditLedger;
  close(): Promise<void>;
}

/** Where the commands get their context; tests hand in the same doors with real stores and a close's status. */
export interface ExceptionsCliDeps {
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** The close's status (default: the `status` query of the running close). */
  closeStatus?: (closeId: string) => Promise<CloseStatus>;
  /** The stores (default: DATABASE_URL, sealed with the configured keys; the ledger on FINFLOW_AUDIT_DATABASE_URL). */
  open?: () => Promise<OpenedStores>;
  /** Sends a signed action to the close (default: its `submitExceptionAction` update) and returns the answer. */
  send?: (
    closeId: string,
    req: ExceptionActionRequest,
    target: ExceptionActionTarget,
  ) => Promise<ExceptionActionOutcome>;
}

/** The reconciliation a close task ran: its result-store run and owner role, from the close's own status. */
export function targetOf(status: CloseStatus, taskOrRecon: string): ExceptionActionTarget {
  const task = status.tasks.find((t) => t.id === taskOrRecon || t.result?.reconId === taskOrRecon);
  if (!task) throw new Error(`${status.closeId} has no task or reconciliation ${taskOrRecon}`);
  if (task.kind !== 'reconciliation') throw new Error(`task ${task.id} of ${status.closeId} is not a reconciliation`);
  const runId = task.result?.runId;
  if (!task.result || !runId)
    throw new Error(`reconciliation ${task.id} of ${status.closeId} has no result-store run yet (state ${task.state})`);
  return {
    closeId: status.closeId,
    reconId: task.result.reconId,
    runId,
    ownerRoles: task.ownerRole ? [task.ownerRole] : [],
  };
}

async function defaultStatus(closeId: string): Promise<CloseStatus> {
  const { client, close } = await connectClient();
  try {
    return await client.workflow.getHandle(closeId).query(statusQuery);
  } finally {
    await close();
  }
}

async function defaultSend(closeId: string, req: ExceptionActionRequest): Promise<ExceptionActionOutcome> {
  const { client, close } = await connectClient();
  try {
    return await submitExceptionAction(client, closeId, req);
  } finally {
    await close();
  }
}

async function defaultOpen(env: NodeJS.ProcessEnv): Promise<OpenedStores> {
  const url = env.DATABASE_URL;
  if (!url) throw new Error('name the result store: set DATABASE_URL');
  const pool = new Pool({ connectionString: url, max: 2 });
  const auditUrl = env.FINFLOW_AUDIT_DATABASE_URL;
  const auditPool = auditUrl && auditUrl !== url ? new Pool({ connectionString: auditUrl, max: 1 }) : undefined;
  const keys = await keyProviderFromEnvIfConfigured(env);
  const sealerFor = keys
    ? envelopeSealer(
        new EnvelopeEncryption({ keys, store: new PgDataKeyStore(pool), accessLog: new PgAccessLog(pool) }),
      )
    : undefined;
  const results = createResultStore({ pool, ...(sealerFor ? { sealerFor } : {}) });
  await results.migrate();
  const ledger = await AuditLedger.open({ pool: auditPool ?? pool });
  return {
    store: createExceptionActionStore({ pool, results, ...(sealerFor ? { sealerFor } : {}) }),
    ledger,
    close: async () => {
      await pool.end();
      await auditPool?.end();
    },
  };
}

function list(v: string, prev: string[] = []): string[] {
  return [
    ...prev,
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

function wholeDays(v: string): number {
  if (!/^\d+$/.test(v)) throw new Error(`not a whole number of days: ${v}`);
  return Number(v);
}

interface FilterOpts {
  category?: string[];
  currency?: string[];
  state?: string[];
  minAmount?: string;
  maxAmount?: string;
  minAgeDays?: number;
  maxAgeDays?: number;
  key?: string;
}

function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--category <list>', 'categories (comma-separated, repeatable)', list)
    .option('--currency <list>', 'currencies', list)
    .option('--state <list>', 'states: open, explained, resolved, carried_forward', list)
    .option('--min-amount <amount>', 'absolute amount at least')
    .option('--max-amount <amount>', 'absolute amount at most')
    .option('--min-age-days <n>', 'first seen at least n days ago', wholeDays)
    .option('--max-age-days <n>', 'first seen at most n days ago ("under 5 days": 4)', wholeDays)
    .option('--key <glob>', 'key pattern: * any characters, ? one');
}

function filterOf(o: FilterOpts): ExceptionFilter {
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

const COLUMNS = [
  'item',
  'state',
  'category',
  'currency',
  'amount',
  'key',
  'first_seen',
  'age_days',
  'reason_code',
  'explanation',
  'explained_by',
  'explained_at',
  'resolution_kind',
  'resolution_reference',
  'resolution_amount',
  'resolution',
  'resolved_by',
  'resolved_at',
] as const;

function cells(x: LifecycleRow, asOf: string): string[] {
  return [
    x.itemId,
    x.state,
    x.category,
    x.currency ?? '',
    x.amount,
    x.key,
    x.firstSeen,
    String(ageInDays(x.firstSeen, asOf)),
    x.reasonCode ?? '',
    x.explanation ?? '',
    x.explainedBy ?? '',
    x.explainedAt ? new Date(x.explainedAt).toISOString() : '',
    x.resolutionKind ?? '',
    x.resolutionReference ?? '',
    x.resolutionAmount ?? '',
    x.resolution ?? '',
    x.resolvedBy ?? '',
    x.resolvedAt ? new Date(x.resolvedAt).toISOString() : '',
  ];
}

function csvCell(v: string): string {
  // A leading =, +, - or @ would make a spreadsheet run the cell as a formula.
  const safe = /^[=+\-@]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function table(rows: string[][]): string {
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

function actorOf(by: string | undefined, env: NodeJS.ProcessEnv): string {
  return by ?? env.FINFLOW_ACTOR ?? userInfo().username;
}

export function formatOutcome(o: ExceptionActionOutcome): string {
  return o.accepted
    ? `accepted: ${o.by} ${o.action} ${o.count} exception(s) totalling ${totalsText(o.totals)} (action ${o.seq}` +
        `${o.ledgerSeq !== undefined ? `, audit ledger ${o.ledgerSeq}` : ''})`
    : `refused (${o.type}): ${o.message}${o.ledgerSeq !== undefined ? ` (audit ledger ${o.ledgerSeq})` : ''}`;
}

const ACTION_COMMANDS = {
  explain: 'explain exceptions: a reason code of the reconciliation and a text',
  resolve: 'resolve explained exceptions: a kind (adjusting_entry with --reference and --amount, write_off, ...)',
  reopen: 'reopen exceptions, with a reason',
  'carry-forward': 'carry explained exceptions forward to the next period',
} as const;

export function registerExceptionCommands(program: Command, out: Out, deps: ExceptionsCliDeps = {}): void {
  const env = deps.env ?? process.env;
  const now = deps.now ?? (() => new Date());
  const closeStatus = deps.closeStatus ?? defaultStatus;
  const open = deps.open ?? (() => defaultOpen(env));
  const send = deps.send ?? defaultSend;
  const withStores = async <T>(
    closeId: string,
    task: string,
    fn: (t: ExceptionActionTarget, s: OpenedStores) => Promise<T>,
  ) => {
    const target = targetOf(await closeStatus(closeId), task);
    const stores = await open();
    try {
      return await fn(target, stores);
    } finally {
      await stores.close();
    }
  };

  const ex = program
    .command('exceptions')
    .description("work a reconciliation's exceptions: list, show, explain, resolve, reopen, carry forward (signed)");

  withFilterOptions(
    ex
      .command('list <closeId> <reconciliation>')
      .description('the exceptions of a reconciliation task (its id or reconciliation id), filtered and paged'),
  )
    .option('--offset <n>', 'skip the first n', wholeDays, 0)
    .option('--limit <n>', 'at most n (default 50)', wholeDays, 50)
    .option('--as-of <date>', 'the day ages are counted to (default today)')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV (every column)')
    .action(
      async (
        closeId: string,
        recon: string,
        o: FilterOpts & { offset: number; limit: number; asOf?: string; json?: boolean; csv?: boolean },
      ) => {
        const asOf = o.asOf ?? now().toISOString();
        await withStores(closeId, recon, async (t, s) => {
          const page = await s.store.list(t.runId, { filter: filterOf(o), asOf, offset: o.offset, limit: o.limit });
          if (o.json) {
            out(JSON.stringify({ ...t, asOf, offset: o.offset, ...page }));
            return;
          }
          const rows = page.items.map((x) => cells(x, asOf));
          if (o.csv) {
            out([[...COLUMNS], ...rows].map((r) => r.map(csvCell).join(',')).join('\n'));
            return;
          }
          const short = [0, 1, 2, 3, 4, 5, 7, 8, 10, 12];
          out(table([short.map((i) => COLUMNS[i]), ...rows.map((r) => short.map((i) => r[i]))]));
          out(
            `${page.count} exception(s) of ${t.reconId} match (${describeFilter(filterOf(o))}), totalling ` +
              `${totalsText(page.totals)}; showing ${page.items.length ? `${o.offset + 1}-${o.offset + page.items.length}` : 'none'}`,
          );
        });
      },
    );

  ex.command('ageing <closeId> <reconciliation>')
    .description('unresolved exceptions by age (0-30, 31-60, 61-90, over 90 days) per category and currency')
    .option('--as-of <date>', 'the day ages are counted to (default today)')
    .option('--json', 'print JSON')
    .action(async (closeId: string, recon: string, o: { asOf?: string; json?: boolean }) => {
      const asOf = o.asOf ?? now().toISOString();
      await withStores(closeId, recon, async (t, s) => {
        const rows = ageingReport(await s.store.rows(t.runId), asOf);
        if (o.json) {
          out(JSON.stringify({ reconId: t.reconId, runId: t.runId, asOf, rows }));
          return;
        }
        const cell = (b: { count: number; total: string }) => (b.count ? `${b.count} / ${b.total}` : '-');
        out(
          table([
            ['category', 'currency', ...AGEING_BUCKETS.map((b) => `${b} days`), 'unresolved'],
            ...rows.map((r) => [
              r.category,
              r.currency ?? '',
              ...AGEING_BUCKETS.map((b) => cell(r.buckets[b])),
              `${r.count} / ${r.total}`,
            ]),
          ]),
        );
      });
    });

  ex.command('show <closeId> <reconciliation> <itemId>')
    .description('one exception with every action taken on it')
    .option('--json', 'print JSON')
    .action(async (closeId: string, recon: string, itemId: string, o: { json?: boolean }) => {
      await withStores(closeId, recon, async (t, s) => {
        const item = (await s.store.rows(t.runId)).find((x) => x.itemId === itemId);
        if (!item) throw new Error(`no exception ${itemId} in ${t.reconId} (run ${t.runId})`);
        const history = await s.store.history(t.runId, itemId);
        if (o.json) {
          out(JSON.stringify({ item, history }));
          return;
        }
        const asOf = now().toISOString();
        const c = cells(item, asOf);
        out(COLUMNS.map((k, i) => `${k.padEnd(21)}${c[i]}`).join('\n'));
        out('history:');
        for (const h of history)
          out(
            `  #${h.seq} ${h.at} ${h.by} ${h.action} ${h.accepted ? 'accepted' : `REFUSED (${h.refusalType}): ${h.refusal}`}` +
              ` ${JSON.stringify(h.detail)}${h.count > 1 ? ` (one of ${h.count})` : ''}`,
          );
      });
    });

  for (const [name, description] of Object.entries(ACTION_COMMANDS)) {
    const cmd = withFilterOptions(
      ex.command(`${name} <closeId> <reconciliation> [itemIds...]`).description(description),
    )
      .option('--by <user>', 'who acts (default $FINFLOW_ACTOR or the login name); must match the signing key')
      .option(
        '--signing-key <file>',
        'private JWK that signs the action (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE); actions are always signed',
      )
      .option('--as-of <date>', 'the day ages are counted to (default today)')
      .option('--json', 'print the answer as JSON')
      .option(
        '--print-update',
        'print the signed action as the submitExceptionAction update input instead of sending it (for `temporal workflow update execute`)',
      );
    if (name === 'explain')
      cmd
        .requiredOption('--reason-code <code>', 'a reason code of the reconciliation')
        .requiredOption('--text <text>', 'the explanation');
    if (name === 'resolve')
      cmd
        .requiredOption('--kind <kind>', 'adjusting_entry, write_off, cleared_next_period or no_action')
        .requiredOption('--text <text>', 'the resolution')
        .option('--reference <ref>', "the adjusting entry's number")
        .option('--amount <amount>', "the adjusting entry's amount");
    if (name === 'reopen') cmd.requiredOption('--reason <text>', 'why it is reopened');
    if (name === 'carry-forward') cmd.requiredOption('--text <text>', 'why it is carried forward');
    cmd.action(
      async (
        closeId: string,
        recon: string,
        itemIds: string[],
        o: FilterOpts & {
          by?: string;
          signingKey?: string;
          asOf?: string;
          json?: boolean;
          printUpdate?: boolean;
          reasonCode?: string;
          text?: string;
          kind?: string;
          reference?: string;
          amount?: string;
          reason?: string;
        },
      ) => {
        const raw =
          name === 'explain'
            ? { action: 'explain', reasonCode: o.reasonCode, text: o.text }
            : name === 'resolve'
              ? { action: 'resolve', kind: o.kind, text: o.text, reference: o.reference, amount: o.amount }
              : name === 'reopen'
                ? { action: 'reopen', reason: o.reason }
                : { action: 'carry_forward', text: o.text };
        // Checked before anything is read or signed, so a typo is answered at once.
        const action = parseExceptionAction(JSON.parse(JSON.stringify(raw)), { where: name });
        const keyFile = o.signingKey ?? env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
        if (!keyFile)
          throw new Error(`exceptions ${name} is signed: give --signing-key (or FINFLOW_APPROVAL_SIGNING_KEY_FILE)`);
        const filter = filterOf(o);
        const byFilter = Object.keys(filter).length > 0;
        if (byFilter === itemIds.length > 0)
          throw new Error(
            `exceptions ${name}: name the exceptions either by id or by filter options, not ${byFilter ? 'both' : 'neither'}`,
          );
        const by = actorOf(o.by, env);
        const asOf = o.asOf ?? now().toISOString();
        let printed: ExceptionActionRequest | undefined;
        const outcome = await withStores(closeId, recon, async (t, s): Promise<ExceptionActionOutcome | undefined> => {
          const rows = await s.store.rows(t.runId);
          let chosen: LifecycleRow[];
          try {
            chosen = byFilter
              ? selectExceptions(rows, filter, asOf).items
              : rows.filter((r) => itemIds.includes(r.itemId));
          } catch (err) {
            // A filter matching nothing is refused, and the attempt recorded, before anything is signed.
            const message = (err as Error).message;
            const type = (err as { type?: string }).type ?? 'InvalidExceptionAction';
            await s.store.recordUnverified({
              runId: t.runId,
              reconId: t.reconId,
              claimedBy: by,
              at: now().toISOString(),
              message,
              type,
            });
            const entry = await s.ledger?.append({
              actor: `unverified:${by}`,
              action: 'exception.action.refused',
              subject: `${t.closeId}/${t.reconId}`,
              payload: { runId: t.runId, action: action.action, filter, type, message },
            });
            return { accepted: false, type, message, ...(entry ? { ledgerSeq: entry.seq } : {}) };
          }
          const ids = byFilter ? chosen.map((x) => x.itemId) : [...new Set(itemIds)];
          const totals = totalsByCurrency(chosen);
          if (!o.json && !o.printUpdate)
            out(
              `${name} ${ids.length} exception(s) of ${t.reconId} totalling ${totalsText(totals)}` +
                (byFilter ? ` (${describeFilter(filter)})` : ''),
            );
          const { token } = await signExceptionAction(
            {
              workflowId: t.closeId,
              reconId: t.reconId,
              runId: t.runId,
              by,
              exceptionAction: action as unknown as Record<string, unknown>,
              itemIds: ids,
              count: ids.length,
              totals,
              ...(byFilter ? { filter: filter as Record<string, unknown> } : {}),
            },
            await readSigningKeyFile(keyFile),
            { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: now() },
          );
          if (o.printUpdate) {
            printed = { task: recon, token };
            return undefined;
          }
          return send(t.closeId, { task: recon, token }, t);
        });
        if (printed) {
          out(JSON.stringify(printed));
          return;
        }
        if (!outcome) return;
        out(o.json ? JSON.stringify(outcome) : formatOutcome(outcome));
        if (!outcome.accepted) process.exitCode = 2;
      },
    );
  }
}

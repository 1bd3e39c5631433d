// `finflow exceptions list|ageing|show|explain|resolve|reopen|carry-forward` (and suggestions|confirm|reject,
// exception-suggestions.ts; certify, exception-certify.ts): the people who own a reconciliation work its
// exceptions (issue 15). Reading needs the result store (DATABASE_URL, and the keys when its runs are sealed).
// Acting is signed with the person's key (--signing-key, as `finflow task complete`) and sent to the close as the
// `submitExceptionAction` update: the close's worker verifies it against the key set it trusts, takes the signer's
// roles from the close's own user directory, applies it in the result store and the audit ledger, and journals it in
// the close's history (workflows/close/exception-actions.ts). Which run and owner role: from the close's own status,
// never from the caller. Exit code 2 on a refusal (recorded), 1 on a failure to act at all.
import type { Command } from 'commander';
import { signExceptionAction } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, readSigningKeyFile } from '../../activities/approval/keys';
import type { ExceptionActionOutcome, ExceptionActionTarget } from '../../activities/exceptions/signed-action';
import type { LifecycleRow } from '../../activities/result-store/exception-actions';
import { AGEING_BUCKETS, ageingReport } from '../../domain/exceptions/ageing';
import { ageInDays, describeFilter, selectExceptions, totalsByCurrency } from '../../domain/exceptions/filter';
import { parseExceptionAction } from '../../domain/exceptions/lifecycle';
import { totalsText } from '../../domain/exceptions/materiality';
import type { ExceptionActionRequest } from '../../workflows/close/exception-actions';
import {
  defaultOpen,
  defaultSend,
  defaultStatus,
  type ExceptionsCliDeps,
  type OpenedStores,
  targetOf,
} from './exceptions-context';
import {
  actorOf,
  csvCell,
  filterOf,
  type FilterOpts,
  type ListOpts,
  table,
  withFilterOptions,
  withListOptions,
} from './exceptions-options';
import { registerSuggestionCommands } from './exception-suggestions';
import { registerCertifyCommand } from './exception-certify';

export { targetOf, type ExceptionsCliDeps, type OpenedStores } from './exceptions-context';

type Out = (s: string) => void;

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
    .description(
      "work a reconciliation's exceptions: list, show, explain, resolve, reopen, carry forward, decide suggestions, certify (signed)",
    );
  registerSuggestionCommands(ex, out, { env, now, withStores, send, formatOutcome });
  registerCertifyCommand(ex, out, { env, now, withStores, send, formatOutcome });

  withListOptions(
    ex
      .command('list <closeId> <reconciliation>')
      .description('the exceptions of a reconciliation task (its id or reconciliation id), filtered and paged'),
    'print CSV (every column)',
  ).action(async (closeId: string, recon: string, o: ListOpts) => {
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
  });

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

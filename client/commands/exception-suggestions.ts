// `finflow exceptions suggestions|confirm|reject` (issue 15): the suggested matches of a reconciliation, waiting for
// a person, with their candidates; a confirm of one candidate or a reject with its reason, signed with the person's
// key and sent to the close like every other exception action (same token, same `submitExceptionAction` update; the
// close's worker verifies it, takes the signer's roles from the close's directory and applies it in the result store
// and the audit ledger). What a decision does to the records: domain/exceptions/suggestions.ts.
import type { Command } from 'commander';
import { signExceptionAction } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, readSigningKeyFile } from '../../activities/approval/keys';
import type { ExceptionActionOutcome, ExceptionActionTarget } from '../../activities/exceptions/signed-action';
import type { PendingSuggestion } from '../../activities/result-store/suggestions';
import { ageInDays, describeFilter, totalsByCurrency } from '../../domain/exceptions/filter';
import { totalsText } from '../../domain/exceptions/materiality';
import { parseSuggestionAction } from '../../domain/exceptions/suggestions';
import type { ExceptionActionRequest } from '../../workflows/close/exception-actions';
import type { OpenedStores } from './exceptions-context';
import { actorOf, csvCell, filterOf, type ListOpts, wholeDays, withListOptions } from './exceptions-options';

type Out = (s: string) => void;

export interface SuggestionCommandsContext {
  env: NodeJS.ProcessEnv;
  now: () => Date;
  withStores: <T>(
    closeId: string,
    task: string,
    fn: (t: ExceptionActionTarget, s: OpenedStores) => Promise<T>,
  ) => Promise<T>;
  send: (
    closeId: string,
    req: ExceptionActionRequest,
    target: ExceptionActionTarget,
  ) => Promise<ExceptionActionOutcome>;
  formatOutcome: (o: ExceptionActionOutcome) => string;
}

const CSV_COLUMNS = [
  'item',
  'rule',
  'because',
  'state',
  'currency',
  'difference',
  'key',
  'first_seen',
  'age_days',
  'candidate',
  'a',
  'b',
  'amount_a',
  'amount_b',
  'candidate_difference',
] as const;

function suggestionsOf(s: OpenedStores) {
  if (!s.suggestions) throw new Error('these stores hold no suggestion store: suggested matches cannot be read here');
  return s.suggestions;
}

function describe(x: PendingSuggestion, asOf: string): string[] {
  const lines = [
    `${x.itemId}  rule ${x.rule} (${x.because.replace(/_/g, ' ')}), ${x.state}, ${x.currency ?? ''} difference ` +
      `${x.difference ?? ''}, key ${x.key}, first seen ${x.firstSeen} (${ageInDays(x.firstSeen, asOf)} days)`,
  ];
  for (const c of x.candidates)
    lines.push(
      `  candidate ${c.number}: ${c.a.join('+')} = ${c.b.join('+')}  (${c.amountA} / ${c.amountB}, difference ${c.difference})`,
    );
  if (x.candidateCount > x.candidates.length)
    lines.push(`  ... ${x.candidateCount - x.candidates.length} more candidate(s) not listed`);
  return lines;
}

export function registerSuggestionCommands(ex: Command, out: Out, ctx: SuggestionCommandsContext): void {
  withListOptions(
    ex
      .command('suggestions <closeId> <reconciliation>')
      .description('suggested matches waiting for a person, with their candidates (filtered and paged like list)'),
    'print CSV (one line per candidate)',
  ).action(async (closeId: string, recon: string, o: ListOpts) => {
    const asOf = o.asOf ?? ctx.now().toISOString();
    await ctx.withStores(closeId, recon, async (t, s) => {
      const page = await suggestionsOf(s).list(t.runId, {
        filter: filterOf(o),
        asOf,
        offset: o.offset,
        limit: o.limit,
      });
      if (o.json) {
        out(JSON.stringify({ ...t, asOf, offset: o.offset, ...page }));
        return;
      }
      if (o.csv) {
        const rows = page.items.flatMap((x) =>
          x.candidates.map((c) => [
            x.itemId,
            x.rule,
            x.because,
            x.state,
            x.currency ?? '',
            x.difference ?? '',
            x.key,
            x.firstSeen,
            String(ageInDays(x.firstSeen, asOf)),
            String(c.number),
            c.a.join('+'),
            c.b.join('+'),
            c.amountA,
            c.amountB,
            c.difference,
          ]),
        );
        out([[...CSV_COLUMNS], ...rows].map((r) => r.map(csvCell).join(',')).join('\n'));
        return;
      }
      for (const x of page.items) out(describe(x, asOf).join('\n'));
      out(
        `${page.count} suggestion(s) of ${t.reconId} pending (${describeFilter(filterOf(o))}); showing ` +
          `${page.items.length ? `${o.offset + 1}-${o.offset + page.items.length}` : 'none'}`,
      );
    });
  });

  for (const name of ['confirm', 'reject'] as const) {
    const cmd = ex
      .command(`${name} <closeId> <reconciliation> <itemId>`)
      .description(
        name === 'confirm'
          ? 'confirm a suggested match: its candidate (--candidate n, as `suggestions` lists them) becomes a match naming you'
          : 'reject a suggested match with a reason: its records return to the leftovers with their categories',
      )
      .option('--by <user>', 'who acts (default $FINFLOW_ACTOR or the login name); must match the signing key')
      .option(
        '--signing-key <file>',
        'private JWK that signs the action (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE); actions are always signed',
      )
      .option('--json', 'print the answer as JSON')
      .option(
        '--print-update',
        'print the signed action as the submitExceptionAction update input instead of sending it',
      );
    if (name === 'confirm')
      cmd
        .option('--candidate <n>', 'the candidate confirmed (default 1 when only one is listed)', wholeDays)
        .option('--text <text>', 'a note kept with the decision');
    else cmd.requiredOption('--reason <text>', 'why the records do not belong together');
    cmd.action(
      async (
        closeId: string,
        recon: string,
        itemId: string,
        o: {
          by?: string;
          signingKey?: string;
          json?: boolean;
          printUpdate?: boolean;
          candidate?: number;
          text?: string;
          reason?: string;
        },
      ) => {
        const raw =
          name === 'confirm'
            ? { action: 'confirm', candidate: o.candidate, text: o.text }
            : { action: 'reject', reason: o.reason };
        // Checked before anything is read or signed, so a typo is answered at once.
        const action = parseSuggestionAction(JSON.parse(JSON.stringify(raw)), name);
        const keyFile = o.signingKey ?? ctx.env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
        if (!keyFile)
          throw new Error(`exceptions ${name} is signed: give --signing-key (or FINFLOW_APPROVAL_SIGNING_KEY_FILE)`);
        const by = actorOf(o.by, ctx.env);
        let printed: ExceptionActionRequest | undefined;
        const outcome = await ctx.withStores(closeId, recon, async (t, s) => {
          const pending = await suggestionsOf(s).list(t.runId, { asOf: ctx.now().toISOString() });
          const x = pending.items.find((p) => p.itemId === itemId);
          // A suggestion no longer pending (or no suggestion) is still signed as it stands and sent: the close
          // refuses it, and the attempt is recorded.
          const row = x ? undefined : (await s.store.rows(t.runId)).find((r) => r.itemId === itemId);
          const totals = x
            ? totalsByCurrency([{ itemId, currency: x.currency, amount: x.difference ?? '0' }])
            : row
              ? totalsByCurrency([row])
              : [];
          if (x && name === 'confirm' && o.candidate === undefined && x.candidates.length > 1)
            throw new Error(
              `suggestion ${itemId} lists ${x.candidates.length} candidates: name one with --candidate (see \`exceptions suggestions\`)`,
            );
          if (!o.json && !o.printUpdate) out(`${name} suggestion ${itemId} of ${t.reconId} (${totalsText(totals)})`);
          const { token } = await signExceptionAction(
            {
              workflowId: t.closeId,
              reconId: t.reconId,
              runId: t.runId,
              by,
              exceptionAction: action as unknown as Record<string, unknown>,
              itemIds: [itemId],
              count: 1,
              totals,
            },
            await readSigningKeyFile(keyFile),
            { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: ctx.now() },
          );
          if (o.printUpdate) {
            printed = { task: recon, token };
            return undefined;
          }
          return ctx.send(t.closeId, { task: recon, token }, t);
        });
        if (printed) {
          out(JSON.stringify(printed));
          return;
        }
        if (!outcome) return;
        out(o.json ? JSON.stringify(outcome) : ctx.formatOutcome(outcome));
        if (!outcome.accepted) process.exitCode = 2;
      },
    );
  }
}

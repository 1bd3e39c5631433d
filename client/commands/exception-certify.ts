// `finflow exceptions certify <closeId> <reconciliation> --text ...` (issue 15): the preparer certifies, signed with
// their own key, that the reconciliation is complete. The certification names no items: it carries the count and
// per-currency totals of the run's exceptions as the preparer sees them (the store refuses it when they no longer
// add up), goes to the close like every exception action (same token, the `submitExceptionAction` update; the
// close's worker verifies it, checks the signer holds the reconciliation's owner role, records it in the result
// store and the audit ledger, and journals it), and stands until an action on the exceptions follows it. An
// approval checkpoint with `certification_required` waits for it. The rule: domain/exceptions/certification.ts.
import type { Command } from 'commander';
import { signExceptionAction } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, readSigningKeyFile } from '../../activities/approval/keys';
import type { ExceptionActionOutcome } from '../../activities/exceptions/signed-action';
import { countsByState, parseCertifyAction } from '../../domain/exceptions/certification';
import { totalsByCurrency } from '../../domain/exceptions/filter';
import { totalsText } from '../../domain/exceptions/materiality';
import type { ExceptionActionRequest } from '../../workflows/close/exception-actions';
import type { SuggestionCommandsContext } from './exception-suggestions';
import { actorOf } from './exceptions-options';

type Out = (s: string) => void;

/** `accepted: ann certified gl-vs-erp complete (3 exception(s) totalling USD 30.75; action 7, audit ledger 12)`. */
export function formatCertification(reconId: string, o: ExceptionActionOutcome): string {
  return o.accepted
    ? `accepted: ${o.by} certified ${reconId} complete (${o.count} exception(s) totalling ${totalsText(o.totals)}; ` +
        `action ${o.seq}${o.ledgerSeq !== undefined ? `, audit ledger ${o.ledgerSeq}` : ''})`
    : `refused (${o.type}): ${o.message}${o.ledgerSeq !== undefined ? ` (audit ledger ${o.ledgerSeq})` : ''}`;
}

export function registerCertifyCommand(ex: Command, out: Out, ctx: SuggestionCommandsContext): void {
  ex.command('certify <closeId> <reconciliation>')
    .description('the preparer certifies the reconciliation complete (signed); an approval requiring it waits for it')
    .requiredOption('--text <text>', 'what is certified, e.g. "all exceptions explained; reconciliation complete"')
    .option('--by <user>', 'who certifies (default $FINFLOW_ACTOR or the login name); must match the signing key')
    .option('--signing-key <file>', 'private JWK that signs it (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE)')
    .option('--json', 'print the answer as JSON')
    .option('--print-update', 'print the signed certification as the submitExceptionAction update input instead')
    .action(
      async (
        closeId: string,
        recon: string,
        o: { text: string; by?: string; signingKey?: string; json?: boolean; printUpdate?: boolean },
      ) => {
        const action = parseCertifyAction({ action: 'certify', text: o.text }, 'certify');
        const keyFile = o.signingKey ?? ctx.env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
        if (!keyFile)
          throw new Error('exceptions certify is signed: give --signing-key (or FINFLOW_APPROVAL_SIGNING_KEY_FILE)');
        const by = actorOf(o.by, ctx.env);
        let printed: ExceptionActionRequest | undefined;
        let reconId = recon;
        const outcome = await ctx.withStores(closeId, recon, async (t, s) => {
          reconId = t.reconId;
          const rows = await s.store.rows(t.runId);
          const totals = totalsByCurrency(rows);
          if (!o.json && !o.printUpdate)
            out(
              `certify ${t.reconId} complete: ${rows.length} exception(s) totalling ${totalsText(totals)} ` +
                `(${
                  Object.entries(countsByState(rows))
                    .map(([state, n]) => `${n} ${state}`)
                    .join(', ') || 'none'
                })`,
            );
          const { token } = await signExceptionAction(
            {
              workflowId: t.closeId,
              reconId: t.reconId,
              runId: t.runId,
              by,
              exceptionAction: action,
              itemIds: [],
              count: rows.length,
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
        out(o.json ? JSON.stringify(outcome) : formatCertification(reconId, outcome));
        if (!outcome.accepted) process.exitCode = 2;
      },
    );
}

// `finflow approval delegate --from maya.manager --to sam.supervisor --until 2026-11-10 --scope journal_entry:50000`
// (issue 18): signed with the signer's own key (the delegator's, or an administrator's with --by), sent to every
// running close (or those named with --close); each answers whether the delegation counts, or why not.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { readSigningKeyFile } from '../../activities/approval/keys';
import { parseDelegationScope, type DelegationGrant } from '../../domain/approval';
import { sendDelegation } from '../approval-delegation';

type Out = (s: string) => void;

export function registerDelegateCommand(
  approval: Command,
  conn: () => Promise<{ client: Client; close: () => Promise<void> }>,
  out: Out,
  env: NodeJS.ProcessEnv,
): void {
  approval
    .command('delegate')
    .description("delegate a person's approval authority for a while, to every running close (or those named)")
    .requiredOption('--from <userId>', 'whose authority')
    .requiredOption('--to <userId>', 'who holds it meanwhile')
    .requiredOption('--until <date>', 'last day (or instant) of the delegation')
    .option('--since <date>', 'first day (or instant); default when each close receives it')
    .option('--scope <itemType[:limit]>', 'only these items, up to this amount (journal_entry:50000)')
    .option('--role <role>', "only this role of the delegator's")
    .option('--reason <text>')
    .option('--by <userId>', 'who signs: the delegator (default) or an administrator')
    .option('--signing-key <file>', "the signer's own private JWK (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE)")
    .option('--close <workflowId>', 'send to this close only (repeatable)', (v: string, acc: string[] = []) => [
      ...acc,
      v,
    ])
    .action(
      async (o: {
        from: string;
        to: string;
        until: string;
        since?: string;
        scope?: string;
        role?: string;
        reason?: string;
        by?: string;
        signingKey?: string;
        close?: string[];
      }) => {
        const keyFile = o.signingKey ?? env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
        if (!keyFile)
          throw new Error('a delegation is signed: give --signing-key (or FINFLOW_APPROVAL_SIGNING_KEY_FILE)');
        const key = await readSigningKeyFile(keyFile);
        const delegation: DelegationGrant = {
          from: o.from,
          to: o.to,
          to_date: o.until,
          ...(o.since ? { from_date: o.since } : {}),
          ...(o.scope ? { scope: parseDelegationScope(o.scope) } : {}),
          ...(o.role ? { role: o.role } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        };
        const { client, close } = await conn();
        try {
          const sent = await sendDelegation(client, {
            by: o.by ?? o.from,
            key,
            delegation,
            ...(o.close ? { closes: o.close } : {}),
          });
          if (!sent.length) out('no running close to delegate in: nothing sent');
          for (const s of sent)
            out(
              `${s.workflowId}: ${s.answer.accepted ? 'accepted' : `refused (${s.answer.reason})`}: ${s.answer.message}`,
            );
          if (sent.some((s) => !s.answer.accepted)) process.exitCode = 2;
        } finally {
          await close();
        }
      },
    );
}

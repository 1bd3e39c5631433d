// `finflow close cancel <closeId> --reason <text>`: stops a running close with who and why in its journal and the
// audit ledger (client/close-cancel.ts); `finflow close status` then shows it cancelled.
import { userInfo } from 'node:os';
import { CancelledFailure } from '@temporalio/common';
import type { Command } from 'commander';
import { readSigningKeyFile } from '../../activities/approval/keys';
import { cancelClose } from '../close-cancel';
import { connectClient } from '../connect';

type Out = (s: string) => void;

export function registerCloseCancelCommand(
  program: Command,
  out: Out = (s) => console.log(s),
  env: NodeJS.ProcessEnv = process.env,
): void {
  const close = program.commands.find((c) => c.name() === 'close');
  if (!close) throw new Error('register the close commands before close cancel');
  close
    .command('cancel <closeId>')
    .description('cancel a running close: its reconciliations, activities and timers stop; who and why are journaled')
    .requiredOption('--reason <text>', 'why the close is cancelled (kept in its journal and the audit ledger)')
    .option('--by <user>', 'who cancels (default $FINFLOW_ACTOR or the login name)')
    .option(
      '--signing-key <file>',
      "the canceller's own private JWK: proves who cancelled (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE; without one the record says as claimed)",
    )
    .option('--wait', 'wait until the close has ended')
    .action(async (closeId: string, o: { reason: string; by?: string; signingKey?: string; wait?: boolean }) => {
      if (!o.reason.trim()) throw new Error('close cancel needs --reason: the journal keeps why');
      const by = o.by ?? env.FINFLOW_ACTOR ?? env.USER ?? userInfo().username;
      const conn = program.opts<{ address?: string; namespace?: string; taskQueue?: string }>();
      const { client, close: done } = await connectClient({
        address: conn.address,
        namespace: conn.namespace,
        taskQueue: conn.taskQueue,
      });
      try {
        const keyFile = o.signingKey ?? env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
        const signingKey = keyFile ? await readSigningKeyFile(keyFile) : undefined;
        await cancelClose(client, closeId, { by, reason: o.reason, ...(signingKey ? { signingKey } : {}) });
        out(
          `cancellation of ${closeId} requested by ${by}${signingKey ? ' (signed)' : ' (unsigned: recorded as claimed)'}`,
        );
        if (o.wait) {
          const ended = await client.workflow
            .getHandle(closeId)
            .result()
            .then(
              () => 'completed before the cancellation reached it',
              (err: unknown) =>
                (err as { cause?: unknown }).cause instanceof CancelledFailure
                  ? 'cancelled'
                  : `ended: ${(err as Error).message}`,
            );
          out(`${closeId} ${ended}`);
        }
      } finally {
        await done();
      }
    });
}

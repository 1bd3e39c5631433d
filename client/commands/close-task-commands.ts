// `finflow task ...`: a person's action on a task of a running close (complete, rerun, waive, reassign, skip,
// attest), signed when a key is at hand and recorded in the close's journal (moved out of close.ts, behaviour
// unchanged).
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { TaskAction, TaskActionAnswer } from '../../workflows/types';
import { APPROVAL_AUDIENCE, CLI_ISSUER, readSigningKeyFile } from '../../activities/approval/keys';
import { signTaskAction } from '../../activities/approval/task-action-token';
import { submitTaskAction } from '../task-action';
import { connectClient } from '../connect';

type Out = (s: string) => void;

export const TASK_ACTIONS = ['complete', 'rerun', 'waive', 'reassign', 'skip', 'attest'] as const;

export function formatTaskAnswer(a: TaskActionAnswer): string {
  return `${a.action}${a.taskId ? ` ${a.taskId}` : ''}: ${a.accepted ? 'accepted' : 'refused'}: ${a.message}`;
}

/** Who acts: --by, else FINFLOW_ACTOR, else the login name (recorded in the close's journal). */
function actor(by: string | undefined, env: NodeJS.ProcessEnv): string {
  return by ?? env.FINFLOW_ACTOR ?? env.USER ?? userInfo().username;
}

export function registerTaskCommands(
  program: Command,
  out: Out = (s) => console.log(s),
  env: NodeJS.ProcessEnv = process.env,
): void {
  const task = program
    .command('task')
    .description('act on a task of a running close: complete, rerun, waive, reassign, skip (recorded in its journal)');
  for (const action of TASK_ACTIONS) {
    const cmd = task
      .command(`${action} <closeId> <taskId>`)
      .description(
        {
          complete: 'mark a manual or journal-entry task done (its owner)',
          rerun: 'run a failed or blocked task again',
          waive: 'waive a task: opens an approval of the waiver; the task is waived once approved',
          reassign: 'give the task to another person (--to)',
          skip: 'skip a task, with a reason',
          attest: "attest a documentation task's control (--statement: the exact text its status shows)",
        }[action],
      )
      .option('--reason <text>', 'why (required for skip and waive)')
      .option('--by <user>', 'who acts (default $FINFLOW_ACTOR or the login name)')
      .option('--note <text>', 'a note for the journal')
      .option(
        '--signing-key <file>',
        'private JWK that signs the action, so the journal shows who acted as proven (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE)',
      )
      .option('--print-signal', 'print the (signed) action as the taskAction signal input instead of sending it')
      .option('--json', 'print the answer as JSON');
    if (action === 'reassign') cmd.requiredOption('--to <user>', 'the new owner');
    if (action === 'attest')
      cmd.requiredOption('--statement <text>', 'the attestation text, exactly as the task status shows it');
    cmd.action(
      async (
        closeId: string,
        taskId: string,
        o: {
          reason?: string;
          by?: string;
          note?: string;
          to?: string;
          json?: boolean;
          signingKey?: string;
          printSignal?: boolean;
          statement?: string;
        },
      ) => {
        if ((action === 'skip' || action === 'waive') && !o.reason?.trim())
          throw new Error(`task ${action} needs --reason: the journal keeps why`);
        const plain: TaskAction = {
          action,
          taskId,
          by: actor(o.by, env),
          ...(o.reason ? { reason: o.reason } : {}),
          ...(o.to ? { to: o.to } : {}),
          ...(o.note ? { note: o.note } : {}),
          ...(o.statement !== undefined ? { statement: o.statement } : {}),
        };
        const keyFile = o.signingKey ?? env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
        const payload: TaskAction = keyFile
          ? {
              ...plain,
              token: (
                await signTaskAction(
                  { ...(plain as Omit<TaskAction, 'token'>), workflowId: closeId },
                  await readSigningKeyFile(keyFile),
                  { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE },
                )
              ).token,
            }
          : plain;
        if (o.printSignal) {
          out(JSON.stringify(payload));
          return;
        }
        const conn = program.opts<{ address?: string; namespace?: string; taskQueue?: string }>();
        const { client, close: done } = await connectClient({
          address: conn.address,
          namespace: conn.namespace,
          taskQueue: conn.taskQueue,
        });
        try {
          const answer = await submitTaskAction(client, closeId, payload);
          out(o.json ? JSON.stringify(answer) : formatTaskAnswer(answer));
          // Scripts tell a refusal from a failure to reach the close (exit 1).
          if (!answer.accepted) process.exitCode = 2;
        } finally {
          await done();
        }
      },
    );
  }
}

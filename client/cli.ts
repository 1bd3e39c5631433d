// The `finflow` command line: start and watch closes, approve checkpoints. Talks to Temporal only, like every
// other client; the same actions are possible with the plain `temporal` CLI (see README).
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Command } from 'commander';
import { closeWorkflowId } from '../domain/ids';
import { statusQuery } from '../workflows/definitions';
import type { CloseStatus } from '../workflows/types';
import { readClosePlan } from './close-plan-file';
import { registerApprovalCommands } from './commands/approval';
import { registerComplianceCommands } from './commands/compliance';
import { registerSecurityCommands } from './commands/security';
import { connectClient } from './connect';

export function formatStatus(s: CloseStatus): string {
  const lines = [`${s.closeId}  ${s.state.toUpperCase()}  ${s.percentDone}% done`];
  const w = Math.max(...s.tasks.map((t) => t.id.length), 4);
  for (const t of s.tasks) {
    const extra = t.result
      ? ` matched=${t.result.keys.matched} mismatched=${t.result.keys.amountMismatch} missing_in_a=${t.result.keys.missingInA} missing_in_b=${t.result.keys.missingInB} difference=${t.result.difference}`
      : '';
    lines.push(`  ${t.id.padEnd(w)}  ${t.state.padEnd(20)}${t.reason ? ` ${t.reason}` : ''}${extra}`);
  }
  for (const c of s.checkpoints) {
    const last = c.decisions[c.decisions.length - 1];
    lines.push(
      `  checkpoint ${c.checkpointId}: ${c.state}` +
        (c.state === 'open' ? `; may approve: ${c.allowedRoles.join(', ')}` : '') +
        (c.state !== 'open' && last ? `; last decision: ${last.decision} by ${last.approverId} (${last.role})` : '') +
        (c.escalations.length ? `; escalated to ${c.escalations.map((e) => e.toRole).join(', ')}` : '') +
        (c.refusals.length ? `; ${c.refusals.length} refused attempt(s)` : '') +
        (c.warning ? `; ${c.warning}` : ''),
    );
  }
  return lines.join('\n');
}

function resolveId(idOrNothing: string | undefined, opts: { company?: string; period?: string }): string {
  if (idOrNothing) return idOrNothing;
  if (opts.company && opts.period) return closeWorkflowId(opts.company, opts.period);
  throw new Error('name the close: a workflow id, or --company and --period');
}

export function buildProgram(out: (s: string) => void = (s) => console.log(s)): Command {
  const program = new Command('finflow').description('finflow: durable month-end close on Temporal');
  program.option('--address <host:port>', 'Temporal frontend (default $TEMPORAL_ADDRESS or localhost:7233)');
  program.option('--namespace <ns>', 'Temporal namespace (default $TEMPORAL_NAMESPACE or default)');
  program.option('--task-queue <name>', 'task queue of the finflow workers');
  const conn = () => {
    const o = program.opts<{ address?: string; namespace?: string; taskQueue?: string }>();
    return connectClient({ address: o.address, namespace: o.namespace, taskQueue: o.taskQueue });
  };

  const close = program.command('close').description('start and follow month-end closes');
  close
    .command('start <plan>')
    .description('start a close from a JSON or YAML plan; starting the same company and period twice is a no-op')
    .option('--period <yyyy-mm>', 'fiscal period, overriding the plan')
    .option('--company <code>', 'company, overriding the plan')
    .option('--wait', 'wait for the close to finish and print its final status')
    .action(async (planPath: string, o: { period?: string; company?: string; wait?: boolean }) => {
      const plan = readClosePlan(planPath, o);
      const { client, config, close: done } = await conn();
      try {
        const workflowId = closeWorkflowId(plan.company, plan.period);
        try {
          await client.workflow.start('monthEndCloseWorkflow', {
            taskQueue: config.taskQueue,
            workflowId,
            args: [plan],
          });
          out(`started ${workflowId}`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          out(`${workflowId} is already running or done: not started again`);
        }
        if (o.wait) out(formatStatus(await client.workflow.getHandle(workflowId).result()));
      } finally {
        await done();
      }
    });
  close
    .command('status [closeId]')
    .description('show a close: task states, reconciliation figures, checkpoints')
    .option('--company <code>')
    .option('--period <yyyy-mm>')
    .option('--json', 'print the raw status object')
    .action(async (id: string | undefined, o: { company?: string; period?: string; json?: boolean }) => {
      const { client, close: done } = await conn();
      try {
        const s = await client.workflow.getHandle(resolveId(id, o)).query(statusQuery);
        out(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      } finally {
        await done();
      }
    });
  close
    .command('result [closeId]')
    .description('wait for a close to finish and print its final status')
    .option('--company <code>')
    .option('--period <yyyy-mm>')
    .option('--json')
    .action(async (id: string | undefined, o: { company?: string; period?: string; json?: boolean }) => {
      const { client, close: done } = await conn();
      try {
        const s = (await client.workflow.getHandle(resolveId(id, o)).result()) as CloseStatus;
        out(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      } finally {
        await done();
      }
    });

  // Each area registers its own commands (client/commands/*.ts); one line each here.
  registerApprovalCommands(program, out);
  registerComplianceCommands(program, out);
  registerSecurityCommands(program, out);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

if (require.main === module) {
  main(process.argv).catch((err) => {
    console.error(`finflow: ${(err as Error).message}`);
    process.exit(1);
  });
}

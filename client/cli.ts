// The `finflow` command line: start and watch closes, approve checkpoints. Talks to Temporal only, like every
// other client; the same actions are possible with the plain `temporal` CLI (see README).
import { Command } from 'commander';
import { registerApprovalCommands } from './commands/approval';
import { registerCloseCommands, registerTaskCommands } from './commands/close';
import { registerCloseCancelCommand } from './commands/close-cancel';
import { registerComplianceCommands } from './commands/compliance';
import { registerExceptionCommands } from './commands/exceptions';
import { registerReconCommands } from './commands/recon';
import { registerKeyCommands } from './commands/keys';
import { registerSecurityCommands } from './commands/security';

// Kept here for callers of the earlier layout (scripts/demo.ts): the close commands live in commands/close.ts.
export { formatStatus } from './commands/close';

export function buildProgram(out: (s: string) => void = (s) => console.log(s)): Command {
  const program = new Command('finflow').description('finflow: durable month-end close on Temporal');
  program.option('--address <host:port>', 'Temporal frontend (default $TEMPORAL_ADDRESS or localhost:7233)');
  program.option('--namespace <ns>', 'Temporal namespace (default $TEMPORAL_NAMESPACE or default)');
  program.option('--task-queue <name>', 'task queue of the finflow workers');
  // Each area registers its own commands (client/commands/*.ts); one line each here.
  registerCloseCommands(program, out);
  registerCloseCancelCommand(program, out);
  registerTaskCommands(program, out);
  registerApprovalCommands(program, out);
  registerComplianceCommands(program, out);
  registerExceptionCommands(program, out);
  registerReconCommands(program, out);
  registerSecurityCommands(program, out);
  registerKeyCommands(program, out);
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

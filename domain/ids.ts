// Workflow ids come from business keys, never random: starting the same close twice is then idempotent
// (the server answers WorkflowExecutionAlreadyStarted), and anyone can find a close from its company and period.
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function part(name: string, value: string): string {
  if (!SAFE.test(value))
    throw new Error(`${name} ${JSON.stringify(value)} may hold only letters, digits, '.', '_' and '-'`);
  return value;
}

export const TASK_QUEUE = 'finflow';

export function closeWorkflowId(company: string, period: string): string {
  return `close:${part('company', company)}:${part('period', period)}`;
}

export function reconWorkflowId(company: string, period: string, reconId: string): string {
  return `recon:${part('company', company)}:${part('period', period)}:${part('reconciliation id', reconId)}`;
}

export function parseCloseWorkflowId(id: string): { company: string; period: string } {
  const m = /^close:([^:]+):([^:]+)$/.exec(id);
  if (!m) throw new Error(`not a close workflow id: ${id}`);
  return { company: m[1], period: m[2] };
}

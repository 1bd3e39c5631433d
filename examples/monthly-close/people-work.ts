// The people's half of the seed's close (issue 15), as the demo plays it through the approval gateway: the
// accountant explains each reconciliation's exceptions by category (bulk actions, each signed as her), and the
// controller attests the SOX documentation with the exact text its status shows. Reading the exceptions goes through
// `finflow exceptions list --json` (the result store, unsealed with the worker's keys); acting goes through the
// gateway's POST /exception-actions and POST /task-actions, whose answers are the close's own.
import { Command } from 'commander';
import { registerExceptionCommands } from '../../client/commands/exceptions';
import { totalsByCurrency } from '../../domain/exceptions/filter';
import { totalsText } from '../../domain/exceptions/materiality';
import type { LifecycleRow } from '../../activities/result-store/exception-actions';
import type { CloseStatus, TaskStatus } from '../../contracts';

/**
 * How the accountant explains each category: a reason code of the reconciliation's list and the text she writes.
 * Amount mismatches are posting errors, and the text proposes the adjusting entry.
 */
export const EXPLANATIONS: Record<string, { reasonCode: string; text: string }> = {
  timing_difference: {
    reasonCode: 'timing',
    text: 'Posted on different days either side of the cut-off; clears next period.',
  },
  deposit_in_transit: {
    reasonCode: 'timing',
    text: 'Deposit in transit: booked in the ledger, credited by the bank next period.',
  },
  outstanding_check: {
    reasonCode: 'timing',
    text: 'Outstanding check: issued and booked, not yet presented to the bank.',
  },
  outstanding_payment: { reasonCode: 'timing', text: 'Outstanding payment: booked, not yet debited by the bank.' },
  bank_fee: {
    reasonCode: 'bank_fee',
    text: 'Bank charges on the statement, not yet booked: booked with the monthly fee entry.',
  },
  amount_mismatch: {
    reasonCode: 'posting_error',
    text: 'Posting error in the ERP amount: propose an adjusting entry for the difference (JE-2026-10-ADJ-001).',
  },
  sign_reversal: {
    reasonCode: 'posting_error',
    text: 'Debit and credit swapped at posting: propose a reversing adjusting entry.',
  },
  transposition: {
    reasonCode: 'posting_error',
    text: 'Digits transposed at posting: propose an adjusting entry for the difference.',
  },
  rounding: {
    reasonCode: 'posting_error',
    text: 'Rounding at currency conversion: propose an adjusting entry for the cents.',
  },
  duplicate_key: {
    reasonCode: 'duplicate_posting',
    text: 'Posted twice under the same reference: the duplicate is reversed.',
  },
  missing_in_a: {
    reasonCode: 'other',
    text: 'Present only in the second system: the posting is traced to its source document.',
  },
  missing_in_b: {
    reasonCode: 'other',
    text: 'Present only in the first system: the posting is traced to its source document.',
  },
};
const FALLBACK = { reasonCode: 'other', text: 'Reviewed by the preparer; see the item for its source.' };
/** Items per signed action: the gateway takes requests of up to 64 KiB. */
const CHUNK = 400;

export interface PeopleWork {
  gatewayUrl: string;
  closeId: string;
  /** A bearer token of the demo's identity provider for the user. */
  login: (userId: string) => Promise<string>;
  status: () => Promise<CloseStatus>;
  say: (line: string) => void;
}

/** The exceptions of a reconciliation task, every state, read as `finflow exceptions list --json` reads them. */
export async function listExceptions(w: PeopleWork, taskId: string, state?: string): Promise<LifecycleRow[]> {
  const printed: string[] = [];
  const program = new Command();
  program.exitOverride();
  registerExceptionCommands(program, (s) => printed.push(s), { closeStatus: () => w.status() });
  await program.parseAsync(
    ['exceptions', 'list', w.closeId, taskId, '--json', '--limit', '1000000', ...(state ? ['--state', state] : [])],
    { from: 'user' },
  );
  return (JSON.parse(printed[printed.length - 1]) as { items: LifecycleRow[] }).items;
}

/** The accountant explains every open exception of a finished reconciliation, one signed bulk action per category. */
export async function explainExceptions(w: PeopleWork, t: TaskStatus, by: string): Promise<void> {
  const result = t.result;
  if (!result?.runId) return;
  const open = await listExceptions(w, t.id, 'open');
  const byCategory = new Map<string, LifecycleRow[]>();
  for (const x of open) byCategory.set(x.category, [...(byCategory.get(x.category) ?? []), x]);
  for (const [category, items] of byCategory) {
    const how = EXPLANATIONS[category] ?? FALLBACK;
    for (let i = 0; i < items.length; i += CHUNK) {
      const chunk = items.slice(i, i + CHUNK);
      const totals = totalsByCurrency(chunk);
      const res = await fetch(`${w.gatewayUrl}/exception-actions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await w.login(by)}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          workflowId: w.closeId,
          task: t.id,
          reconId: result.reconId,
          runId: result.runId,
          action: { action: 'explain', reasonCode: how.reasonCode, text: how.text },
          itemIds: chunk.map((x) => x.itemId),
          count: chunk.length,
          totals,
          filter: { category: [category] },
        }),
      });
      const answer = (await res.json()) as { accepted?: boolean; message?: string; type?: string };
      w.say(
        `  explained      ${result.reconId}: ${chunk.length} ${category} as ${how.reasonCode} (${totalsText(totals)}) by ${by} (signed): ` +
          `${answer.accepted ? 'accepted' : `REFUSED (${answer.type ?? res.status}): ${answer.message}`}`,
      );
      if (!answer.accepted)
        throw new Error(`the explanation of ${result.reconId} ${category} was refused: ${answer.message}`);
    }
  }
}

/** The controller attests the documentation task with the text its status shows. */
export async function attest(w: PeopleWork, t: TaskStatus, by: string): Promise<void> {
  const text = t.awaitingAttestation?.text as string;
  const res = await fetch(`${w.gatewayUrl}/task-actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await w.login(by)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workflowId: w.closeId, action: 'attest', taskId: t.id, statement: text }),
  });
  const answer = (await res.json()) as { accepted?: boolean; message?: string };
  w.say(`  attested       ${t.id} by ${by} (signed): ${answer.accepted ? 'accepted' : `REFUSED: ${answer.message}`}`);
  if (!answer.accepted) throw new Error(`the attestation of ${t.id} was refused: ${answer.message}`);
}

/** `explained 287, open 0` of a reconciliation's exceptions. */
export function stateLine(rows: readonly { state: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return ['explained', 'resolved', 'carried_forward', 'open']
    .filter((s) => counts.has(s) || s === 'open')
    .map((s) => `${s} ${(counts.get(s) ?? 0).toLocaleString('en-US')}`)
    .join(', ');
}

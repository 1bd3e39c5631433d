// The people's half of the seed's close (issue 15), as the demo plays it through the approval gateway: the
// accountant explains each reconciliation's exceptions by category (bulk actions, each signed as her), and the
// controller attests the SOX documentation with the exact text its status shows. Reading the exceptions goes through
// `finflow exceptions list --json` (the result store, unsealed with the worker's keys); acting goes through the
// gateway's POST /exception-actions and POST /task-actions, whose answers are the close's own.
import { crc32, deflateSync } from 'node:zlib';
import { Command } from 'commander';
import { registerExceptionCommands } from '../../client/commands/exceptions';
import { totalsByCurrency } from '../../domain/exceptions/filter';
import { totalsText } from '../../domain/exceptions/materiality';
import type { LifecycleRow } from '../../activities/result-store/exception-actions';
import type { CloseStatus, TaskStatus } from '../../contracts';
import type { EvidenceRef } from '../../domain/approval';

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

/**
 * A stand-in for the supervisor's screenshot of the bank portal's balance page: a small PNG the demo draws (a frame
 * and a bar), so the evidence path is the real one (gateway, store, signed decision, package) with a real image.
 */
export function standInScreenshot(width = 240, height = 80): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const edge = x < 2 || y < 2 || x >= width - 2 || y >= height - 2;
      const bar = y > 30 && y < 50 && x > 20 && x < 20 + ((width - 40) * 3) / 4;
      const [r, g, b] = edge ? [60, 60, 60] : bar ? [46, 125, 50] : [250, 250, 250];
      raw.set([r, g, b], y * (width * 3 + 1) + 1 + x * 3);
    }
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * The reviewer's evidence for a reconciliation's approval (the seed's `evidence_required: [screenshot,
 * explanation]`), handed to the gateway's POST /attachments as an approver app would: stored by SHA-256, named in the
 * signed decision, copied into the evidence package.
 */
export async function attachReviewEvidence(w: PeopleWork, by: string, period: string): Promise<EvidenceRef[]> {
  const files: [kind: string, name: string, bytes: Buffer][] = [
    ['screenshot', `bank-portal-balance-${period}.png`, standInScreenshot()],
    [
      'explanation',
      `review-note-${period}.txt`,
      Buffer.from(
        `Review of the ${period} reconciliations by ${by}: every exception was explained by the preparer; ` +
          'timing items clear next period, posting errors are corrected by adjusting entry.\n',
      ),
    ],
  ];
  const refs: EvidenceRef[] = [];
  for (const [kind, name, bytes] of files) {
    const res = await fetch(`${w.gatewayUrl}/attachments?kind=${kind}&name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await w.login(by)}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    const answer = (await res.json()) as EvidenceRef & { message?: string };
    if (res.status !== 201) throw new Error(`the gateway refused ${name}: ${answer.message}`);
    w.say(`  evidence       ${kind} ${name} attached by ${by} (sha256 ${answer.sha256?.slice(0, 12)}...)`);
    refs.push({ kind: answer.kind, ref: answer.ref, sha256: answer.sha256 });
  }
  return refs;
}

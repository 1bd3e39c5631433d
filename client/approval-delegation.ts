// Sending a delegation to running closes (issue 18), for `finflow approval delegate` and the library alike: one
// token per close, signed with the signer's own key for that close, sent as the submitDelegation update; each close
// verifies, judges and records it, and answers at once.
import type { Client } from '@temporalio/client';
import { signDelegation } from '../activities/approval/delegation-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../activities/approval/keys';
import type { ApprovalSigningKey } from '../activities/approval/signing';
import type { DelegationGrant } from '../domain/approval';
import { submitDelegationUpdate, type DelegationAnswer } from '../workflows/definitions';

/** Every running workflow that hosts approval checkpoints: closes, and approval workflows of their own. */
export const RUNNING_APPROVAL_HOSTS =
  "(WorkflowType = 'monthEndCloseWorkflow' OR WorkflowType = 'approvalWorkflow') AND ExecutionStatus = 'Running'";

export async function runningApprovalHosts(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: RUNNING_APPROVAL_HOSTS })) ids.push(w.workflowId);
  return ids.sort();
}

export interface DelegationSent {
  workflowId: string;
  answer: DelegationAnswer;
}

/**
 * Signs `delegation` as `by` with `key` for each of `closes` (default: every running close) and sends it. A close
 * that refuses it says why; a close that cannot be reached is reported as not reached, and the others still get it.
 */
export async function sendDelegation(
  client: Client,
  r: { by: string; key: ApprovalSigningKey; delegation: DelegationGrant; closes?: string[]; now?: Date },
): Promise<DelegationSent[]> {
  const closes = r.closes ?? (await runningApprovalHosts(client));
  const sent: DelegationSent[] = [];
  for (const workflowId of closes) {
    const { token } = await signDelegation({ workflowId, by: r.by, delegation: r.delegation }, r.key, {
      issuer: CLI_ISSUER,
      audience: APPROVAL_AUDIENCE,
      ...(r.now ? { now: r.now } : {}),
    });
    try {
      const answer = await client.workflow
        .getHandle(workflowId)
        .executeUpdate(submitDelegationUpdate, { args: [{ token }] });
      sent.push({ workflowId, answer });
    } catch (err) {
      sent.push({
        workflowId,
        answer: { accepted: false, reason: 'not_reached', message: (err as Error).message },
      });
    }
  }
  return sent;
}

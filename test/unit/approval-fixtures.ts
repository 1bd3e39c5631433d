// The seed's roles and limits (accountant; supervisor 10,000, manager 50,000, director 1,000,000) as an approval
// policy, shared by the approval tests. Kept as input (what a policy file holds) so tests can vary it.
import type { ApprovalPolicyInput, DecisionAttempt } from '../../domain/approval';

export function seedPolicyInput(): ApprovalPolicyInput {
  return {
    roles: [
      { name: 'accountant', can_prepare: ['journal_entry', 'reconciliation'] },
      {
        name: 'supervisor',
        can_prepare: ['journal_entry'],
        can_approve: ['journal_entry', 'reconciliation'],
        approval_limits: { journal_entry: '10000' },
      },
      {
        name: 'manager',
        can_approve: ['journal_entry', 'reconciliation'],
        approval_limits: { journal_entry: '50000' },
      },
      {
        name: 'director',
        can_approve: ['journal_entry', 'reconciliation'],
        approval_limits: { journal_entry: '1000000' },
      },
    ],
    users: [
      { userId: 'ann', roles: ['accountant'], manager: 'sam' },
      { userId: 'sam', roles: ['supervisor'], manager: 'maya' },
      { userId: 'sue', roles: ['supervisor'], manager: 'maya' },
      { userId: 'maya', roles: ['manager'], manager: 'dan' },
      { userId: 'mo', roles: ['manager'], manager: 'dan' },
      { userId: 'dan', roles: ['director'] },
      { userId: 'dora', roles: ['director'] },
      { userId: 'vic', roles: ['accountant', 'supervisor'], manager: 'maya' },
      { userId: 'zed', roles: [] },
    ],
    checkpoints: [
      {
        id: 'recon-review',
        item_type: 'reconciliation',
        required_roles: ['supervisor'],
        escalation: { timeout: '4h', escalation_path: ['manager', 'director'] },
        evidence_required: ['bank_statement'],
        resolution_required: true,
      },
      {
        id: 'je-approval',
        item_type: 'journal_entry',
        required_roles: ['director', 'supervisor', 'manager'],
        mode: 'chain',
        escalation: { timeout: '4h', escalation_path: ['manager', 'director'], reminder_before: '1h' },
        evidence_required: true,
        materiality_threshold: '10000',
      },
      {
        id: 'je-single',
        item_type: 'journal_entry',
        required_roles: ['supervisor', 'manager', 'director'],
        mode: 'single',
        escalation: { timeout: '2h', escalation_path: ['director'] },
      },
      {
        id: 'recon-two-eyes',
        item_type: 'reconciliation',
        required_roles: ['supervisor', 'manager'],
        mode: 'chain',
        escalation: { timeout: '1d' },
      },
      {
        id: 'recon-any',
        item_type: 'reconciliation',
        required_roles: ['supervisor', 'manager'],
        mode: 'single',
        escalation: { timeout: '30m', escalation_path: ['director'] },
      },
    ],
    delegations: [
      // dan (director) is away: mo (manager) holds his director authority for the last third of October.
      { from: 'dan', to: 'mo', role: 'director', from_date: '2026-10-20', to_date: '2026-10-31' },
      // sam delegates everything he holds to ann's colleague vic for one afternoon.
      { from: 'sam', to: 'zed', from_date: '2026-10-29T12:00:00Z', to_date: '2026-10-29T18:00:00+00:00' },
    ],
  };
}

let counter = 0;

/** A verified decision as the verification activity would hand it to the workflow; each gets a fresh nonce. */
export function signedAttempt(
  fields: Partial<DecisionAttempt> & Pick<DecisionAttempt, 'approverId' | 'checkpointId'>,
  nowIso = '2026-10-30T09:00:00.000Z',
): DecisionAttempt {
  counter += 1;
  return {
    signature: { status: 'verified', kid: 'k1' },
    round: 1,
    decision: 'approved',
    rolesClaimed: [],
    evidence: [],
    nonce: `nonce-${counter}`,
    issuedAt: nowIso,
    expiresAt: new Date(Date.parse(nowIso) + 5 * 60_000).toISOString(),
    ...fields,
  };
}

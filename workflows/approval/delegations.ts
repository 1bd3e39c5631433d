// Delegations granted while the workflow runs (issue 18): the `delegation` signal and the `submitDelegation`
// update carry a token the delegator (or an administrator) signed with their own key. A local activity verifies it
// like every person's token; domain/approval/delegation.ts judges it against the policy as it stands (who may grant
// it, unknown people, self-delegation, loops, overlapping windows). An accepted delegation joins the workflow's
// policy and every checkpoint's, so the next decision is judged with it; accepted or refused, it is kept in the
// workflow's delegation log and appended to the audit ledger. Closes that ran before this existed replay unchanged:
// nothing here runs until a delegation arrives, and its handling is marked in history (patched).
import { patched, workflowInfo } from '@temporalio/workflow';
import type { DelegationVerification } from '../../activities/approval';
import { judgeDelegation, type ApprovalPolicy, type Delegation } from '../../domain/approval';
import type { DelegationAnswer, DelegationRequest } from '../definitions';
import type { DelegationLogEntry } from '../types';
import { verify } from './host';
import { causeMessage } from './instance';
import type { LedgerTrail } from './ledger';

/** patched() id: delegations reach running workflows. */
export const RUNTIME_DELEGATION = 'runtime-delegation';
/** A flood of refused delegations must not grow the state without bound; they stay in history regardless. */
const MAX_LOG = 100;
const MAX_TOKEN_CHARS = 16_384;

export interface DelegationHost {
  now: () => string;
  policy(): ApprovalPolicy | undefined;
  /** Adds an accepted delegation to the workflow's policy and to every checkpoint's. */
  add(d: Delegation): void;
  ledger: LedgerTrail;
}

export function createDelegations(host: DelegationHost): {
  handleDelegation(r: DelegationRequest): Promise<DelegationAnswer>;
  validateDelegation(r: DelegationRequest): void;
  log: DelegationLogEntry[];
} {
  const log: DelegationLogEntry[] = [];
  const record = host.ledger.recorder('delegation');

  function validateDelegation(r: DelegationRequest): void {
    if (typeof r?.token !== 'string' || r.token === '' || r.token.length > MAX_TOKEN_CHARS)
      throw new Error('a delegation is a signed token: send { token } as `finflow approval delegate` makes it');
  }

  async function judged(token: string, at: string): Promise<{ entry: DelegationLogEntry; add?: Delegation }> {
    let v: DelegationVerification;
    try {
      v = await verify.verifyDelegationSignal({ token, workflowId: workflowInfo().workflowId, at });
    } catch (err) {
      v = { ok: false, reason: 'malformed', message: `the signature could not be checked: ${causeMessage(err)}` };
    }
    if (!v.ok)
      return {
        entry: {
          at,
          by: `unverified:${v.claimedBy ?? '(nobody)'}`,
          accepted: false,
          reason: v.reason,
          message: `signature refused (${v.reason}): ${v.message}`,
        },
      };
    const signed = { at, by: v.by, nonce: v.proof.nonce, kid: v.proof.kid };
    if (log.some((e) => e.nonce === v.proof.nonce))
      return {
        entry: {
          ...signed,
          accepted: false,
          reason: 'replay',
          message: `this signed delegation (nonce ${v.proof.nonce}) was already received`,
        },
      };
    const policy = host.policy();
    if (!policy)
      return {
        entry: {
          ...signed,
          accepted: false,
          reason: 'no_policy',
          message: 'this workflow has no approval policy: there is no authority to delegate',
        },
      };
    const j = judgeDelegation(policy, v.delegation, v.by, at);
    if (!j.ok) return { entry: { ...signed, accepted: false, reason: j.reason, message: j.message } };
    const d = j.delegation;
    const scope = d.scope ? ` for ${d.scope.item_type}${d.scope.limit ? ` up to ${d.scope.limit}` : ''}` : '';
    return {
      entry: {
        ...signed,
        accepted: true,
        message: `${d.to} holds ${d.from}'s ${d.role ?? 'authority'}${scope} from ${d.from_date} to ${d.to_date}`,
        delegation: d,
      },
      add: d,
    };
  }

  async function handleDelegation(r: DelegationRequest): Promise<DelegationAnswer> {
    patched(RUNTIME_DELEGATION);
    const at = host.now();
    const { entry, add } = await judged(String(r?.token), at);
    if (add) host.add(add);
    log.push(entry);
    if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
    const answer: DelegationAnswer = {
      accepted: entry.accepted,
      ...(entry.reason ? { reason: entry.reason } : {}),
      message: entry.message,
    };
    await record(
      {
        checkpointId: 'delegation',
        at,
        by: entry.by.replace(/^unverified:/, ''),
        signature: entry.kid ? 'verified' : 'failed',
        ...(entry.delegation ? { onBehalfOf: entry.delegation.from } : {}),
        ...(entry.nonce ? { nonce: entry.nonce, kid: entry.kid } : {}),
      },
      { ...answer, checkpointId: 'delegation', round: 0, state: entry.accepted ? 'delegated' : 'refused' },
    );
    return answer;
  }

  return { handleDelegation, validateDelegation, log };
}

// One path for a person's signed action on exceptions, whoever sends it (the CLI today; the gateway and a close
// update later): verify the token against the key set the workers trust, look the signer's roles up in the approval
// policy's directory (never the roles a caller claims), apply it in the result store (all items or none, with its
// history row), and append the outcome, accepted or refused, to the hash-chained audit ledger. A refusal is
// recorded in both before it is answered.
import { decodeJwt, type JSONWebKeySet } from 'jose';
import { ApplicationFailure } from '@temporalio/common';
import type { ApprovalPolicy } from '../../domain/approval/policy';
import type { AuditLedger } from '../audit-ledger/ledger';
import { verifyExceptionActionToken } from '../approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER } from '../approval/keys';
import { personTokenFailure } from '../approval/person-token';
import { verifyWithPersonKeys, type UserKeySource } from '../approval/user-keys';
import type { ExceptionActionStore } from '../result-store/exception-actions';
import type { SuggestionStore } from '../result-store/suggestions';
import type { CertificationStore } from '../result-store/certification';

export interface ExceptionActionServiceDeps {
  store: ExceptionActionStore;
  /** Where confirm and reject of suggested matches are applied (refused when absent). */
  suggestions?: SuggestionStore;
  /** Where the preparer's certification of a run is recorded (refused when absent). */
  certifications?: CertificationStore;
  ledger?: AuditLedger;
  /** Public keys whose tokens count (FINFLOW_APPROVAL_JWKS_FILE). */
  keys?: JSONWebKeySet;
  /** The user key directory: with it, a CLI-signed action counts only under its signer's own key (user-keys.ts). */
  userKeys?: UserKeySource;
  issuers?: string[];
  audience?: string;
  /** Who holds which roles. */
  directory: Pick<ApprovalPolicy, 'users'>;
  clockToleranceSeconds?: number;
  now?: () => Date;
}

export interface ExceptionActionTarget {
  closeId: string;
  reconId: string;
  /** The reconciliation's current result-store run (from the close's status). */
  runId: string;
  /** The reconciliation's owner role(s) (its task's ownerRole). */
  ownerRoles: string[];
  reasonCodes?: readonly string[];
}

export type ExceptionActionOutcome =
  | {
      accepted: true;
      seq: number;
      by: string;
      action: string;
      count: number;
      totals: { currency: string | null; total: string }[];
      nonce: string;
      proof: { kid: string; nonce: string; issuer: string };
      ledgerSeq?: number;
    }
  | { accepted: false; type: string; message: string; by?: string; ledgerSeq?: number };

export async function applySignedExceptionAction(
  deps: ExceptionActionServiceDeps,
  target: ExceptionActionTarget,
  token: string,
  opts: { idempotent?: boolean } = {},
): Promise<ExceptionActionOutcome> {
  const now = (deps.now ?? (() => new Date()))();
  const at = now.toISOString();
  const subject = `${target.closeId}/${target.reconId}`;
  const ledger = async (
    actor: string,
    accepted: boolean,
    payload: Record<string, unknown>,
    key?: string,
  ): Promise<number | undefined> =>
    (
      await deps.ledger?.append({
        actor,
        action: accepted ? 'exception.action' : 'exception.action.refused',
        subject,
        payload: { runId: target.runId, ...payload },
        at,
        ...(key ? { idempotencyKey: `exception-action/${key}` } : {}),
      })
    )?.seq;

  const issuers = deps.issuers ?? [GATEWAY_ISSUER, CLI_ISSUER];
  const v = await verifyWithPersonKeys(
    token,
    {
      ...(deps.keys ? { keys: deps.keys } : {}),
      ...(deps.userKeys ? { userKeys: deps.userKeys } : {}),
      gatewayIssuers: issuers.filter((i) => i !== CLI_ISSUER),
    },
    now,
    (keys) =>
      verifyExceptionActionToken(token, keys, {
        issuer: issuers,
        audience: deps.audience ?? APPROVAL_AUDIENCE,
        now,
        expectedWorkflowId: target.closeId,
        clockToleranceSeconds: deps.clockToleranceSeconds ?? 30,
        ...(target.reasonCodes ? { reasonCodes: target.reasonCodes } : {}),
      }),
    (reason, message) => personTokenFailure(claimedSigner(token))(reason, message),
  );
  if (!v.ok) {
    const type = `ExceptionActionToken_${v.reason}`;
    await deps.store.recordUnverified({
      runId: target.runId,
      reconId: target.reconId,
      ...(v.claimedBy ? { claimedBy: v.claimedBy } : {}),
      at,
      message: v.message,
      type,
    });
    const ledgerSeq = await ledger(`unverified:${v.claimedBy ?? '(nobody)'}`, false, {
      reason: v.reason,
      message: v.message,
    });
    return {
      accepted: false,
      type,
      message: `the signed action was refused (${v.reason}): ${v.message}`,
      ...(v.claimedBy ? { by: `unverified:${v.claimedBy}` } : {}),
      ...(ledgerSeq !== undefined ? { ledgerSeq } : {}),
    };
  }
  const a = v.action;
  const roles = deps.directory.users.find((u) => u.userId === a.by)?.roles ?? [];
  const summary = {
    action: a.action.action,
    reconId: a.reconId,
    claimedRunId: a.runId,
    itemIds: a.itemIds,
    count: a.count,
    totals: a.totals,
    ...(a.filter ? { filter: a.filter } : {}),
    nonce: a.proof.nonce,
    kid: a.proof.kid,
    issuer: a.proof.issuer,
  };
  if (opts.idempotent) {
    // An activity retried after it applied the action (the workflow refuses a token it already journaled, so a
    // second delivery of the same nonce here is this activity's own retry): answer with what was applied.
    const done = await deps.store.acceptedByNonce(target.runId, a.proof.nonce);
    if (done)
      return {
        accepted: true,
        seq: done.seq,
        by: done.by,
        action: done.action,
        count: done.count,
        totals: done.totals,
        nonce: a.proof.nonce,
        proof: { kid: a.proof.kid, nonce: a.proof.nonce, issuer: a.proof.issuer },
      };
  }
  try {
    if (a.reconId !== target.reconId)
      throw ApplicationFailure.nonRetryable(
        `the action is for reconciliation ${a.reconId}, not ${target.reconId}`,
        'ExceptionOfAnotherRun',
      );
    const common = {
      runId: target.runId,
      claimedRunId: a.runId,
      reconId: target.reconId,
      actor: { id: a.by, roles },
      ownerRoles: target.ownerRoles,
      itemIds: a.itemIds,
      expected: { count: a.count, totals: a.totals },
      at,
      proof: { nonce: a.proof.nonce, kid: a.proof.kid, issuer: a.proof.issuer },
    };
    let done: { seq: number; count: number; totals: { currency: string | null; total: string }[] };
    if (a.action.action === 'confirm' || a.action.action === 'reject') {
      if (!deps.suggestions)
        throw ApplicationFailure.nonRetryable(
          'this worker cannot decide suggested matches (no suggestion store)',
          'ExceptionActionsNotConfigured',
        );
      done = await deps.suggestions.decide({ ...common, action: a.action });
    } else if (a.action.action === 'certify') {
      if (!deps.certifications)
        throw ApplicationFailure.nonRetryable(
          'this worker cannot record certifications (no certification store)',
          'ExceptionActionsNotConfigured',
        );
      done = await deps.certifications.certify({ ...common, action: a.action });
    } else done = await deps.store.apply({ ...common, action: a.action, ...(a.filter ? { filter: a.filter } : {}) });
    const ledgerSeq = await ledger(a.by, true, { ...summary, seq: done.seq }, a.proof.nonce);
    return {
      accepted: true,
      seq: done.seq,
      by: a.by,
      action: a.action.action,
      count: done.count,
      totals: done.totals,
      nonce: a.proof.nonce,
      proof: { kid: a.proof.kid, nonce: a.proof.nonce, issuer: a.proof.issuer },
      ...(ledgerSeq !== undefined ? { ledgerSeq } : {}),
    };
  } catch (err) {
    if (!(err instanceof ApplicationFailure) || !err.nonRetryable) throw err;
    const type = err.type ?? 'InvalidExceptionAction';
    // The store records its own refusals; a reconciliation mismatch is caught before it and recorded here.
    if (type === 'ExceptionOfAnotherRun' && a.reconId !== target.reconId)
      await deps.store.recordUnverified({
        runId: target.runId,
        reconId: target.reconId,
        claimedBy: a.by,
        at,
        message: err.message,
        type,
      });
    const ledgerSeq = await ledger(a.by, false, { ...summary, type, message: err.message });
    return {
      accepted: false,
      type,
      message: err.message,
      by: a.by,
      ...(ledgerSeq !== undefined ? { ledgerSeq } : {}),
    };
  }
}

/** Who the token says signed it, read without trust (for the refusal's record only). */
function claimedSigner(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === 'string' ? sub.slice(0, 256) : undefined;
  } catch {
    return undefined;
  }
}

// The approval activities a workflow calls: verify a signed decision or resubmission (local activities: pure
// CPU over the worker's key set), write a notification to the outbox, deliver it to the webhook.
//
// Worker configuration (approvalConfigFromEnv):
//   FINFLOW_APPROVAL_JWKS_FILE   public keys whose approval tokens count (or FINFLOW_APPROVAL_JWKS, inline JSON)
//   FINFLOW_APPROVAL_ISSUERS     accepted issuers, comma-separated (default finflow-approval-gateway,finflow-cli)
//   FINFLOW_USER_KEYS_FILE       the user key directory (user-keys.ts): when set, a CLI token counts only when
//                                signed with the named person's own key, valid and unrevoked. The JWKS file's keys
//                                sign for the gateway only. Unset: the worker trusts no CLI key and refuses every
//                                CLI-signed token (recorded, saying how to register a key).
//   FINFLOW_APPROVAL_AUDIENCE    default finflow-workflows
//   FINFLOW_IDENTITY_JWKS_FILE or FINFLOW_IDENTITY_JWKS_URL, FINFLOW_IDENTITY_ISSUER, FINFLOW_IDENTITY_AUDIENCE
//                                the identity provider, as the gateway's: a gateway's decision counts only with the
//                                provider's token for the approver in it (identity.ts). Unset: none counts.
//   FINFLOW_APPROVAL_WEBHOOK_URL optional: each notification is also POSTed there
//   FINFLOW_APPROVAL_WEBHOOK_SECRET optional: HMAC key for the x-finflow-signature header
//   The outbox lives in the database of system "approvals" (FINFLOW_SYSTEM_APPROVALS_URL, else DATABASE_URL).
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import type { Pool } from 'pg';
import type { ApprovalVerification, TokenFailureReason } from '../../domain/approval/decision';
import type { SystemRegistry } from '../systems';
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER, parseApprovalKeySet } from './keys';
import type { AuditLedger } from '../audit-ledger/ledger';
import { createApprovalLedgerTrail } from './ledger-trail';
import { ApprovalOutbox, deliverWebhook, type OutboxNotification, type WebhookConfig } from './outbox';
import { verifyResubmissionToken, type ResubmissionVerification } from './resubmission';
import { IDENTITY_PROOF_CLAIM, verifyApprovalToken } from './signing';
import { identityConfigFromEnv, verifyIdentityProof, type IdentityProofConfig } from './identity';
import { verifyTaskActionToken, type TaskActionVerification } from './task-action-token';
import { verifyDelegationToken, type DelegationVerification } from './delegation-token';
import { userKeysFromFile, verifyWithPersonKeys, type PersonKeyTrust, type UserKeySource } from './user-keys';

export { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER } from './keys';
export type { NotificationKind, OutboxNotification, OutboxRow } from './outbox';
export type { ResubmissionClaims, ResubmissionVerification } from './resubmission';
export type { ApprovalLedgerEntry } from './ledger-trail';
export type { DelegationVerification } from './delegation-token';
export { staticUserKeys, userKeysFromFile, type UserKeySource } from './user-keys';

export interface ApprovalActivityConfig {
  /** Public keys whose tokens count; without them every token is refused (and says why). */
  keys?: JSONWebKeySet;
  issuers?: string[];
  /**
   * The user key directory: with it, a person's token counts only when signed with that person's own key (or by
   * the gateway with a key of `keys`). Without it, only the gateway's tokens count: no CLI key is trusted.
   */
  userKeys?: UserKeySource;
  audience?: string;
  /**
   * The identity provider the gateway authenticates approvers with: a gateway's decision counts only when the
   * provider's own token for the approver travels in it. Without it, no gateway decision counts (when the workflow
   * asks for the proof, as every close does since patched('gateway-identity-proof')).
   */
  identity?: IdentityProofConfig;
  /** Between the signer's clock and the workflow's; default 30 s. */
  clockToleranceSeconds?: number;
  /** The outbox, or the pool it lives in; default the "approvals" system of the registry. */
  outbox?: ApprovalOutbox | Pool;
  webhook?: WebhookConfig;
  fetch?: typeof fetch;
  /** Where judged decisions and resubmissions go; default FINFLOW_AUDIT_DATABASE_URL, else DATABASE_URL, else none. */
  ledger?: AuditLedger;
}

export interface ApprovalActivityDeps {
  systems?: SystemRegistry;
  approval?: ApprovalActivityConfig;
}

/** A token is a few hundred bytes; anything this large is not one, and is not worth a signature check. */
const MAX_TOKEN_CHARS = 16_384;

export function approvalConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApprovalActivityConfig {
  const file = env.FINFLOW_APPROVAL_JWKS_FILE?.trim();
  const inline = env.FINFLOW_APPROVAL_JWKS?.trim();
  let keys: JSONWebKeySet | undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`FINFLOW_APPROVAL_JWKS_FILE ${file}: ${(err as Error).message}`);
    }
    keys = parseApprovalKeySet(text, `FINFLOW_APPROVAL_JWKS_FILE ${file}`);
  } else if (inline) keys = parseApprovalKeySet(inline, 'FINFLOW_APPROVAL_JWKS');
  const userKeysFile = env.FINFLOW_USER_KEYS_FILE?.trim();
  const issuers = env.FINFLOW_APPROVAL_ISSUERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const url = env.FINFLOW_APPROVAL_WEBHOOK_URL?.trim();
  if (url && !/^https?:\/\//.test(url))
    throw new Error(`FINFLOW_APPROVAL_WEBHOOK_URL must be an http(s) URL, got ${url}`);
  const identity = identityConfigFromEnv(env);
  return {
    ...(keys ? { keys } : {}),
    ...(identity ? { identity } : {}),
    ...(userKeysFile ? { userKeys: userKeysFromFile(userKeysFile) } : {}),
    ...(issuers?.length ? { issuers } : {}),
    ...(env.FINFLOW_APPROVAL_AUDIENCE?.trim() ? { audience: env.FINFLOW_APPROVAL_AUDIENCE.trim() } : {}),
    ...(url ? { webhook: { url, secret: env.FINFLOW_APPROVAL_WEBHOOK_SECRET?.trim() || undefined } } : {}),
  };
}

function untrusted(token: string): Record<string, unknown> | undefined {
  try {
    const p = decodeJwt(token);
    return {
      approverId: p.sub,
      nonce: p.jti,
      checkpointId: p.checkpointId,
      round: p.round,
      decision: p.decision,
      onBehalfOf: p.onBehalfOf,
    };
  } catch {
    return undefined;
  }
}

/** The workflow's time, so a token's expiry is judged on the same clock as the rules (and a retry gives the same answer). */
function instantOr(at: string | undefined): Date | undefined {
  if (at === undefined) return undefined;
  const ms = Date.parse(at);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

export function createApprovalActivities(deps: ApprovalActivityDeps = {}) {
  const cfg = deps.approval ?? {};
  const issuers = cfg.issuers ?? [GATEWAY_ISSUER, CLI_ISSUER];
  const audience = cfg.audience ?? APPROVAL_AUDIENCE;
  const tolerance = cfg.clockToleranceSeconds ?? 30;
  let outbox: ApprovalOutbox | undefined;
  const theOutbox = (): ApprovalOutbox => {
    if (outbox) return outbox;
    if (cfg.outbox instanceof ApprovalOutbox) outbox = cfg.outbox;
    else if (cfg.outbox) outbox = new ApprovalOutbox(cfg.outbox);
    else if (deps.systems) outbox = new ApprovalOutbox(deps.systems.postgres('approvals'));
    else
      throw ApplicationFailure.nonRetryable(
        'this worker has no database for the approval outbox (set DATABASE_URL or FINFLOW_SYSTEM_APPROVALS_URL)',
        'ApprovalOutboxNotConfigured',
      );
    return outbox;
  };
  const trust: PersonKeyTrust = {
    ...(cfg.keys ? { keys: cfg.keys } : {}),
    ...(cfg.userKeys ? { userKeys: cfg.userKeys } : {}),
    gatewayIssuers: issuers.filter((i) => i !== CLI_ISSUER),
  };

  const { recordApprovalInLedger, recordTaskActionCheck, recordTaskActionInLedger } = createApprovalLedgerTrail({
    ...(cfg.ledger ? { ledger: cfg.ledger } : {}),
  });
  async function checkTaskAction(input: { token: string; workflowId: string; at?: string }) {
    if (typeof input.token !== 'string' || input.token.length > MAX_TOKEN_CHARS)
      return {
        ok: false,
        reason: 'malformed',
        message: `not a task-action token (over ${MAX_TOKEN_CHARS} characters)`,
      } satisfies TaskActionVerification;
    const now = instantOr(input.at);
    return verifyWithPersonKeys(
      input.token,
      trust,
      now,
      (keys) =>
        verifyTaskActionToken(input.token, keys, {
          issuer: issuers,
          audience,
          expectedWorkflowId: input.workflowId,
          clockToleranceSeconds: tolerance,
          now,
        }),
      (reason, message): TaskActionVerification => {
        const by = untrusted(input.token)?.approverId;
        return { ok: false, reason, message, ...(typeof by === 'string' ? { claimedBy: by.slice(0, 256) } : {}) };
      },
    );
  }

  return {
    recordApprovalInLedger,
    recordTaskActionInLedger,

    /**
     * Local activity: reads only the key sets, so every retry gives the same answer; a bad token is an answer.
     * With `requireIdentityProof` (the workflow asks since patched('gateway-identity-proof')), a gateway's decision
     * counts only when the identity provider's token it carries proves the very person it names (identity.ts).
     */
    async verifyApprovalSignal(input: {
      token: string;
      workflowId: string;
      at?: string;
      requireIdentityProof?: boolean;
    }): Promise<ApprovalVerification> {
      if (typeof input.token !== 'string' || input.token.length > MAX_TOKEN_CHARS)
        return {
          ok: false,
          reason: 'malformed',
          message: `not an approval token (over ${MAX_TOKEN_CHARS} characters)`,
        };
      const now = instantOr(input.at);
      const v = await verifyWithPersonKeys(
        input.token,
        trust,
        now,
        (keys) =>
          verifyApprovalToken(input.token, keys, {
            issuer: issuers,
            audience,
            expectedWorkflowId: input.workflowId,
            clockToleranceSeconds: tolerance,
            now,
          }),
        (reason, message): ApprovalVerification => {
          const u = untrusted(input.token);
          return { ok: false, reason, message, ...(u ? { untrusted: u } : {}) };
        },
      );
      // A person's own key proves the person; a gateway's key proves only that the gateway says so.
      if (!v.ok || !input.requireIdentityProof || !trust.gatewayIssuers?.includes(v.claims.issuer)) return v;
      const proof = await verifyIdentityProof(
        decodeJwt(input.token)[IDENTITY_PROOF_CLAIM],
        v.claims.approverId,
        cfg.identity,
        { now, clockToleranceSeconds: tolerance },
      );
      if (!proof.ok)
        return { ok: false, reason: proof.reason, message: proof.message, untrusted: untrusted(input.token) };
      return { ok: true, claims: { ...v.claims, identityProof: proof.proof } };
    },

    /** Local activity, as verifyApprovalSignal. */
    async verifyResubmissionSignal(input: {
      token: string;
      workflowId: string;
      at?: string;
    }): Promise<ResubmissionVerification> {
      if (typeof input.token !== 'string' || input.token.length > MAX_TOKEN_CHARS)
        return {
          ok: false,
          reason: 'malformed',
          message: `not a resubmission token (over ${MAX_TOKEN_CHARS} characters)`,
        };
      const now = instantOr(input.at);
      return verifyWithPersonKeys(
        input.token,
        trust,
        now,
        (keys) =>
          verifyResubmissionToken(input.token, keys, {
            issuer: issuers,
            audience,
            expectedWorkflowId: input.workflowId,
            clockToleranceSeconds: tolerance,
            now,
          }),
        (reason, message): ResubmissionVerification => {
          const preparerId = untrusted(input.token)?.approverId;
          return { ok: false, reason, message, ...(typeof preparerId === 'string' ? { preparerId } : {}) };
        },
      );
    },

    /** Local activity: a person's signed task action on a close, checked, then its check put in the audit ledger. */
    async verifyTaskActionSignal(input: {
      token: string;
      workflowId: string;
      at?: string;
    }): Promise<TaskActionVerification> {
      const v = await checkTaskAction(input);
      // Every signed task action's check goes to the audit ledger (when one is configured) before the close judges
      // it: a ledger that cannot take it fails the check, and the close refuses the action (fail closed).
      await recordTaskActionCheck({ ...input, token: String(input.token) }, v);
      return v;
    },

    /** Local activity, as verifyApprovalSignal: a delegation signed by its delegator or an administrator (issue 18). */
    async verifyDelegationSignal(input: {
      token: string;
      workflowId: string;
      at?: string;
    }): Promise<DelegationVerification> {
      const fail = (reason: TokenFailureReason, message: string): DelegationVerification => {
        const by = untrusted(String(input.token))?.approverId;
        return { ok: false, reason, message, ...(typeof by === 'string' ? { claimedBy: by.slice(0, 256) } : {}) };
      };
      if (typeof input.token !== 'string' || input.token.length > MAX_TOKEN_CHARS)
        return fail('malformed', `not a delegation token (over ${MAX_TOKEN_CHARS} characters)`);
      const now = instantOr(input.at);
      return verifyWithPersonKeys(
        input.token,
        trust,
        now,
        (keys) =>
          verifyDelegationToken(input.token, keys, {
            issuer: issuers,
            audience,
            expectedWorkflowId: input.workflowId,
            clockToleranceSeconds: tolerance,
            now,
          }),
        fail,
      );
    },

    /**
     * Idempotent by the notification's key (see outbox.ts), so Temporal's retries are safe. With a webhook, the
     * first delivery is tried here, so it happens even when the workflow ends right after this notification;
     * `webhook` tells the workflow whether a retried delivery is still owed.
     */
    async enqueueApprovalNotification(
      n: OutboxNotification,
    ): Promise<{ id: string; inserted: boolean; webhook: boolean; delivered?: boolean; webhookError?: string }> {
      const box = theOutbox();
      const { row, inserted } = await box.enqueue(n);
      if (!cfg.webhook || row.webhookDeliveredAt !== null) return { id: row.id, inserted, webhook: false };
      const r = await deliverWebhook(row, cfg.webhook, cfg.fetch);
      await box.recordDelivery(row.id, r.delivered ? { ok: true } : { ok: false, error: r.error });
      if (r.delivered) return { id: row.id, inserted, webhook: false, delivered: true };
      // Refused for good (4xx): no retry is owed, but the checkpoint's status must show that the hook never got it.
      if (!r.retryable) return { id: row.id, inserted, webhook: false, delivered: false, webhookError: r.error };
      return { id: row.id, inserted, webhook: true, delivered: false };
    },

    /**
     * One delivery attempt per activity attempt: Temporal's retry policy is the backoff. A receiver that refuses
     * the call (4xx) fails it for good (WebhookRejected); the outbox row stays for polling either way.
     */
    async deliverApprovalWebhook(input: {
      id: string;
    }): Promise<{ delivered: boolean; status?: number; skipped?: string }> {
      if (!cfg.webhook) return { delivered: false, skipped: 'no webhook configured' };
      const box = theOutbox();
      const row = await box.get(input.id);
      if (!row) throw ApplicationFailure.nonRetryable(`no outbox notification ${input.id}`, 'OutboxRowMissing');
      if (row.webhookDeliveredAt) return { delivered: true, skipped: 'already delivered' };
      const r = await deliverWebhook(row, cfg.webhook, cfg.fetch);
      await box.recordDelivery(row.id, r.delivered ? { ok: true } : { ok: false, error: r.error });
      if (r.delivered) return { delivered: true, status: r.status };
      if (!r.retryable) throw ApplicationFailure.nonRetryable(r.error, 'WebhookRejected');
      throw ApplicationFailure.retryable(r.error, 'WebhookUnavailable');
    },
  };
}

export type ApprovalActivities = ReturnType<typeof createApprovalActivities>;

// The shape of one approver's decision as the approval gateway signs it, and as the workflow evaluates it.
// The signing itself (jose, keys) lives in activities/approval/signing.ts; this file is pure so workflow code
// can share the types and turn a verification result into an attempt for the rules.
import { z } from 'zod';
import type { PersonKeyFailureReason } from './person-keys';

export const EvidenceRefSchema = z.strictObject({
  /** What the evidence is (e.g. "bank_statement", "je_support"); matched against evidence_required. */
  kind: z.string().min(1).max(64),
  /** Where it is: a result-store key, a document id, a URL. Never the document itself. */
  ref: z.string().min(1).max(512),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256')
    .optional(),
});
export type EvidenceRef = z.output<typeof EvidenceRefSchema>;

// Bounds keep one decision well below Temporal's payload warnings even with every optional field filled.
const Text = z.string().max(4000);

/** What an approver decides, before the gateway adds nonce, times and issuer. */
export const ApprovalDecisionSchema = z.strictObject({
  workflowId: z.string().min(1).max(256),
  checkpointId: z.string().min(1).max(128),
  round: z.number().int().min(1),
  /** Chain level the approver signs; without it, the level that is open when the decision arrives. */
  level: z.number().int().min(1).optional(),
  decision: z.enum(['approved', 'rejected']),
  approverId: z.string().min(1).max(256),
  /** Set when the approver acts for someone who delegated to them. */
  onBehalfOf: z.string().min(1).max(256).optional(),
  /** The approver's roles as the gateway found them in the user directory (recorded; the rules re-derive them). */
  roles: z.array(z.string().min(1).max(64)).max(32),
  comments: Text.optional(),
  evidence: z.array(EvidenceRefSchema).max(50).default([]),
  resolution: Text.optional(),
});
export type ApprovalDecision = z.output<typeof ApprovalDecisionSchema>;
export type ApprovalDecisionInput = z.input<typeof ApprovalDecisionSchema>;

/** A decision whose signature has been verified: what the token said, with its nonce and lifetime. */
export interface ApprovalClaims extends ApprovalDecision {
  nonce: string;
  /** ISO instants (from the token's iat/exp). */
  issuedAt: string;
  expiresAt: string;
  issuer: string;
  /** Key id that signed it. */
  kid: string;
  /** A gateway's decision: the identity provider's proof of the approver it carried, as verified (issue 18). */
  identityProof?: IdentityProofRecord;
}

/** What a worker keeps of the identity provider's token a gateway decision carried (never the token itself). */
export interface IdentityProofRecord {
  issuer: string;
  subject: string;
  /** The token's jti, else "sha256:" and the token's digest: one proof counts for one decision only. */
  tokenId: string;
  expiresAt: string;
}

/** Why a gateway's decision is not taken as the person's: the identity provider did not prove that person. */
export type IdentityProofFailureReason =
  | 'identity_proof_missing'
  | 'identity_proof_invalid'
  | 'identity_proof_of_another_person'
  | 'identity_proof_unverifiable'
  | 'identity_proof_reused';

/** Why a token was not accepted; `expired` is told apart because the rules report it as its own refusal. */
export type TokenFailureReason =
  | 'malformed'
  | 'wrong_type'
  | 'unknown_key'
  | 'algorithm_not_allowed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_workflow'
  | 'invalid_claims'
  /** A CLI token whose key is not the named person's own, valid and unrevoked (person-keys.ts). */
  | PersonKeyFailureReason
  /** A gateway's token whose identity provider's proof is missing, invalid, for another person or used before. */
  | IdentityProofFailureReason;

/** JSON-safe result of verifying an approval token (what a verification activity returns to the workflow). */
export type ApprovalVerification =
  | { ok: true; claims: ApprovalClaims }
  | {
      ok: false;
      reason: TokenFailureReason;
      message: string;
      /** What the token claimed, decoded without trust, for the audit trail only. */
      untrusted?: Partial<Record<keyof ApprovalClaims, unknown>>;
    };

/** One decision as the rules see it: the (verified or not) claims plus the outcome of signature checking. */
export interface DecisionAttempt {
  signature: { status: 'verified'; kid: string } | { status: 'failed'; reason: TokenFailureReason; message: string };
  checkpointId: string;
  round: number;
  level?: number;
  decision: 'approved' | 'rejected';
  approverId: string;
  onBehalfOf?: string;
  rolesClaimed: string[];
  comments?: string;
  evidence: EvidenceRef[];
  resolution?: string;
  nonce: string;
  issuedAt?: string;
  expiresAt?: string;
}

/** Stand-in approver id for a token so broken that it names nobody. */
export const UNKNOWN_APPROVER = '(unknown)';
/** The preparer of a slice-shape item (domain/approval/legacy.ts): nobody in particular. */
export const LEGACY_PREPARER = 'legacy:preparer';
/** Placeholder users of slice-shape policies start so; notifications skip them. */
export const LEGACY_PREFIX = 'legacy:';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * Turns a verification result into an attempt for evaluateDecision. A failed verification still becomes an
 * attempt, so the refusal lands in the audit trail with whatever the token claimed (marked unsigned).
 */
export function attemptFromVerification(v: ApprovalVerification, fallback: { checkpointId: string }): DecisionAttempt {
  if (v.ok) {
    const c = v.claims;
    return {
      signature: { status: 'verified', kid: c.kid },
      checkpointId: c.checkpointId,
      round: c.round,
      level: c.level,
      decision: c.decision,
      approverId: c.approverId,
      onBehalfOf: c.onBehalfOf,
      rolesClaimed: c.roles,
      comments: c.comments,
      evidence: c.evidence,
      resolution: c.resolution,
      nonce: c.nonce,
      issuedAt: c.issuedAt,
      expiresAt: c.expiresAt,
    };
  }
  const u = v.untrusted ?? {};
  return {
    signature: { status: 'failed', reason: v.reason, message: v.message },
    checkpointId: str(u.checkpointId) ?? fallback.checkpointId,
    round: typeof u.round === 'number' && Number.isSafeInteger(u.round) ? u.round : 0,
    decision: u.decision === 'rejected' ? 'rejected' : 'approved',
    approverId: str(u.approverId) ?? UNKNOWN_APPROVER,
    onBehalfOf: str(u.onBehalfOf),
    rolesClaimed: [],
    evidence: [],
    nonce: str(u.nonce) ?? '',
  };
}

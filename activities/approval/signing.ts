// Signed approval decisions. The approval gateway authenticates an approver (verifyIdentityJwt), looks their
// roles up in the user directory, and signs the decision as a compact JWS (signApprovalDecision). The close
// workflow, through an activity, verifies the token (verifyApprovalToken) before the rules in
// domain/approval/rules.ts count it. Identity is proven, not claimed: nothing here trusts a role a caller asserts.
//
// Keys rotate by kid: the gateway signs with its current key; verifiers hold a JWKS with the current and the
// previous public keys until every token signed by the old one has expired, then drop it.
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import {
  ApprovalDecisionSchema,
  type ApprovalClaims,
  type ApprovalDecisionInput,
  type ApprovalVerification,
  type TokenFailureReason,
} from '../../domain/approval/decision';

/** The JWS "typ" of approval tokens, so an approval token is never mistaken for an identity token or vice versa. */
export const APPROVAL_TOKEN_TYPE = 'finflow-approval+jwt';
/** Claim "idp": the identity provider's token a gateway decision carries for its approver (identity.ts). */
export const IDENTITY_PROOF_CLAIM = 'idp';
export const APPROVAL_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type ApprovalAlgorithm = (typeof APPROVAL_ALGORITHMS)[number];

/**
 * A decision is normally verified within seconds, but a signal waits in history while workers are down, and an
 * approval refused as expired must be signed again. Fifteen minutes rides out a short outage; replay is blocked
 * by the nonce and the token is bound to one workflow, checkpoint and round, so a longer life buys an attacker
 * nothing but the approver's own decision.
 */
export const DEFAULT_APPROVAL_TTL_SECONDS = 900;
const MAX_APPROVAL_TTL_SECONDS = 86_400;

/** Misconfiguration (a bad key, a key set without kids): thrown, because no token can be judged with it. */
export class ApprovalKeyError extends Error {
  override name = 'ApprovalKeyError';
}

/** A decision the gateway was asked to sign is not well-formed: thrown, it never becomes a token. */
export class ApprovalTokenError extends Error {
  override name = 'ApprovalTokenError';
}

export interface ApprovalSigningKey {
  kid: string;
  alg: ApprovalAlgorithm;
  privateKey: CryptoKey;
}

export interface ApprovalKeyPair extends ApprovalSigningKey {
  publicKey: CryptoKey;
  /** Public key to publish in the verifiers' JWKS (kid, alg and use set). */
  publicJwk: JWK;
  /** Private key for the gateway's secret store; never put it in a workflow payload or a definition. */
  privateJwk: JWK;
}

const isAlgorithm = (alg: unknown): alg is ApprovalAlgorithm => APPROVAL_ALGORITHMS.includes(alg as ApprovalAlgorithm);

/** A fresh key pair (Ed25519 by default) with its kid set to the RFC 7638 thumbprint of the public key. */
export async function generateApprovalKeyPair(alg: ApprovalAlgorithm = 'EdDSA'): Promise<ApprovalKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const meta = { kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateKey,
    publicKey,
    publicJwk: { ...pub, ...meta },
    privateJwk: { ...(await exportJWK(privateKey)), ...meta },
  };
}

/** Imports the gateway's private signing key from a JWK (as kept in a secrets file), checking kid and alg. */
export async function importApprovalSigningKey(jwk: JWK): Promise<ApprovalSigningKey> {
  if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new ApprovalKeyError('signing key JWK has no "kid"');
  if (!isAlgorithm(jwk.alg))
    throw new ApprovalKeyError(`signing key ${jwk.kid}: "alg" must be one of ${APPROVAL_ALGORITHMS.join(', ')}`);
  if (typeof jwk.d !== 'string')
    throw new ApprovalKeyError(`signing key ${jwk.kid} is a public key; signing needs the private key`);
  const key = await importJWK(jwk, jwk.alg);
  return { kid: jwk.kid, alg: jwk.alg, privateKey: key as CryptoKey };
}

/**
 * The public JWKS verifiers are configured with, from key pairs or JWKs (private members are dropped).
 * Order does not matter: tokens name their key by kid.
 */
export function approvalKeySet(keys: (JWK | Pick<ApprovalKeyPair, 'publicJwk'>)[]): JSONWebKeySet {
  const jwks: JSONWebKeySet = {
    keys: keys.map((k) => {
      const jwk = 'publicJwk' in k ? k.publicJwk : (k as JWK);
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      return pub;
    }),
  };
  assertApprovalKeySet(jwks);
  return jwks;
}

/** Checks a verifier's key set: every key has a unique kid, an approval algorithm, and no private part. */
export function assertApprovalKeySet(jwks: JSONWebKeySet): void {
  if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0)
    throw new ApprovalKeyError('approval key set has no keys');
  const seen = new Set<string>();
  jwks.keys.forEach((k, i) => {
    if (typeof k.kid !== 'string' || k.kid === '')
      throw new ApprovalKeyError(`approval key set: key ${i} has no "kid"`);
    if (seen.has(k.kid)) throw new ApprovalKeyError(`approval key set: kid ${k.kid} appears twice`);
    seen.add(k.kid);
    if (!isAlgorithm(k.alg))
      throw new ApprovalKeyError(
        `approval key set: key ${k.kid} has "alg" ${String(k.alg)}, not one of ${APPROVAL_ALGORITHMS.join(', ')}`,
      );
    if ('d' in k)
      throw new ApprovalKeyError(
        `approval key set: key ${k.kid} holds a private key; verifiers need only the public part`,
      );
  });
}

const resolvers = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();
/** The key resolver of a key set, built once per set (decisions and resubmissions share it). */
export function resolverFor(jwks: JSONWebKeySet): JWTVerifyGetKey {
  let r = resolvers.get(jwks);
  if (!r) {
    r = createLocalJWKSet(jwks);
    resolvers.set(jwks, r);
  }
  return r;
}

export interface SignApprovalOptions {
  /** Who signs, e.g. "finflow-approval-gateway". */
  issuer: string;
  /** Who the token is for, e.g. "finflow-workflows". */
  audience: string;
  now?: Date;
  ttlSeconds?: number;
  /** Defaults to a random UUID; the rules refuse a second decision with the same nonce. */
  nonce?: string;
  /**
   * The gateway's decision only: the identity provider's token for the approver (the caller's bearer JWT), carried
   * in claim "idp" so the worker can check who the provider proved (identity.ts, verifyIdentityProof).
   */
  identityProof?: string;
}

export interface SignedApproval {
  token: string;
  nonce: string;
  issuedAt: string;
  expiresAt: string;
}

/** Signs one approver's decision. The roles must be the ones the gateway read from the user directory. */
export async function signApprovalDecision(
  decision: ApprovalDecisionInput,
  key: ApprovalSigningKey,
  options: SignApprovalOptions,
): Promise<SignedApproval> {
  const parsed = ApprovalDecisionSchema.safeParse(decision);
  if (!parsed.success) throw new ApprovalTokenError(`decision not signed: ${issuesText(parsed.error.issues)}`);
  const { approverId, ...rest } = parsed.data;
  const proof = options.identityProof !== undefined ? { [IDENTITY_PROOF_CLAIM]: options.identityProof } : {};
  return signTokenClaims(key, options, APPROVAL_TOKEN_TYPE, approverId, { ...rest, ...proof });
}

/**
 * Signs `claims` about `subject` as a compact JWS of type `typ`: a fresh nonce (jti) unless one is given, issued
 * now, valid for the options' lifetime (1 s to 24 h). Approval decisions and resubmissions are both signed here.
 */
export async function signTokenClaims(
  key: ApprovalSigningKey,
  options: SignApprovalOptions,
  typ: string,
  subject: string,
  claims: Record<string, unknown>,
): Promise<SignedApproval> {
  const ttl = options.ttlSeconds ?? DEFAULT_APPROVAL_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > MAX_APPROVAL_TTL_SECONDS)
    throw new ApprovalTokenError(`ttlSeconds must be a whole number from 1 to ${MAX_APPROVAL_TTL_SECONDS}, got ${ttl}`);
  const nonce = options.nonce ?? randomUUID();
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const token = await new SignJWT({ ...claims } as JWTPayload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(subject)
    .setJti(nonce)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .sign(key.privateKey);
  return { token, nonce, issuedAt: isoSeconds(iat), expiresAt: isoSeconds(iat + ttl) };
}

export const isoSeconds = (s: number): string => new Date(s * 1000).toISOString();

/** zod issues as one line; `whole` names what an issue without a path is about. */
export function issuesText(issues: { path: PropertyKey[]; message: string }[], whole = 'decision'): string {
  return issues.map((i) => `${i.path.map(String).join('.') || `(whole ${whole})`}: ${i.message}`).join('; ');
}

export interface VerifyApprovalOptions {
  issuer: string | string[];
  audience: string;
  now?: Date;
  /** The workflow the decision must be for; a token for another close is refused. */
  expectedWorkflowId?: string;
  clockToleranceSeconds?: number;
  /** Refuse tokens older than this even before they expire. */
  maxAgeSeconds?: number;
}

type Failure = { reason: TokenFailureReason; message: string };

/**
 * Maps jose's errors onto our reasons, for every signed token finflow verifies (decisions, resubmissions, task
 * actions); anything else is a bug or an outage and is thrown on.
 */
export function failureOf(err: unknown): Failure {
  if (err instanceof errors.JWTExpired)
    return err.claim === 'iat'
      ? { reason: 'too_old', message: `token older than the maximum age (${err.message})` }
      : { reason: 'expired', message: `token expired (${err.message})` };
  if (err instanceof errors.JWTClaimValidationFailed) {
    const byClaim: Record<string, TokenFailureReason> = {
      iss: 'wrong_issuer',
      aud: 'wrong_audience',
      nbf: 'not_yet_valid',
      typ: 'wrong_type',
    };
    // An "iat" that fails its check is in the future (too old is reported as JWTExpired above).
    const reason = err.claim === 'iat' && err.reason === 'check_failed' ? 'not_yet_valid' : byClaim[err.claim];
    return { reason: reason ?? 'invalid_claims', message: err.message };
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return { reason: 'unknown_key', message: "no key in the key set matches the token's kid and alg" };
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return { reason: 'algorithm_not_allowed', message: err.message };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { reason: 'bad_signature', message: err.message };
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return { reason: 'malformed', message: err.message };
  throw err;
}

function untrustedClaims(token: string): Extract<ApprovalVerification, { ok: false }>['untrusted'] {
  try {
    const p = decodeJwt(token);
    const { sub, jti, ...rest } = p;
    const pick = (k: string): unknown => (rest as Record<string, unknown>)[k];
    return {
      approverId: sub,
      nonce: jti,
      workflowId: pick('workflowId'),
      checkpointId: pick('checkpointId'),
      round: pick('round'),
      level: pick('level'),
      decision: pick('decision'),
      onBehalfOf: pick('onBehalfOf'),
    };
  } catch {
    return undefined;
  }
}

export type SignedTokenCheck =
  { ok: true; payload: JWTPayload; kid: string } | { ok: false; reason: TokenFailureReason; message: string };

/**
 * What every finflow token of type `typ` must pass: a compact JWS naming a key of the set, signed with EdDSA or
 * ES256, of that type, issuer, audience, within its lifetime, with exp, iat, jti and sub. Never throws for a bad
 * token: the answer says why. The claims' own shape is the caller's to check.
 */
export async function checkSignedToken(
  token: unknown,
  keys: JSONWebKeySet,
  typ: string,
  options: VerifyApprovalOptions,
): Promise<SignedTokenCheck> {
  assertApprovalKeySet(keys);
  if (typeof token !== 'string' || token.split('.').length !== 3)
    return { ok: false, reason: 'malformed', message: 'not a compact JWS (three dot-separated parts)' };
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch (err) {
    return { ok: false, reason: 'malformed', message: `unreadable header: ${(err as Error).message}` };
  }
  if (typeof kid !== 'string')
    return { ok: false, reason: 'unknown_key', message: 'the token names no key (no "kid")' };
  try {
    const { payload } = await jwtVerify(token, resolverFor(keys), {
      algorithms: [...APPROVAL_ALGORITHMS],
      typ,
      issuer: options.issuer,
      audience: options.audience,
      currentDate: options.now,
      clockTolerance: options.clockToleranceSeconds ?? 0,
      maxTokenAge: options.maxAgeSeconds,
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    });
    return { ok: true, payload, kid };
  } catch (err) {
    return { ok: false, ...failureOf(err) };
  }
}

/**
 * Verifies a signed decision: signature (by kid, EdDSA or ES256 only), type, issuer, audience, expiry, the
 * claims' shape and, when given, the workflow it is for. Never throws for a bad token: the answer says why.
 */
export async function verifyApprovalToken(
  token: string,
  keys: JSONWebKeySet,
  options: VerifyApprovalOptions,
): Promise<ApprovalVerification> {
  const fail = (f: Failure): ApprovalVerification => {
    const untrusted = typeof token === 'string' ? untrustedClaims(token) : undefined;
    return { ok: false, ...f, ...(untrusted ? { untrusted } : {}) };
  };
  const checked = await checkSignedToken(token, keys, APPROVAL_TOKEN_TYPE, options);
  if (!checked.ok) return fail({ reason: checked.reason, message: checked.message });
  const { payload, kid } = checked;

  // The identity provider's proof (a gateway's decision) is not part of the decision: the worker checks it apart.
  const { iss, sub, jti, iat, exp, aud: _aud, nbf: _nbf, [IDENTITY_PROOF_CLAIM]: _proof, ...custom } = payload;
  const parsed = ApprovalDecisionSchema.safeParse({ ...custom, approverId: sub });
  if (!parsed.success)
    return fail({
      reason: 'invalid_claims',
      message: issuesText(parsed.error.issues),
    });
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 128)
    return fail({ reason: 'invalid_claims', message: 'jti (nonce) must be 8 to 128 characters' });
  if (options.expectedWorkflowId !== undefined && parsed.data.workflowId !== options.expectedWorkflowId)
    return fail({
      reason: 'wrong_workflow',
      message: `the decision is for workflow ${parsed.data.workflowId}, not ${options.expectedWorkflowId}`,
    });
  const claims: ApprovalClaims = {
    ...parsed.data,
    nonce: jti,
    issuedAt: isoSeconds(iat!),
    expiresAt: isoSeconds(exp!),
    issuer: iss!,
    kid,
  };
  return { ok: true, claims };
}

// ---------------------------------------------------------------- the verification activity

export interface ApprovalVerificationDeps {
  keys: JSONWebKeySet;
  issuer: string | string[];
  audience: string;
  clockToleranceSeconds?: number;
  /** For tests; activities may read the real clock. */
  clock?: () => Date;
}

/**
 * The activity a close workflow calls on each approval signal. It only reads its key set, so it is idempotent
 * and any retry policy is safe; a bad token is an answer (ok: false), not a failure to retry.
 */
export function createApprovalVerificationActivities(deps: ApprovalVerificationDeps) {
  assertApprovalKeySet(deps.keys);
  return {
    async verifyApprovalDecision(input: { token: string; workflowId: string }): Promise<ApprovalVerification> {
      return verifyApprovalToken(input.token, deps.keys, {
        issuer: deps.issuer,
        audience: deps.audience,
        expectedWorkflowId: input.workflowId,
        clockToleranceSeconds: deps.clockToleranceSeconds,
        now: deps.clock?.(),
      });
    },
  };
}

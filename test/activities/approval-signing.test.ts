import {
  CompactSign,
  SignJWT,
  createLocalJWKSet,
  generateKeyPair,
  exportJWK,
  type CryptoKey,
  type JSONWebKeySet,
} from 'jose';
import {
  APPROVAL_TOKEN_TYPE,
  ApprovalKeyError,
  ApprovalTokenError,
  approvalKeySet,
  assertApprovalKeySet,
  createApprovalVerificationActivities,
  generateApprovalKeyPair,
  importApprovalSigningKey,
  signApprovalDecision,
  verifyApprovalToken,
  type ApprovalKeyPair,
} from '../../activities/approval/signing';
import { verifyIdentityJwt } from '../../activities/approval/identity';
import {
  attemptFromVerification,
  evaluateDecision,
  openCheckpoint,
  parseApprovalPolicy,
  type ApprovalDecisionInput,
  type ApprovalVerification,
} from '../../domain/approval';
import { seedPolicyInput } from '../unit/approval-fixtures';

const ISSUER = 'finflow-approval-gateway';
const AUDIENCE = 'finflow-workflows';
const WORKFLOW = 'close:ACME:2026-10';
const NOW = new Date('2026-10-30T09:00:00Z');
const later = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);
const opts = { issuer: ISSUER, audience: AUDIENCE, now: NOW, expectedWorkflowId: WORKFLOW };

const decision: ApprovalDecisionInput = {
  workflowId: WORKFLOW,
  checkpointId: 'je-approval',
  round: 1,
  level: 1,
  decision: 'approved',
  approverId: 'sam',
  roles: ['supervisor'],
  comments: 'ties to the accrual schedule',
  evidence: [{ kind: 'je_support', ref: 'store://je/JE-42.pdf' }],
};

let current: ApprovalKeyPair;
let previous: ApprovalKeyPair;
let keys: JSONWebKeySet;

beforeAll(async () => {
  [current, previous] = await Promise.all([generateApprovalKeyPair(), generateApprovalKeyPair('ES256')]);
  keys = approvalKeySet([current, previous]);
});

const sign = (d: Partial<ApprovalDecisionInput> = {}, o: Partial<Parameters<typeof signApprovalDecision>[2]> = {}) =>
  signApprovalDecision({ ...decision, ...d }, current, { issuer: ISSUER, audience: AUDIENCE, now: NOW, ...o });

function failed(v: ApprovalVerification): Extract<ApprovalVerification, { ok: false }> {
  if (v.ok) throw new Error('the token was accepted');
  return v;
}

/** Replaces one character of a base64url segment, keeping it valid base64url. */
function flip(segment: string, at = 5): string {
  const c = segment[at] === 'A' ? 'B' : 'A';
  return segment.slice(0, at) + c + segment.slice(at + 1);
}

describe('signing and verifying approval decisions', () => {
  it('round-trips a decision signed with Ed25519 into verified claims with nonce, times, issuer and kid', async () => {
    const signed = await sign({}, { nonce: 'nonce-0001' });
    expect(signed).toEqual({
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      nonce: 'nonce-0001',
      issuedAt: '2026-10-30T09:00:00.000Z',
      expiresAt: '2026-10-30T09:15:00.000Z',
    });
    const v = await verifyApprovalToken(signed.token, keys, opts);
    expect(v).toEqual({
      ok: true,
      claims: {
        ...decision,
        nonce: 'nonce-0001',
        issuedAt: '2026-10-30T09:00:00.000Z',
        expiresAt: '2026-10-30T09:15:00.000Z',
        issuer: ISSUER,
        kid: current.kid,
      },
    });
  });

  it('verifies ES256 tokens too, and gives every token a fresh random nonce by default', async () => {
    const a = await signApprovalDecision(decision, previous, { issuer: ISSUER, audience: AUDIENCE, now: NOW });
    const b = await signApprovalDecision(decision, previous, { issuer: ISSUER, audience: AUDIENCE, now: NOW });
    expect(a.nonce).not.toBe(b.nonce);
    const v = await verifyApprovalToken(a.token, keys, opts);
    expect(v.ok && [v.claims.kid, v.claims.nonce]).toEqual([previous.kid, a.nonce]);
  });

  it('feeds the approval rules: a verified token counts, and the same token a second time is a duplicate', async () => {
    const policy = parseApprovalPolicy(seedPolicyInput());
    const opened = openCheckpoint(
      policy,
      'je-approval',
      { preparerId: 'ann', amount: '75000.00', evidence: [{ kind: 'je_support', ref: 'x' }] },
      NOW.toISOString(),
    );
    if (!opened.ok) throw new Error(opened.message);
    const { token } = await sign();
    const attempt = attemptFromVerification(await verifyApprovalToken(token, keys, opts), {
      checkpointId: 'je-approval',
    });
    const first = evaluateDecision(policy, opened.state, attempt, later(5).toISOString());
    expect(first.accepted && first.outcome).toBe('level_signed');
    const again = evaluateDecision(policy, first.newState, attempt, later(6).toISOString());
    expect(!again.accepted && again.reason).toBe('duplicate');
  });

  it('refuses a tampered payload as a bad signature, keeping what it claimed for the audit trail', async () => {
    const { token } = await sign();
    const [h, , s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()), decision: 'rejected' }),
    ).toString('base64url');
    const v = failed(await verifyApprovalToken(`${h}.${forged}.${s}`, keys, opts));
    expect(v.reason).toBe('bad_signature');
    expect(v.untrusted).toMatchObject({
      approverId: 'sam',
      decision: 'rejected',
      checkpointId: 'je-approval',
      round: 1,
    });
    const attempt = attemptFromVerification(v, { checkpointId: 'je-approval' });
    expect(attempt).toMatchObject({ signature: { status: 'failed', reason: 'bad_signature' }, approverId: 'sam' });
    const sig = failed(await verifyApprovalToken(`${h}.${token.split('.')[1]}.${flip(s)}`, keys, opts));
    expect(sig.reason).toBe('bad_signature');
  });

  it('refuses an expired token, and one older than the maximum age', async () => {
    const { token } = await sign({}, { ttlSeconds: 60 });
    expect(failed(await verifyApprovalToken(token, keys, { ...opts, now: later(61) })).reason).toBe('expired');
    expect((await verifyApprovalToken(token, keys, { ...opts, now: later(59) })).ok).toBe(true);
    expect((await verifyApprovalToken(token, keys, { ...opts, now: later(65), clockToleranceSeconds: 10 })).ok).toBe(
      true,
    );
    const old = failed(await verifyApprovalToken(token, keys, { ...opts, now: later(30), maxAgeSeconds: 10 }));
    expect(old.reason).toBe('too_old');
    const early = failed(await verifyApprovalToken(token, keys, { ...opts, now: later(-60), maxAgeSeconds: 10 }));
    expect(early.reason).toBe('not_yet_valid');
  });

  it('refuses a token signed with a key the verifier does not hold, or a foreign key posing under a known kid', async () => {
    const stranger = await generateApprovalKeyPair();
    const foreign = await signApprovalDecision(decision, stranger, { issuer: ISSUER, audience: AUDIENCE, now: NOW });
    expect(failed(await verifyApprovalToken(foreign.token, keys, opts)).reason).toBe('unknown_key');
    const posing = await signApprovalDecision(
      decision,
      { ...stranger, kid: current.kid },
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        now: NOW,
      },
    );
    expect(failed(await verifyApprovalToken(posing.token, keys, opts)).reason).toBe('bad_signature');
  });

  it('rotates keys by kid: both keys verify during the overlap, the retired one no longer afterwards', async () => {
    const next = await generateApprovalKeyPair();
    const oldToken = (await sign()).token;
    const newToken = (await signApprovalDecision(decision, next, { issuer: ISSUER, audience: AUDIENCE, now: NOW }))
      .token;
    const overlap = approvalKeySet([next, current]);
    expect((await verifyApprovalToken(oldToken, overlap, opts)).ok).toBe(true);
    expect((await verifyApprovalToken(newToken, overlap, opts)).ok).toBe(true);
    const retired = approvalKeySet([next]);
    expect(failed(await verifyApprovalToken(oldToken, retired, opts)).reason).toBe('unknown_key');
  });

  it('refuses a wrong issuer, a wrong audience and a decision for another workflow', async () => {
    const { token } = await sign();
    expect(failed(await verifyApprovalToken(token, keys, { ...opts, issuer: 'someone-else' })).reason).toBe(
      'wrong_issuer',
    );
    expect(failed(await verifyApprovalToken(token, keys, { ...opts, audience: 'other-app' })).reason).toBe(
      'wrong_audience',
    );
    const other = failed(await verifyApprovalToken(token, keys, { ...opts, expectedWorkflowId: 'close:ACME:2026-11' }));
    expect([other.reason, other.message]).toEqual([
      'wrong_workflow',
      'the decision is for workflow close:ACME:2026-10, not close:ACME:2026-11',
    ]);
    const { expectedWorkflowId: _ignored, ...anyWorkflow } = opts;
    expect((await verifyApprovalToken(token, keys, anyWorkflow)).ok).toBe(true);
  });

  it('refuses what is not a token at all, with nothing claimed', async () => {
    const junk = failed(await verifyApprovalToken('not-a-token', keys, opts));
    expect([junk.reason, junk.untrusted]).toEqual(['malformed', undefined]);
    expect(failed(await verifyApprovalToken('a.b.c', keys, opts)).reason).toBe('malformed');
    expect(failed(await verifyApprovalToken(undefined as unknown as string, keys, opts)).reason).toBe('malformed');
    const { token } = await sign();
    const [h, p] = token.split('.');
    expect(failed(await verifyApprovalToken(`${h}.${p}.@@@`, keys, opts)).reason).toBe('malformed');
  });

  it('refuses tokens without a kid, of another type, with a disallowed algorithm, or with bad claims', async () => {
    const base = () =>
      new SignJWT({ ...decision, approverId: undefined })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('sam')
        .setJti('nonce-0002')
        .setIssuedAt(NOW)
        .setExpirationTime(later(60));
    const noKid = await base().setProtectedHeader({ alg: 'EdDSA', typ: APPROVAL_TOKEN_TYPE }).sign(current.privateKey);
    expect(failed(await verifyApprovalToken(noKid, keys, opts)).reason).toBe('unknown_key');
    const plainJwt = await base().setProtectedHeader({ alg: 'EdDSA', kid: current.kid }).sign(current.privateKey);
    expect(failed(await verifyApprovalToken(plainJwt, keys, opts)).reason).toBe('wrong_type');
    const hmac = await base()
      .setProtectedHeader({ alg: 'HS256', kid: current.kid, typ: APPROVAL_TOKEN_TYPE })
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!!'));
    expect(failed(await verifyApprovalToken(hmac, keys, opts)).reason).toBe('algorithm_not_allowed');

    const signRaw = (payload: Record<string, unknown>, jti = 'nonce-0003') =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', kid: current.kid, typ: APPROVAL_TOKEN_TYPE })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('sam')
        .setJti(jti)
        .setIssuedAt(NOW)
        .setExpirationTime(later(60))
        .sign(current.privateKey);
    const { checkpointId: _c, approverId: _a, ...noCheckpoint } = decision;
    const missing = failed(await verifyApprovalToken(await signRaw(noCheckpoint), keys, opts));
    expect(missing.reason).toBe('invalid_claims');
    expect(missing.message).toMatch(/^checkpointId: /);
    const { approverId: _b, ...valid } = decision;
    const shortNonce = failed(await verifyApprovalToken(await signRaw(valid, 'n1'), keys, opts));
    expect([shortNonce.reason, shortNonce.message]).toEqual([
      'invalid_claims',
      'jti (nonce) must be 8 to 128 characters',
    ]);
    const noExp = await new SignJWT(valid)
      .setProtectedHeader({ alg: 'EdDSA', kid: current.kid, typ: APPROVAL_TOKEN_TYPE })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('sam')
      .setJti('nonce-0004')
      .setIssuedAt(NOW)
      .sign(current.privateKey);
    expect(failed(await verifyApprovalToken(noExp, keys, opts)).reason).toBe('invalid_claims');
    const notJson = await new CompactSign(new TextEncoder().encode('approved!'))
      .setProtectedHeader({ alg: 'EdDSA', kid: current.kid, typ: APPROVAL_TOKEN_TYPE })
      .sign(current.privateKey);
    const unreadable = failed(await verifyApprovalToken(notJson, keys, opts));
    expect([unreadable.reason, unreadable.untrusted]).toEqual(['malformed', undefined]);
  });

  it('refuses to sign a malformed decision or with a silly lifetime', async () => {
    await expect(sign({ round: 0 })).rejects.toThrow(ApprovalTokenError);
    await expect(sign({ round: 0 })).rejects.toThrow(/^decision not signed: round: /);
    await expect(sign({}, { ttlSeconds: 0 })).rejects.toThrow(
      'ttlSeconds must be a whole number from 1 to 86400, got 0',
    );
    await expect(sign({}, { ttlSeconds: 1.5 })).rejects.toThrow(ApprovalTokenError);
    await expect(
      signApprovalDecision(null as unknown as ApprovalDecisionInput, current, { issuer: ISSUER, audience: AUDIENCE }),
    ).rejects.toThrow(/^decision not signed: \(whole decision\): /);
    await expect(
      signApprovalDecision({} as ApprovalDecisionInput, current, { issuer: ISSUER, audience: AUDIENCE }),
    ).rejects.toThrow(/workflowId/);
  });

  it('signs with the real clock when no time is given', async () => {
    const signed = await signApprovalDecision(decision, current, { issuer: ISSUER, audience: AUDIENCE });
    expect(Math.abs(Date.parse(signed.issuedAt) - Date.now())).toBeLessThan(5_000);
    expect((await verifyApprovalToken(signed.token, keys, { issuer: ISSUER, audience: AUDIENCE })).ok).toBe(true);
  });
});

describe('approval keys', () => {
  it('names a generated key by its thumbprint and publishes only its public part', async () => {
    expect(current.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: current.kid, alg: 'EdDSA', use: 'sig' });
    expect(current.publicJwk).not.toHaveProperty('d');
    expect(current.privateJwk).toHaveProperty('d');
    expect(previous.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    const published = approvalKeySet([current.privateJwk, previous]);
    expect(published.keys.map((k) => [k.kid, 'd' in k])).toEqual([
      [current.kid, false],
      [previous.kid, false],
    ]);
  });

  it("imports the gateway's private key from its JWK and signs tokens that verify", async () => {
    const imported = await importApprovalSigningKey(previous.privateJwk);
    expect([imported.kid, imported.alg]).toEqual([previous.kid, 'ES256']);
    const signed = await signApprovalDecision(decision, imported, { issuer: ISSUER, audience: AUDIENCE, now: NOW });
    expect((await verifyApprovalToken(signed.token, keys, opts)).ok).toBe(true);
  });

  it('refuses signing keys without kid, with another algorithm, or without the private part', async () => {
    const { kid: _k, ...noKid } = current.privateJwk;
    await expect(importApprovalSigningKey(noKid)).rejects.toThrow('signing key JWK has no "kid"');
    await expect(importApprovalSigningKey({ ...current.privateJwk, alg: 'RS256' })).rejects.toThrow(
      `signing key ${current.kid}: "alg" must be one of EdDSA, ES256`,
    );
    await expect(importApprovalSigningKey(current.publicJwk)).rejects.toThrow(ApprovalKeyError);
  });

  it('refuses key sets a verifier could not use safely', () => {
    const pub = current.publicJwk;
    const cases: [unknown, string][] = [
      [{ keys: [] }, 'approval key set has no keys'],
      [undefined, 'approval key set has no keys'],
      [{ keys: [{ ...pub, kid: undefined }] }, 'approval key set: key 0 has no "kid"'],
      [{ keys: [pub, pub] }, `approval key set: kid ${pub.kid} appears twice`],
      [
        { keys: [{ ...pub, alg: 'HS256' }] },
        `approval key set: key ${pub.kid} has "alg" HS256, not one of EdDSA, ES256`,
      ],
      [
        { keys: [current.privateJwk] },
        `approval key set: key ${pub.kid} holds a private key; verifiers need only the public part`,
      ],
    ];
    for (const [set, message] of cases) expect(() => assertApprovalKeySet(set as JSONWebKeySet)).toThrow(message);
  });
});

describe('approver identity at the gateway', () => {
  const IDP = 'https://idp.acme.example';
  const policy = parseApprovalPolicy(seedPolicyInput());
  let idp: { privateKey: CryptoKey; jwks: JSONWebKeySet };

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    idp = {
      privateKey: pair.privateKey,
      jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' }] },
    };
  });

  const login = (claims: Record<string, unknown>, o: { exp?: Date; iss?: string; typ?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', ...(o.typ ? { typ: o.typ } : {}) })
      .setIssuer(o.iss ?? IDP)
      .setAudience('finflow-gateway')
      .setIssuedAt(NOW)
      .setExpirationTime(o.exp ?? later(3600))
      .sign(idp.privateKey);
  const idOpts = () => ({ keys: idp.jwks, issuer: IDP, audience: 'finflow-gateway', now: NOW });

  it('takes the roles from the user directory and reports, without trusting, the roles the token claims', async () => {
    const token = await login({ sub: 'maya', roles: ['manager', 'director'] });
    expect(await verifyIdentityJwt(token, policy, idOpts())).toEqual({
      ok: true,
      userId: 'maya',
      roles: ['manager'],
      ignoredRoleClaims: ['director'],
      expiresAt: '2026-10-30T10:00:00.000Z',
    });
    const spaced = await login({ email: 'dan', groups: 'director cfo' });
    expect(
      await verifyIdentityJwt(spaced, policy, { ...idOpts(), userClaim: 'email', roleClaim: 'groups' }),
    ).toMatchObject({
      ok: true,
      userId: 'dan',
      roles: ['director'],
      ignoredRoleClaims: ['cfo'],
    });
    const none = await verifyIdentityJwt(await login({ sub: 'sam' }), policy, idOpts());
    expect(none).toMatchObject({ ok: true, roles: ['supervisor'], ignoredRoleClaims: [] });
  });

  it("accepts a key resolver, as used with the identity provider's published JWKS URL", async () => {
    const token = await login({ sub: 'sam' });
    const v = await verifyIdentityJwt(token, policy, { ...idOpts(), keys: createLocalJWKSet(idp.jwks) });
    expect(v.ok).toBe(true);
  });

  it('refuses unknown users, tokens naming nobody, and tokens that fail verification', async () => {
    expect(await verifyIdentityJwt(await login({ sub: 'eve', roles: ['director'] }), policy, idOpts())).toEqual({
      ok: false,
      reason: 'unknown_user',
      message: 'eve is not in the user directory',
    });
    expect(await verifyIdentityJwt(await login({}), policy, idOpts())).toMatchObject({ reason: 'missing_user_claim' });
    const expired = await login({ sub: 'sam' }, { exp: later(-1) });
    expect(await verifyIdentityJwt(expired, policy, idOpts())).toMatchObject({ ok: false, reason: 'expired' });
    const foreignIssuer = await login({ sub: 'sam' }, { iss: 'https://evil.example' });
    expect(await verifyIdentityJwt(foreignIssuer, policy, idOpts())).toMatchObject({ reason: 'wrong_issuer' });
    const selfMade = await new SignJWT({ sub: 'dan', roles: ['director'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'idp-1' })
      .setIssuer(IDP)
      .setAudience('finflow-gateway')
      .setExpirationTime(later(60))
      .sign(new TextEncoder().encode('guessable shared secret, 32 bytes'));
    expect(await verifyIdentityJwt(selfMade, policy, idOpts())).toMatchObject({ reason: 'algorithm_not_allowed' });
  });

  it("throws when the identity provider's keys cannot be fetched: an outage is not a bad token", async () => {
    const token = await login({ sub: 'sam' });
    const down = () => Promise.reject(new Error('connect ECONNREFUSED idp.acme.example:443'));
    await expect(verifyIdentityJwt(token, policy, { ...idOpts(), keys: down })).rejects.toThrow('ECONNREFUSED');
  });

  it('refuses an approval token presented as an identity, and junk', async () => {
    const { token } = await sign();
    expect(await verifyIdentityJwt(token, policy, { ...idOpts(), keys })).toMatchObject({ reason: 'wrong_type' });
    expect(await verifyIdentityJwt('Bearer xyz', policy, idOpts())).toMatchObject({ reason: 'malformed' });
    expect(await verifyIdentityJwt('a.b.c', policy, idOpts())).toMatchObject({ reason: 'malformed' });
  });
});

describe('the verification activity', () => {
  it('verifies a token for the workflow it is called from, at the activity clock', async () => {
    const acts = createApprovalVerificationActivities({
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: () => later(10),
    });
    const { token } = await sign();
    const v = await acts.verifyApprovalDecision({ token, workflowId: WORKFLOW });
    expect(v.ok && v.claims.approverId).toBe('sam');
    const other = await acts.verifyApprovalDecision({ token, workflowId: 'close:ACME:2026-11' });
    expect(!other.ok && other.reason).toBe('wrong_workflow');
    const late = createApprovalVerificationActivities({
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: () => later(3600),
    });
    expect(await late.verifyApprovalDecision({ token, workflowId: WORKFLOW })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(() =>
      createApprovalVerificationActivities({ keys: { keys: [] }, issuer: ISSUER, audience: AUDIENCE }),
    ).toThrow(ApprovalKeyError);
  });
});

// An identity provider of the tests' own, with real keys (issue 18): its JWKS is what workers and the gateway check
// approvers' tokens against, and `token` signs one for a person as the provider would (or, with `key`, as an
// impostor would). Each token has its own jti, like a real provider's access tokens.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import type { IdentityProofConfig } from '../../activities/approval/identity';

export interface TestIdentityProvider {
  issuer: string;
  audience: string;
  jwks: JSONWebKeySet;
  /** What a worker (and the gateway) is configured with. */
  config: IdentityProofConfig;
  token(
    subject: string,
    opts?: { now?: Date; ttlSeconds?: number; jti?: string | null; key?: CryptoKey; audience?: string },
  ): Promise<string>;
}

export async function testIdentityProvider(
  issuer = 'test-idp',
  audience = 'finflow-approval-gateway',
): Promise<TestIdentityProvider> {
  const pair = await generateKeyPair('EdDSA');
  const kid = `${issuer}-key-1`;
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'EdDSA', use: 'sig' }] };
  return {
    issuer,
    audience,
    jwks,
    config: { keys: jwks, issuer, audience },
    async token(subject, opts = {}) {
      const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setIssuer(issuer)
        .setAudience(opts.audience ?? audience)
        .setSubject(subject)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (opts.ttlSeconds ?? 600));
      if (opts.jti !== null) jwt.setJti(opts.jti ?? randomUUID());
      return jwt.sign(opts.key ?? pair.privateKey);
    },
  };
}

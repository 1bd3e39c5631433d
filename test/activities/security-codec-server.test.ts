import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { InMemoryAccessLog, type AccessEvent, type AccessLog } from '../../activities/security/access-log';
import { KeyRing, generateMasterKey } from '../../activities/security/key-ring';
import {
  buildCodecServer,
  codecServerConfigFromEnv,
  createJwtVerifier,
  type VerifyCaller,
} from '../../client/codec-server';
import { EncryptionCodec } from '../../platform/codec';
import { seedPolicy, seedPolicyInput } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
const UI = 'http://localhost:8233';
const ISSUER = 'https://idp.acme.example';
const AUDIENCE = 'finflow-codec';

const ring = new KeyRing([generateMasterKey('k1')], 'k1');
const codec = new EncryptionCodec(ring);
let privateKey: CryptoKey;
let verifyCaller: VerifyCaller;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' };
  verifyCaller = createJwtVerifier({ keys: { keys: [jwk] }, issuer: ISSUER, audience: AUDIENCE });
});

async function token(
  sub: string,
  roles: string[],
  opts: { issuer?: string; audience?: string; expiresIn?: string | number; key?: CryptoKey } = {},
): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setSubject(sub)
    .setIssuer(opts.issuer ?? ISSUER)
    .setAudience(opts.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '5m')
    .sign(opts.key ?? privateKey);
}

const wire = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});
const unwire = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

const exceptionRow = { closeId: 'close:ACME:2026-10', accountNumber: IBAN, amount: '10.00' };

async function encryptedBody(value: unknown = exceptionRow) {
  const payloads = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  return { payloads: payloads.map(wire) };
}

function server(accessLog: AccessLog = new InMemoryAccessLog()) {
  return buildCodecServer({ codec, verifyCaller, policy: seedPolicy(), accessLog, corsOrigins: [UI] });
}

function decodedValues(body: string): unknown[] {
  const parsed = JSON.parse(body) as { payloads: { metadata: Record<string, string>; data: string }[] };
  return parsed.payloads.map((p) => defaultPayloadConverter.fromPayload(unwire(p)));
}

describe('the codec server', () => {
  it('refuses an unauthenticated decode with 401, reveals nothing, and logs the refusal', async () => {
    const log = new InMemoryAccessLog();
    const app = server(log);
    const res = await app.inject({ method: 'POST', url: '/decode', payload: await encryptedBody() });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body).not.toContain(IBAN);
    expect(res.body).not.toContain('payloads');
    expect(log.entries).toEqual([expect.objectContaining({ actor: 'anonymous', action: 'decode', outcome: 'denied' })]);
  });

  it('refuses expired tokens, other issuers or audiences, foreign signatures and unsigned tokens', async () => {
    const app = server();
    const body = await encryptedBody();
    const foreign = (await generateKeyPair('ES256')).privateKey;
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'x', roles: ['director'], iss: ISSUER, aud: AUDIENCE, exp: 9999999999 }),
    ).toString('base64url')}.`;
    const bad = [
      await token('ana', ['director'], { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      await token('ana', ['director'], { issuer: 'https://evil.example' }),
      await token('ana', ['director'], { audience: 'someone-else' }),
      await token('ana', ['director'], { key: foreign }),
      unsigned,
    ];
    for (const t of bad) {
      const res = await app.inject({
        method: 'POST',
        url: '/decode',
        headers: { authorization: `Bearer ${t}` },
        payload: body,
      });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain(IBAN);
    }
    const malformed = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: 'Basic YW5hOnB3' },
      payload: body,
    });
    expect(malformed.statusCode).toBe(401);
  });

  it('decodes for an authorised role in clear and logs who read which classified field', async () => {
    const log = new InMemoryAccessLog();
    const app = server(log);
    const res = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: {
        authorization: `Bearer ${await token('dora@acme', ['director'])}`,
        'x-namespace': 'finance',
        'x-finflow-purpose': 'exception review',
      },
      payload: await encryptedBody(),
    });
    expect(res.statusCode).toBe(200);
    expect(decodedValues(res.body)).toEqual([exceptionRow]);
    expect(log.entries).toEqual([
      expect.objectContaining({
        actor: 'dora@acme',
        action: 'decode',
        resource: 'temporal-namespace:finance',
        fields: ['accountNumber'],
        purpose: 'exception review',
        outcome: 'allowed',
      }),
    ]);
  });

  it('gives a role without access only the masked value', async () => {
    const log = new InMemoryAccessLog();
    const app = server(log);
    const res = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('alan@acme', ['accountant'])}` },
      payload: await encryptedBody(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(Buffer.from(IBAN).toString('base64'));
    expect(decodedValues(res.body)).toEqual([{ ...exceptionRow, accountNumber: '****3000' }]);
    expect(JSON.stringify(decodedValues(res.body))).not.toContain(IBAN);
    expect(log.entries[0]).toMatchObject({ actor: 'alan@acme', fields: [], outcome: 'allowed' });
  });

  it('masks unencrypted JSON payloads too, and withholds binary payloads it cannot inspect', async () => {
    const app = server();
    const plain = defaultPayloadConverter.toPayload({ account_number: IBAN });
    const binary = defaultPayloadConverter.toPayload(new Uint8Array(Buffer.from(IBAN)));
    const res = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('alan@acme', ['accountant'])}` },
      payload: { payloads: [wire(plain), wire(binary)] },
    });
    expect(res.statusCode).toBe(200);
    expect(decodedValues(res.body)).toEqual([
      { account_number: '****3000' },
      '[withheld: a binary payload cannot be masked]',
    ]);
  });

  it('masks account numbers quoted in failure messages for a role without restricted access', async () => {
    const app = server();
    const failureAttributes = { message: `payment to ${IBAN} bounced`, stack_trace: `Error: payment to ${IBAN}` };
    const body = await encryptedBody(failureAttributes);
    const asAccountant = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('alan@acme', ['accountant'])}` },
      payload: body,
    });
    expect(decodedValues(asAccountant.body)).toEqual([
      { message: 'payment to ****3000 bounced', stack_trace: 'Error: payment to ****3000' },
    ]);
    const asDirector = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('dora@acme', ['director'])}` },
      payload: body,
    });
    expect(decodedValues(asDirector.body)).toEqual([failureAttributes]);
  });

  it('answers 422 for a tampered payload without echoing it, and logs the failure', async () => {
    const log = new InMemoryAccessLog();
    const app = server(log);
    const body = await encryptedBody();
    const data = Buffer.from(body.payloads[0].data, 'base64');
    data[30] ^= 1;
    body.payloads[0].data = data.toString('base64');
    const res = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('dora@acme', ['director'])}` },
      payload: body,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: expect.stringMatching(/authentication failed/) });
    expect(res.body).not.toContain(body.payloads[0].data);
    expect(log.entries[0]).toMatchObject({ actor: 'dora@acme', outcome: 'failed' });
  });

  it('does not answer a decode it could not write to the access log', async () => {
    const failing: AccessLog = {
      record: async (e: AccessEvent) => {
        throw new Error(`access log down (${e.action})`);
      },
    };
    const res = await server(failing).inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('dora@acme', ['director'])}` },
      payload: await encryptedBody(),
    });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain(IBAN);
    expect(res.body).not.toContain(Buffer.from(IBAN).toString('base64'));
  });

  it('encodes only for an authenticated caller, and what it encodes decodes back', async () => {
    const app = server();
    const plain = { payloads: [wire(defaultPayloadConverter.toPayload(exceptionRow))] };
    expect((await app.inject({ method: 'POST', url: '/encode', payload: plain })).statusCode).toBe(401);
    const auth = { authorization: `Bearer ${await token('dora@acme', ['director'])}` };
    const enc = await app.inject({ method: 'POST', url: '/encode', headers: auth, payload: plain });
    expect(enc.statusCode).toBe(200);
    expect(enc.body).not.toContain(Buffer.from(JSON.stringify(exceptionRow)).toString('base64'));
    const dec = await app.inject({ method: 'POST', url: '/decode', headers: auth, payload: enc.json() });
    expect(decodedValues(dec.body)).toEqual([exceptionRow]);
  });

  it('rejects a malformed body with 400', async () => {
    const res = await server().inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: `Bearer ${await token('dora@acme', ['director'])}` },
      payload: { payloads: [{ data: 'not base64!' }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/payloads\.0\.data: not base64/);
  });
});

describe('CORS of the codec server', () => {
  it('answers the preflight of the Web UI origin with the headers a browser needs', async () => {
    const res = await server().inject({
      method: 'OPTIONS',
      url: '/decode',
      headers: {
        origin: UI,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(String(res.headers['access-control-allow-headers'])).toMatch(/Authorization.*Content-Type.*X-Namespace/);
  });

  it('refuses the preflight and the request of any other origin, even with a valid token', async () => {
    const app = server();
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/decode',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.statusCode).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const post = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { origin: 'https://evil.example', authorization: `Bearer ${await token('dora@acme', ['director'])}` },
      payload: await encryptedBody(),
    });
    expect(post.statusCode).toBe(403);
    expect(post.body).not.toContain(IBAN);
  });

  it('allows the Web UI origin to decode with a token, and the CLI (no Origin) likewise', async () => {
    const app = server();
    const auth = `Bearer ${await token('dora@acme', ['director'])}`;
    const fromUi = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { origin: UI, authorization: auth },
      payload: await encryptedBody(),
    });
    expect(fromUi.statusCode).toBe(200);
    expect(fromUi.headers['access-control-allow-origin']).toBe(UI);
    const fromCli = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { authorization: auth },
      payload: await encryptedBody(),
    });
    expect(fromCli.statusCode).toBe(200);
    expect(fromCli.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a configured origin that is not scheme://host[:port]', () => {
    expect(() =>
      buildCodecServer({
        codec,
        verifyCaller,
        policy: seedPolicy(),
        accessLog: new InMemoryAccessLog(),
        corsOrigins: ['*'],
      }),
    ).toThrow(/must be scheme:\/\/host/);
  });
});

describe('JWT verification with a shared secret', () => {
  it('reads roles given as a space-separated claim and insists on sub and exp', async () => {
    const secret = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!');
    const verify = createJwtVerifier({ keys: secret, issuer: ISSUER, audience: AUDIENCE, rolesClaim: 'scope' });
    const base = () =>
      new SignJWT({ scope: 'manager auditor' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE);
    const good = await base().setSubject('mia@acme').setExpirationTime('5m').sign(secret);
    await expect(verify(`Bearer ${good}`)).resolves.toEqual({ subject: 'mia@acme', roles: ['manager', 'auditor'] });
    const noSub = await base().setExpirationTime('5m').sign(secret);
    await expect(verify(`Bearer ${noSub}`)).rejects.toThrow(/"sub" claim/);
    const noExp = await base().setSubject('mia@acme').sign(secret);
    await expect(verify(`Bearer ${noExp}`)).rejects.toThrow(/"exp" claim/);
  });
});

describe('standalone configuration', () => {
  it('names every missing setting at once', () => {
    expect(() => codecServerConfigFromEnv({})).toThrow(
      /set FINFLOW_CODEC_JWT_ISSUER, FINFLOW_CODEC_JWT_AUDIENCE, FINFLOW_SECURITY_POLICY, FINFLOW_CODEC_JWKS_URL or FINFLOW_CODEC_JWKS_FILE/,
    );
  });

  it('reads the policy and JWKS files it is pointed at', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'finflow-codec-'));
    try {
      await writeFile(join(dir, 'policy.json'), JSON.stringify(seedPolicyInput));
      await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [] }));
      const config = codecServerConfigFromEnv({
        FINFLOW_CODEC_JWT_ISSUER: ISSUER,
        FINFLOW_CODEC_JWT_AUDIENCE: AUDIENCE,
        FINFLOW_SECURITY_POLICY: join(dir, 'policy.json'),
        FINFLOW_CODEC_JWKS_FILE: join(dir, 'jwks.json'),
        FINFLOW_CODEC_CORS_ORIGINS: `${UI}, https://temporal.acme.example`,
      });
      expect(config).toMatchObject({
        port: 8888,
        host: '127.0.0.1',
        corsOrigins: [UI, 'https://temporal.acme.example'],
      });
      expect(config.policy.fields['bank.account_number']).toBe('restricted');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

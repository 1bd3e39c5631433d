// The codec server with people's own identity (issue 18): a person signs in with their own key from the user key
// directory, or with the identity provider's token; what is masked follows the person's roles in the user
// directory, never roles a token claims. Real keys, a real encryption codec, the server's own routes (inject).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { generateApprovalKeyPair, type ApprovalKeyPair } from '../../activities/approval/signing';
import { staticUserKeys } from '../../activities/approval/user-keys';
import { InMemoryAccessLog } from '../../activities/security/access-log';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { personCodecVerifier, personCodecVerifierFromEnv, signCodecPersonToken } from '../../client/codec-identity';
import { buildCodecServer, createJwtVerifier } from '../../client/codec-server';
import { addUserKey, emptyUserKeyDirectory, type UserKeyRecord } from '../../domain/approval/person-keys';
import { EncryptionCodec } from '../../platform/codec';
import { seedPolicyInput as seedApprovalPolicyInput } from '../unit/approval-fixtures';
import { seedPolicy } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
const ISSUER = 'https://idp.acme.example';
const AUDIENCE = 'finflow-codec';
const codec = new EncryptionCodec(new KeyRing([generateMasterKey('k1')], 'k1'));
const users = [
  { userId: 'dan', roles: ['director'] },
  { userId: 'ann', roles: ['accountant'] },
  { userId: 'sue', roles: ['supervisor'] },
];
let dan: ApprovalKeyPair;
let ann: ApprovalKeyPair;
let sue: ApprovalKeyPair;
let idpKey: CryptoKey;
let app: ReturnType<typeof buildCodecServer>;
const log = new InMemoryAccessLog();

const record = (pair: ApprovalKeyPair, personId: string, extra: Partial<UserKeyRecord> = {}): UserKeyRecord => ({
  kid: pair.kid,
  personId,
  publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
  validFrom: '2000-01-01T00:00:00.000Z',
  addedAt: '2000-01-01T00:00:00.000Z',
  addedBy: 'ivy.admin',
  ...extra,
});

beforeAll(async () => {
  [dan, ann, sue] = await Promise.all([1, 2, 3].map(() => generateApprovalKeyPair()));
  const idp = await generateKeyPair('ES256');
  idpKey = idp.privateKey;
  const jwk = { ...(await exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'ES256' };
  const userKeys = staticUserKeys(
    [
      record(dan, 'dan'),
      record(ann, 'ann'),
      record(sue, 'sue', { revokedAt: '2001-01-01T00:00:00.000Z', revokedBy: 'ivy.admin', revocationReason: 'lost' }),
    ].reduce(addUserKey, emptyUserKeyDirectory()),
  );
  const verifyCaller = personCodecVerifier({
    userKeys,
    directory: () => ({ users }),
    identity: createJwtVerifier({ keys: { keys: [jwk] }, issuer: ISSUER, audience: AUDIENCE }),
  });
  app = buildCodecServer({ codec, verifyCaller, policy: seedPolicy(), accessLog: log, corsOrigins: [] });
});

const unwire = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

async function decode(bearer: string) {
  const [p] = await codec.encode([defaultPayloadConverter.toPayload({ accountNumber: IBAN, amount: '10.00' })]);
  const wire = {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
  const res = await app.inject({
    method: 'POST',
    url: '/decode',
    headers: { authorization: `Bearer ${bearer}` },
    payload: { payloads: [wire] },
  });
  if (res.statusCode !== 200) return { status: res.statusCode, body: res.body };
  const body = JSON.parse(res.body) as { payloads: { metadata: Record<string, string>; data: string }[] };
  return {
    status: 200,
    value: defaultPayloadConverter.fromPayload(unwire(body.payloads[0])) as Record<string, string>,
  };
}

const idpToken = (sub: string, roles: string[]) =>
  new SignJWT({ roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(idpKey);

/** The seed's approval policy with ann holding `role`. */
function annAs(role: string) {
  const p = seedApprovalPolicyInput();
  p.users = p.users.map((u) => (u.userId === 'ann' ? { ...u, roles: [role] } : u));
  return p;
}

describe("the codec server with people's own identity", () => {
  it("decodes for a person signed in with their own key, masked for the person's roles in the directory", async () => {
    const asDan = await decode((await signCodecPersonToken('dan', dan)).token);
    expect(asDan).toMatchObject({ status: 200, value: { accountNumber: IBAN, amount: '10.00' } });
    const asAnn = await decode((await signCodecPersonToken('ann', ann)).token);
    expect(asAnn.status).toBe(200);
    expect(asAnn.value?.accountNumber).not.toBe(IBAN);
    expect(asAnn.value?.accountNumber).toContain('3000');
    expect(log.entries.filter((e) => e.outcome === 'allowed').map((e) => e.actor)).toEqual(['dan', 'ann']);
  });

  it("takes the person's roles from the directory, not the identity provider's token: ann claiming director sees the account masked", async () => {
    const r = await decode(await idpToken('ann', ['director']));
    expect(r.status).toBe(200);
    expect(r.value?.accountNumber).not.toBe(IBAN);
    const d = await decode(await idpToken('dan', []));
    expect(d.value?.accountNumber).toBe(IBAN);
  });

  it("refuses ann's key signing as dan, sue's revoked key, a person not in the directory and a token of no known key, each logged as denied", async () => {
    const before = log.entries.length;
    const stranger = await generateApprovalKeyPair();
    const refused = [
      await decode((await signCodecPersonToken('dan', ann)).token),
      await decode((await signCodecPersonToken('sue', sue)).token),
      await decode(await idpToken('zed', ['director'])),
      await decode((await signCodecPersonToken('dan', stranger)).token),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    expect(refused[0].body).toContain('key_of_another_person');
    expect(refused[1].body).toContain('key_revoked');
    expect(refused[2].body).toContain('zed is not in the user directory');
    expect(refused.map((r) => r.body).join('')).not.toContain(IBAN);
    expect(log.entries.slice(before).map((e) => e.outcome)).toEqual(['denied', 'denied', 'denied', 'denied']);
  });

  it('reads people and their roles from FINFLOW_USER_KEYS_FILE and FINFLOW_APPROVAL_POLICY_FILE, and refuses one without the other', async () => {
    expect(personCodecVerifierFromEnv({}, undefined)).toBeUndefined();
    expect(() => personCodecVerifierFromEnv({ FINFLOW_USER_KEYS_FILE: '/x.json' }, undefined)).toThrow(
      'FINFLOW_APPROVAL_POLICY_FILE is not set',
    );
    const dir = mkdtempSync(join(tmpdir(), 'finflow-codec-people-'));
    const keysFile = join(dir, 'user-keys.json');
    const policyFile = join(dir, 'policy.json');
    writeFileSync(keysFile, JSON.stringify([record(ann, 'ann')].reduce(addUserKey, emptyUserKeyDirectory())));
    writeFileSync(policyFile, JSON.stringify(annAs('director')));
    const verify = personCodecVerifierFromEnv(
      { FINFLOW_USER_KEYS_FILE: keysFile, FINFLOW_APPROVAL_POLICY_FILE: policyFile },
      undefined,
    )!;
    const bearer = `Bearer ${(await signCodecPersonToken('ann', ann)).token}`;
    await expect(verify(bearer)).resolves.toEqual({ subject: 'ann', roles: ['director'] });
    // The directory changes: ann is an accountant now, and the next request says so without a restart.
    writeFileSync(policyFile, JSON.stringify(annAs('accountant')));
    await expect(verify(bearer)).resolves.toEqual({ subject: 'ann', roles: ['accountant'] });
  });
});

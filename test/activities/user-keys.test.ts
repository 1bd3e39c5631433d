// Per-person keys (issue 18): with a user key directory, a worker counts a person's token only when the key is
// that person's own, valid when signed and not revoked; the gateway's keys sign for the gateway only.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApprovalActivities, approvalConfigFromEnv } from '../../activities/approval';
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER, readSigningKeyFile } from '../../activities/approval/keys';
import { signResubmission } from '../../activities/approval/resubmission';
import {
  approvalKeySet,
  generateApprovalKeyPair,
  signApprovalDecision,
  type ApprovalKeyPair,
  type ApprovalSigningKey,
} from '../../activities/approval/signing';
import { signTaskAction } from '../../activities/approval/task-action-token';
import {
  addUserKeyToFile,
  readUserKeyDirectoryFile,
  revokeUserKeyInFile,
  staticUserKeys,
  userKeysFromFile,
} from '../../activities/approval/user-keys';
import { addUserKey, emptyUserKeyDirectory, type UserKeyRecord } from '../../domain/approval/person-keys';

const WF = 'close:ACME:2026-10';
const AT = '2026-11-03T09:00:00.000Z';
const NOW = new Date(AT);

const personKey = (pair: ApprovalKeyPair, personId: string, extra: Partial<UserKeyRecord> = {}): UserKeyRecord => ({
  kid: pair.kid,
  personId,
  publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
  validFrom: '2026-11-01T00:00:00.000Z',
  addedAt: '2026-11-01T00:00:00.000Z',
  addedBy: 'ivy.admin',
  ...extra,
});

const decision = (key: ApprovalSigningKey, approverId: string, issuer = CLI_ISSUER, now = NOW) =>
  signApprovalDecision(
    { workflowId: WF, checkpointId: 'je-review', round: 1, decision: 'approved', approverId, roles: [] },
    key,
    { issuer, audience: APPROVAL_AUDIENCE, now },
  ).then((s) => s.token);

describe('per-person signing keys', () => {
  let gateway: ApprovalKeyPair;
  let ann: ApprovalKeyPair;
  let maya: ApprovalKeyPair;
  let old: ApprovalKeyPair;
  let lost: ApprovalKeyPair;
  let verify: ReturnType<typeof createApprovalActivities>;

  beforeAll(async () => {
    [gateway, ann, maya, old, lost] = await Promise.all([1, 2, 3, 4, 5].map(() => generateApprovalKeyPair()));
    const dir = [
      personKey(ann, 'ann'),
      personKey(maya, 'maya'),
      personKey(old, 'maya', { validUntil: '2026-11-02T00:00:00.000Z' }),
      personKey(lost, 'maya', {
        revokedAt: '2026-11-02T12:00:00.000Z',
        revokedBy: 'ivy.admin',
        revocationReason: 'laptop stolen',
      }),
    ].reduce(addUserKey, emptyUserKeyDirectory());
    verify = createApprovalActivities({
      approval: { keys: approvalKeySet([gateway]), userKeys: staticUserKeys(dir) },
    });
  });

  const approval = (token: string) => verify.verifyApprovalSignal({ token, workflowId: WF, at: AT });

  it("counts a person's decision signed with their own key, and the gateway's decision signed with its key", async () => {
    expect(await approval(await decision(ann, 'ann'))).toMatchObject({
      ok: true,
      claims: { approverId: 'ann', kid: ann.kid, issuer: CLI_ISSUER },
    });
    expect(await approval(await decision(gateway, 'maya', GATEWAY_ISSUER))).toMatchObject({
      ok: true,
      claims: { approverId: 'maya', kid: gateway.kid, issuer: GATEWAY_ISSUER },
    });
  });

  it("refuses ann's key signing as maya, naming maya as the claimed approver", async () => {
    expect(await approval(await decision(ann, 'maya'))).toEqual({
      ok: false,
      reason: 'key_of_another_person',
      message: `key ${ann.kid} belongs to ann, and the token says it is signed by maya`,
      untrusted: expect.objectContaining({ approverId: 'maya', checkpointId: 'je-review', decision: 'approved' }),
    });
  });

  it('refuses a revoked key and an expired key, saying when and why', async () => {
    expect(await approval(await decision(lost, 'maya'))).toMatchObject({
      ok: false,
      reason: 'key_revoked',
      message: `key ${lost.kid} of maya was revoked at 2026-11-02T12:00:00.000Z by ivy.admin: laptop stolen`,
    });
    expect(await approval(await decision(old, 'maya'))).toMatchObject({
      ok: false,
      reason: 'key_expired',
      message: `key ${old.kid} of maya expired at 2026-11-02T00:00:00.000Z; the token was signed at ${AT}`,
    });
  });

  it("refuses the gateway's key used by the CLI for anyone, and a person's key posing as the gateway", async () => {
    expect(await approval(await decision(gateway, 'maya', CLI_ISSUER))).toMatchObject({
      ok: false,
      reason: 'key_not_registered',
      message: expect.stringContaining(`key ${gateway.kid} is not a person's key`),
    });
    expect(await approval(await decision(ann, 'ann', GATEWAY_ISSUER))).toMatchObject({
      ok: false,
      reason: 'wrong_issuer',
      message: `key ${ann.kid} is a person's key: it cannot sign as the gateway (${GATEWAY_ISSUER})`,
    });
  });

  it('applies the same binding to task actions and resubmissions', async () => {
    const action = await signTaskAction({ workflowId: WF, action: 'complete', taskId: 'prelim', by: 'maya' }, ann, {
      issuer: CLI_ISSUER,
      audience: APPROVAL_AUDIENCE,
      now: NOW,
    });
    expect(await verify.verifyTaskActionSignal({ token: action.token, workflowId: WF, at: AT })).toMatchObject({
      ok: false,
      reason: 'key_of_another_person',
      claimedBy: 'maya',
    });
    const resubmission = await signResubmission(
      { workflowId: WF, checkpointId: 'je-review', round: 2, preparerId: 'maya', resolution: 'fixed the account' },
      ann,
      { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: NOW },
    );
    expect(await verify.verifyResubmissionSignal({ token: resubmission.token, workflowId: WF, at: AT })).toMatchObject({
      ok: false,
      reason: 'key_of_another_person',
      preparerId: 'maya',
    });
  });

  it('without a directory, trusts no CLI key: a CLI-signed decision, resubmission or task action is refused saying how to register a key, and the gateway still signs', async () => {
    const noDirectory = createApprovalActivities({ approval: { keys: approvalKeySet([gateway]) } });
    const howTo = expect.stringContaining(
      'a person\'s own key counts only from a user key directory (register it with `finflow keys user add <person>`',
    );
    expect(
      await noDirectory.verifyApprovalSignal({ token: await decision(gateway, 'maya'), workflowId: WF, at: AT }),
    ).toMatchObject({ ok: false, reason: 'key_not_registered', message: howTo, untrusted: { approverId: 'maya' } });
    const action = await signTaskAction({ workflowId: WF, action: 'complete', taskId: 'prelim', by: 'ann' }, gateway, {
      issuer: CLI_ISSUER,
      audience: APPROVAL_AUDIENCE,
      now: NOW,
    });
    expect(await noDirectory.verifyTaskActionSignal({ token: action.token, workflowId: WF, at: AT })).toMatchObject({
      ok: false,
      reason: 'key_not_registered',
      message: howTo,
      claimedBy: 'ann',
    });
    const resubmission = await signResubmission(
      { workflowId: WF, checkpointId: 'je-review', round: 2, preparerId: 'ann', resolution: 'fixed the account' },
      gateway,
      { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: NOW },
    );
    expect(
      await noDirectory.verifyResubmissionSignal({ token: resubmission.token, workflowId: WF, at: AT }),
    ).toMatchObject({ ok: false, reason: 'key_not_registered', preparerId: 'ann' });
    expect(
      await noDirectory.verifyApprovalSignal({
        token: await decision(gateway, 'maya', GATEWAY_ISSUER),
        workflowId: WF,
        at: AT,
      }),
    ).toMatchObject({ ok: true, claims: { approverId: 'maya', issuer: GATEWAY_ISSUER } });
    expect(
      await createApprovalActivities({}).verifyApprovalSignal({ token: await decision(ann, 'ann'), workflowId: WF }),
    ).toMatchObject({
      ok: false,
      reason: 'unknown_key',
      message: expect.stringContaining('FINFLOW_USER_KEYS_FILE'),
    });
  });

  it('keeps the directory in a file: a key is added with its private half at 0600, a revocation counts without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finflow-user-keys-'));
    const file = join(dir, 'user-keys.json');
    const added = await addUserKeyToFile(file, {
      personId: 'ann',
      addedBy: 'ivy.admin',
      now: new Date('2026-11-01T00:00:00Z'),
    });
    expect(statSync(added.privateKeyFile).mode & 0o777).toBe(0o600);
    expect(added.privateKeyFile).toBe(join(dir, 'users', `ann.${added.record.kid.slice(0, 8)}.private.jwk.json`));
    expect(readFileSync(file, 'utf8')).not.toContain('"d"');
    const key = await readSigningKeyFile(added.privateKeyFile);

    const worker = createApprovalActivities({ approval: approvalConfigFromEnv({ FINFLOW_USER_KEYS_FILE: file }) });
    const check = async () =>
      worker.verifyApprovalSignal({ token: await decision(key, 'ann'), workflowId: WF, at: AT });
    expect(await check()).toMatchObject({ ok: true, claims: { approverId: 'ann', kid: added.record.kid } });

    await revokeUserKeyInFile(file, {
      kid: added.record.kid,
      by: 'ivy.admin',
      reason: 'left the company',
      now: new Date('2026-11-02T00:00:00Z'),
    });
    expect(await check()).toMatchObject({
      ok: false,
      reason: 'key_revoked',
      message: expect.stringContaining('left the company'),
    });
    expect((await readUserKeyDirectoryFile(file)).keys[0]).toMatchObject({ revokedBy: 'ivy.admin' });
  });

  it('refuses a broken directory file by name, and a reused private key file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finflow-user-keys-'));
    const file = join(dir, 'user-keys.json');
    writeFileSync(file, '{"schema":"finflow.user-keys","version":1,"keys":[{"kid":"k"}]}');
    expect(() => userKeysFromFile(file)).toThrow(new RegExp(`user key directory ${file}: keys\\.0\\.personId`));
    expect(() => userKeysFromFile(join(dir, 'absent.json'))).toThrow(/ENOENT/);
    const good = join(dir, 'good.json');
    const out = join(dir, 'ann.jwk');
    await addUserKeyToFile(good, { personId: 'ann', addedBy: 'ivy', privateKeyFile: out });
    await expect(addUserKeyToFile(good, { personId: 'ann', addedBy: 'ivy', privateKeyFile: out })).rejects.toThrow(
      /already exists: not overwritten/,
    );
    expect((await readUserKeyDirectoryFile(good)).keys).toHaveLength(1);
  });
});

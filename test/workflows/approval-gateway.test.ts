// The approval gateway as it runs (startApprovalGateway, listening on a port) in front of an approval checkpoint on
// the time-skipping server (issue 18): it re-reads the approval policy's user directory when the file changes, with
// no restart; it refuses every caller while a changed file does not read; and it signs only as the person the
// identity provider proved, never as someone a request names.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { createApprovalKeyFiles, readApprovalKeySet } from '../../activities/approval/keys';
import { startApprovalGateway, type RunningGateway } from '../../client/approval-gateway-server';
import type { ApprovalPolicyInput } from '../../domain/approval';
import {
  approvalSuite,
  JE_75K,
  newWorker,
  opened,
  policy,
  running,
  serverNow,
  startApproval,
  uniqueId,
} from './approval-harness';

const h = approvalSuite('approval_gateway');
const IDP = 'test-idp';
const AUDIENCE = 'finflow-approval-gateway';

let idp: { privateKey: CryptoKey; kid: string };
let impostor: CryptoKey;
let dir: string;
/** The gateway's public key, which the worker trusts for the gateway's tokens. */
let gatewayKeys: JSONWebKeySet;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-gateway-'));
  const pair = await generateKeyPair('EdDSA');
  idp = { privateKey: pair.privateKey, kid: 'idp-1' };
  impostor = (await generateKeyPair('EdDSA')).privateKey;
  writeFileSync(
    join(dir, 'idp.jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: idp.kid, alg: 'EdDSA' }] }),
  );
  gatewayKeys = await readApprovalKeySet((await createApprovalKeyFiles(join(dir, 'keys'), { name: 'gateway' })).jwksFile);
});

/** The worker checks each gateway decision's identity provider's token against the same provider (issue 18). */
function workerIdentity() {
  return {
    keys: JSON.parse(readFileSync(join(dir, 'idp.jwks.json'), 'utf8')) as JSONWebKeySet,
    issuer: IDP,
    audience: AUDIENCE,
  };
}

/** The policy file the gateway reads, rewritten in place as an administrator would edit it. */
function writePolicy(file: string, edit: (p: ApprovalPolicyInput) => void = () => undefined): void {
  writeFileSync(file, JSON.stringify(policy(edit)));
}

async function gatewayOn(policyFile: string): Promise<RunningGateway> {
  return startApprovalGateway(
    {
      host: '127.0.0.1',
      port: 0,
      signingKeyFile: join(dir, 'keys', 'gateway.private.jwk.json'),
      policyFile,
      identity: {
        keys: JSON.parse(readFileSync(join(dir, 'idp.jwks.json'), 'utf8')) as JSONWebKeySet,
        issuer: IDP,
        audience: AUDIENCE,
      },
    },
    { client: h.env.client, logger: false },
  );
}

/** An approver app's bearer token for `userId`, from the identity provider (or signed by someone else's key). */
async function login(userId: string, key: CryptoKey = idp.privateKey): Promise<string> {
  const now = Math.floor((await serverNow(h)).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: idp.kid })
    .setIssuer(IDP)
    .setAudience(AUDIENCE)
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key);
}

async function post(gw: RunningGateway, bearer: string, body: Record<string, unknown>) {
  const res = await fetch(`${gw.url}/approvals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the approval gateway as it runs', () => {
  it('takes a person added to the policy file after it started, and refuses one removed, without a restart', async () => {
    const policyFile = join(dir, `${uniqueId('policy')}.json`);
    writePolicy(policyFile, (p) => (p.users = p.users.filter((u) => u.userId !== 'sue')));
    const gw = await gatewayOn(policyFile);
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { keys: gatewayKeys, identity: workerIdentity() });
    try {
      await running(h, worker, async () => {
        const handle = await startApproval(h, taskQueue, {
          checkpointId: 'je-approval',
          item: { ...JE_75K, amount: '8000.00', ref: 'JE-8K' },
        });
        await opened(handle);
        const decision = { workflowId: handle.workflowId, checkpointId: 'je-approval', decision: 'approved' };
        expect(await post(gw, await login('sue'), decision)).toMatchObject({
          status: 401,
          body: { error: 'unknown_user', message: 'sue is not in the user directory' },
        });

        // sue joins the directory; dora leaves it. The running gateway sees both on the next request.
        writePolicy(policyFile, (p) => (p.users = p.users.filter((u) => u.userId !== 'dora')));
        expect(await post(gw, await login('dora'), decision)).toMatchObject({
          status: 401,
          body: { error: 'unknown_user', message: 'dora is not in the user directory' },
        });
        expect(await post(gw, await login('sue'), decision)).toMatchObject({
          status: 200,
          body: { accepted: true },
        });
        const result = await handle.result();
        expect(result.state).toBe('approved');
        expect(result.decisions.map((d) => [d.approverId, d.signed])).toEqual([['sue', true]]);
      });
    } finally {
      await gw.close();
    }
  });

  it('refuses every caller while the changed policy file does not read, naming the file, and serves again once it is mended', async () => {
    const policyFile = join(dir, `${uniqueId('policy')}.json`);
    writePolicy(policyFile);
    const gw = await gatewayOn(policyFile);
    try {
      const body = { workflowId: 'close:NOWHERE:2026-10', checkpointId: 'je-approval', decision: 'approved' };
      writeFileSync(policyFile, '{"roles": [');
      const broken = await post(gw, await login('sam'), body);
      expect(broken).toMatchObject({ status: 503, body: { error: 'directory_unavailable' } });
      expect(broken.body.message).toContain(policyFile);
      writePolicy(policyFile);
      // Readable again: sam is known, and the request goes on to the (absent) close.
      expect(await post(gw, await login('sam'), body)).toMatchObject({
        status: 404,
        body: { error: 'workflow_not_found' },
      });
    } finally {
      await gw.close();
    }
  });

  it('signs only as the person the identity provider proved: a body naming another approver and a token the provider did not sign are refused, and nothing reaches the checkpoint', async () => {
    const policyFile = join(dir, `${uniqueId('policy')}.json`);
    writePolicy(policyFile);
    const gw = await gatewayOn(policyFile);
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(h, taskQueue, { keys: gatewayKeys, identity: workerIdentity() });
    try {
      await running(h, worker, async () => {
        const handle = await startApproval(h, taskQueue, {
          checkpointId: 'je-approval',
          item: { ...JE_75K, amount: '8000.00', ref: 'JE-8K' },
        });
        await opened(handle);
        const decision = { workflowId: handle.workflowId, checkpointId: 'je-approval', decision: 'approved' };
        // ann (the preparer) cannot have the gateway sign as sam by naming him.
        const named = await post(gw, await login('ann'), { ...decision, approverId: 'sam' });
        expect(named).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
        expect(named.body.message).toContain('approverId');
        // A bearer token for sam that the identity provider did not sign.
        expect(await post(gw, await login('sam', impostor), decision)).toMatchObject({
          status: 401,
          body: { error: 'bad_signature' },
        });
        expect((await opened(handle)).decisions).toEqual([]);
        // The proven caller's own decision counts, under their name.
        expect(await post(gw, await login('sam'), decision)).toMatchObject({ status: 200, body: { accepted: true } });
        const result = await handle.result();
        expect(result.decisions.map((d) => [d.approverId, d.signed])).toEqual([['sam', true]]);
      });
    } finally {
      await gw.close();
    }
  });
});

// Approval evidence files (issue 15): stored content-addressed by SHA-256 where the CLI and the workers both reach
// them, named in the signed decision by that hash, and copied into the close's evidence package (listed in its
// signed manifest) after checking the bytes. Bad files are refused before anything is stored; a package whose
// decisions name a file that cannot be produced is refused, not generated without it.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { generateApprovalKeyPair } from '../../activities/approval/signing';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { parseApprovalPolicy } from '../../domain/approval';
import { seedPolicyInput } from '../unit/approval-fixtures';
import {
  AttachmentError,
  AttachmentStore,
  attachmentHash,
  attachmentStoreFromEnv,
} from '../../activities/approval/attachments';
import { attachEvidence } from '../../client/approval-attachments';
import {
  createCloseEvidenceActivities,
  generateSigningKey,
  listFiles,
  verifyEvidencePackage,
  type CloseEvidenceInput,
} from '../../activities/compliance';
import type { CheckpointStatus } from '../../contracts';

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('a screenshot of the bank portal')]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let work: string;
let store: AttachmentStore;
let shot: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'finflow-attachments-'));
  store = new AttachmentStore(join(work, 'store'), { maxBytes: 1024 });
  shot = join(work, 'bank portal 2026-10.png');
  writeFileSync(shot, PNG);
});

describe('the attachment store', () => {
  it('stores a file once under its SHA-256 and gives the reference a decision signs', async () => {
    const { ref, stored } = await store.put(shot, 'screenshot');
    expect(ref).toEqual({ kind: 'screenshot', ref: `attachment:sha256:${sha(PNG)}`, sha256: sha(PNG) });
    expect(stored).toMatchObject({
      sha256: sha(PNG),
      bytes: PNG.length,
      name: 'bank_portal_2026-10.png',
      contentType: 'image/png',
    });
    expect(stored.path).toBe(join(work, 'store', sha(PNG), `${sha(PNG).slice(0, 12)}-bank_portal_2026-10.png`));
    expect(readFileSync(stored.path).equals(PNG)).toBe(true);
    // The same bytes again: the same place, nothing new.
    expect((await store.put(shot, 'screenshot')).stored.path).toBe(stored.path);
    expect(readdirSync(join(work, 'store', sha(PNG))).sort()).toEqual([
      `${sha(PNG).slice(0, 12)}-bank_portal_2026-10.png`,
      'attachment.json',
    ]);
    expect(await store.locate(ref)).toEqual(stored);
  });

  it('refuses a file over the limit, a type not allowed, content that is not what its name says, an empty file and a bad kind', async () => {
    const write = (name: string, data: Buffer | string) => {
      const p = join(work, name);
      writeFileSync(p, data);
      return p;
    };
    await expect(store.put(write('big.png', Buffer.concat([PNG, Buffer.alloc(2000)])), 'screenshot')).rejects.toThrow(
      /is over the attachment limit of 1024 bytes/,
    );
    await expect(store.put(write('run.exe', 'MZ'), 'screenshot')).rejects.toThrow(
      /files of type \.exe are not allowed as evidence \(allowed: png, jpg, jpeg, pdf, xlsx, csv, txt, eml\)/,
    );
    await expect(store.put(write('fake.pdf', 'hello'), 'statement')).rejects.toThrow(/the content is not a \.pdf file/);
    await expect(store.put(write('empty.txt', ''), 'explanation')).rejects.toThrow(/the file is empty/);
    await expect(store.put(shot, 'Screen Shot')).rejects.toThrow(/must be a lower-case identifier/);
    await expect(store.put(join(work, 'nope.png'), 'screenshot')).rejects.toThrow(/not a readable file/);
    expect(readdirSync(join(work, 'store'))).toEqual([sha(PNG)]);
  });

  it('notices a stored file that was changed, and a reference that is not well formed', async () => {
    const text = join(work, 'note.txt');
    writeFileSync(text, 'the variance is a timing difference');
    const { ref, stored } = await store.put(text, 'explanation');
    writeFileSync(stored.path, 'the variance is nothing');
    await expect(store.locate(ref)).rejects.toThrow(/now has SHA-256 [0-9a-f]{64}: it was changed/);
    await store.remove(ref.sha256!);
    await expect(store.locate(ref)).rejects.toThrow(/is not in/);
    expect(attachmentHash({ kind: 'x', ref: 'store://elsewhere' })).toBeUndefined();
    expect(() => attachmentHash({ kind: 'x', ref: 'attachment:sha256:abc' })).toThrow(AttachmentError);
    expect(() => attachmentHash({ kind: 'x', ref: `attachment:sha256:${sha(PNG)}`, sha256: '0'.repeat(64) })).toThrow(
      /not a well-formed attachment reference/,
    );
  });

  it('is configured by FINFLOW_ATTACHMENTS_DIR and FINFLOW_ATTACHMENT_MAX_BYTES', () => {
    expect(attachmentStoreFromEnv({})).toBeUndefined();
    const s = attachmentStoreFromEnv({ FINFLOW_ATTACHMENTS_DIR: '/srv/att', FINFLOW_ATTACHMENT_MAX_BYTES: '5000' });
    expect(s).toMatchObject({ dir: '/srv/att', maxBytes: 5000 });
    expect(attachmentStoreFromEnv({ FINFLOW_ATTACHMENTS_DIR: '/srv/att' })?.maxBytes).toBe(20 * 1024 * 1024);
    expect(() =>
      attachmentStoreFromEnv({ FINFLOW_ATTACHMENTS_DIR: '/a', FINFLOW_ATTACHMENT_MAX_BYTES: '1MB' }),
    ).toThrow(/FINFLOW_ATTACHMENT_MAX_BYTES must be a whole number of bytes/);
  });
});

describe('attaching files to a decision from the CLI or the library', () => {
  it('stores each kind=path in FINFLOW_ATTACHMENTS_DIR and returns the references the decision signs', async () => {
    const dir = join(work, 'cli-store');
    const refs = await attachEvidence([`screenshot=${shot}`], { FINFLOW_ATTACHMENTS_DIR: dir });
    expect(refs).toEqual([{ kind: 'screenshot', ref: `attachment:sha256:${sha(PNG)}`, sha256: sha(PNG) }]);
    expect(readdirSync(dir)).toEqual([sha(PNG)]);
    expect(await attachEvidence([], {})).toEqual([]);
  });

  it('refuses without an attachment directory, and a spec that is not kind=path', async () => {
    await expect(attachEvidence([`screenshot=${shot}`], {})).rejects.toThrow(/--attach needs FINFLOW_ATTACHMENTS_DIR/);
    await expect(attachEvidence([shot], { FINFLOW_ATTACHMENTS_DIR: join(work, 'x') })).rejects.toThrow(
      /expected kind=path/,
    );
  });
});

describe('approval evidence files in the close evidence package', () => {
  const key = generateSigningKey();
  const approval = (evidence: CheckpointStatus['decisions'][number]['evidence']): CheckpointStatus => ({
    checkpointId: 'recon-review',
    state: 'approved',
    allowedRoles: ['supervisor'],
    escalations: [],
    decisions: [
      {
        at: '2026-11-03T10:15:00.000Z',
        approverId: 'sam',
        role: 'supervisor',
        decision: 'approved',
        signed: true,
        evidence,
      },
    ],
    refusals: [],
    item: { type: 'reconciliation', preparer: 'ann' },
  });
  const input = (approvals: CheckpointStatus[]): CloseEvidenceInput => ({
    closeWorkflowId: 'close:ACME:2026-10',
    company: 'ACME',
    period: '2026-10',
    taskId: 'sox_documentation',
    config: {
      regulation: 'SOX',
      controlId: 'F-R3-GL-15',
      evidence: ['reconciliation_summary', 'approval_evidence'],
      attestations: [{ id: 'chris', role: 'controller', at: '2026-11-04T17:00:00Z', statement: 'attested' }],
    },
    reconciliations: [
      {
        reconId: 'gl-vs-erp',
        status: 'balanced',
        a: { records: 2, amount: '10.00' },
        b: { records: 2, amount: '10.00' },
        keys: { matched: 2, amountMismatch: 0, missingInA: 0, missingInB: 0 },
        difference: '0.00',
      },
    ],
    approvals,
    journal: [],
    asOf: '2026-11-04T17:45:00.000Z',
  });

  it('copies each attached file into the package by the hash its decision signed, and the signed manifest lists it', async () => {
    const { ref } = await store.put(shot, 'screenshot');
    const act = createCloseEvidenceActivities({ signingKey: key, evidenceRoot: join(work, 'pkg'), attachments: store });
    // A reference that is not an attachment stays a reference; the same file named twice is copied once.
    const r = await act.produceCloseEvidence(
      input([approval([ref, { kind: 'bank_statement', ref: 'store://stmt' }, ref])]),
    );
    const file = `attachments/approval_evidence/${sha(PNG).slice(0, 12)}-bank_portal_2026-10.png`;
    expect((await listFiles(r.path)).filter((f) => f.startsWith('attachments/'))).toEqual([file]);
    expect(readFileSync(join(r.path, file)).equals(PNG)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(r.path, 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toContain(sha(PNG));
    expect((await verifyEvidencePackage(r.path, key.publicKey)).ok).toBe(true);
    const evidence = readFileSync(join(r.path, 'evidence.json'), 'utf8');
    expect(evidence).toContain(
      `screenshot attached to checkpoint recon-review, sam's approved (bank_portal_2026-10.png, ${PNG.length} bytes, SHA-256 ${sha(PNG)})`,
    );
  });

  it('refuses the package when a decision names a file the store cannot produce, or the worker has no store', async () => {
    const missing = { kind: 'screenshot', ref: `attachment:sha256:${'a'.repeat(64)}`, sha256: 'a'.repeat(64) };
    const refused = async (deps: { attachments?: AttachmentStore }, dir: string) => {
      const err = await createCloseEvidenceActivities({ signingKey: key, evidenceRoot: join(work, dir), ...deps })
        .produceCloseEvidence(input([approval([missing])]))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(ApplicationFailure);
      return (err as Error).message;
    };
    expect(await refused({ attachments: store }, 'm1')).toMatch(
      /checkpoint recon-review, sam's approved: evidence screenshot: attachment a{64} is not in/,
    );
    expect(await refused({}, 'm2')).toMatch(
      /names attached screenshot a{64}, but this worker has no attachment store \(FINFLOW_ATTACHMENTS_DIR\)/,
    );
  });
});

describe("the approval gateway's POST /attachments", () => {
  it("stores an approver app's file for the caller it proves, and refuses the unauthenticated, the wrong type and the oversize", async () => {
    const idp = await generateKeyPair('EdDSA');
    const idpJwk = { ...(await exportJWK(idp.publicKey)), kid: 'test-idp', alg: 'EdDSA' };
    const now = new Date();
    const gatewayStore = new AttachmentStore(join(work, 'gateway-store'), { maxBytes: 1024 });
    const build = (attachments?: AttachmentStore) =>
      generateApprovalKeyPair().then((signingKey) =>
        buildApprovalGateway({
          // POST /attachments talks to no workflow: the client is never connected.
          client: new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }),
          directory: parseApprovalPolicy(seedPolicyInput(), 'test policy'),
          identity: { keys: { keys: [idpJwk] }, issuer: 'test-idp', audience: 'finflow-approval-gateway' },
          signingKey,
          clock: () => now,
          ...(attachments ? { attachments } : {}),
        }),
      );
    const gateway = await build(gatewayStore);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'test-idp' })
      .setIssuer('test-idp')
      .setAudience('finflow-approval-gateway')
      .setSubject('sam')
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(now.getTime() / 1000) + 600)
      .sign(idp.privateKey);
    const upload = (g: typeof gateway, url: string, payload: Buffer, auth = true) =>
      g.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/octet-stream', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
        payload,
      });
    const ok = await upload(gateway, '/attachments?kind=screenshot&name=portal.png', PNG);
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({
      kind: 'screenshot',
      ref: `attachment:sha256:${sha(PNG)}`,
      sha256: sha(PNG),
      name: 'portal.png',
      bytes: PNG.length,
      contentType: 'image/png',
      by: 'sam',
    });
    expect(readdirSync(join(work, 'gateway-store'))).toEqual([sha(PNG)]);
    expect((await upload(gateway, '/attachments?kind=screenshot&name=portal.png', PNG, false)).statusCode).toBe(401);
    const wrong = await upload(gateway, '/attachments?kind=screenshot&name=portal.pdf', PNG);
    expect([wrong.statusCode, wrong.json().error]).toEqual([400, 'attachment_refused']);
    expect(wrong.json().message).toMatch(/the content is not a \.pdf file/);
    expect((await upload(gateway, '/attachments?kind=screenshot', PNG)).statusCode).toBe(400);
    expect((await upload(gateway, '/attachments?kind=screenshot&name=big.png', Buffer.alloc(2048))).statusCode).toBe(
      413,
    );
    const none = await upload(await build(), '/attachments?kind=screenshot&name=portal.png', PNG);
    expect([none.statusCode, none.json().error]).toEqual([503, 'attachments_unavailable']);
    expect(readdirSync(join(work, 'gateway-store'))).toEqual([sha(PNG)]);
  });
});

// Shredding that reaches the evidence archive, on a real PostgreSQL (data keys, access log, audit ledger) and real
// package files: a reconciliation's exception values are sealed in the package under its data key and shown masked
// as an auditor may see them; an authorised reader opens them; `finflow data shred` makes them unreadable for good,
// the package still verifies, and it records what was shredded, when, why and by whom (signed with their own key).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { addUserKeyToFile, readUserKeyDirectoryFile } from '../../activities/approval/user-keys';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import {
  archivePackage,
  exportSigningKey,
  FileSystemArchiveStore,
  generateEvidencePackage,
  generateSigningKey,
  setLegalHold,
  verifyEvidencePackage,
} from '../../activities/compliance';
import { evidenceViews, openSealedEvidence } from '../../activities/compliance/sealed-evidence';
import { checkShredProof, readShredRecord, SHRED_RECORD_FILE } from '../../activities/compliance/shred-record';
import { PgAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { registerComplianceCommands } from '../../client/commands/compliance';
import { registerSecurityCommands } from '../../client/commands/security';
import type { ReconciliationSummary } from '../../contracts';
import {
  buildEvidenceDocument,
  parseEvidenceDocument,
  parseEvidenceInput,
  type EvidenceInputRaw,
} from '../../domain/compliance/evidence';
import { parseSecurityPolicy } from '../../domain/security/policy';
import { freshDatabase } from '../helpers/postgres';
import { soxScenarioInput } from './compliance-fixture';

const signingKey = generateSigningKey();
// Restricted by default: an auditor sees at most the last four characters; a controller sees it all.
const policy = parseSecurityPolicy({
  roles: ['auditor', 'controller'],
  classifications: { restricted: { encryption: true, masking: 'partial', access: ['controller'] } },
  defaultClassification: 'restricted',
});
let url: string;
let pool: Pool;
let work: string;
let envelope: EnvelopeEncryption;
let accessLog: PgAccessLog;
let ledger: AuditLedger;
let input: EvidenceInputRaw;

beforeAll(async () => {
  url = await freshDatabase('evidence_shred');
  pool = new Pool({ connectionString: url, max: 3 });
  work = mkdtempSync(join(tmpdir(), 'finflow-evidence-shred-'));
  const store = new PgDataKeyStore(pool);
  accessLog = new PgAccessLog(pool);
  await store.ensureSchema();
  await accessLog.ensureSchema();
  envelope = new EnvelopeEncryption({ keys: new KeyRing([generateMasterKey('k1')], 'k1'), store, accessLog });
  ledger = await AuditLedger.open({ pool });
  input = soxScenarioInput({ reconciliations: 2, exceptions: 12 });
});

afterAll(async () => {
  await pool?.end();
});

let n = 0;
/** A package of one close whose bank-vs-gl reconciliation ran under `dataset` (its data key made as extraction makes it). */
async function archivedPackage(dataset: string): Promise<{ archive: FileSystemArchiveStore; dir: string; id: string }> {
  (await envelope.open(dataset, { create: true })).dispose();
  const recons = [
    { reconId: 'gl-vs-erp' },
    { reconId: 'bank-vs-gl', runId: `${dataset}/run-1` },
  ] as unknown as ReconciliationSummary[];
  const views = await evidenceViews({
    policy,
    roles: ['auditor'],
    reconciliations: recons,
    reportsOf: () => [],
    envelope,
  });
  const dir = join(work, `gen-${n}`);
  const archive = new FileSystemArchiveStore(join(work, `archive-${n++}`));
  let id: string;
  try {
    id = (await generateEvidencePackage(input, { dir, signingKey, view: views.view })).packageId;
  } finally {
    views.dispose();
  }
  await archivePackage({ store: archive, ledger }, { dir, packageId: id, regulation: 'SOX', actor: 'finflow' });
  return { archive, dir: archive.location(id), id };
}

async function cli(
  register: (p: Command, out: (l: string) => void, env: NodeJS.ProcessEnv) => void,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ lines: string[]; error?: string }> {
  const lines: string[] = [];
  const program = new Command('finflow').exitOverride().configureOutput({ writeErr: () => undefined });
  register(program, (l) => lines.push(l), env);
  try {
    await program.parseAsync(['node', 'finflow', ...args]);
    return { lines };
  } catch (err) {
    return { lines, error: (err as Error).message };
  }
}

const bankItems = () => input.exceptions.filter((e) => e.reconId === 'bank-vs-gl');

describe('shredding that reaches the evidence archive', () => {
  it('seals the values, lets a reader with the keys open them, and after finflow data shred nobody can, while the package verifies and records who shredded it', async () => {
    const dataset = 'recon:ACME:2026-10:bank-vs-gl';
    const { archive, dir, id } = await archivedPackage(dataset);

    // In the package: the auditor's view (last four at most), never a bank exception's key or amount in clear.
    const evidenceText = readFileSync(join(dir, 'evidence.json'), 'utf8');
    const htmlText = readFileSync(join(dir, 'report.html'), 'utf8');
    const pdfText = execFileSync('pdftotext', ['-layout', join(dir, 'report.pdf'), '-'], { encoding: 'utf8' });
    for (const e of bankItems()) {
      for (const text of [evidenceText, htmlText, pdfText]) {
        expect(text).not.toContain(e.key);
        expect(text).not.toContain(` ${e.amountA ?? e.amountB}`);
      }
      expect(evidenceText).toContain(`"****${e.key.slice(-4)}"`);
    }
    // Both documents say for whom the values are shown and what [sealed] means.
    expect(htmlText).toContain('Exception values are shown as the auditor role may see them');
    expect(pdfText.replace(/\s+/g, ' ')).toContain(`Values marked [sealed] are kept in evidence.json sealed under`);
    const doc = parseEvidenceDocument(JSON.parse(evidenceText));
    expect(doc.schemaVersion).toBe(2);
    const sealedItems = doc.exceptions.items.filter((e) => e.view?.sealed);
    expect(sealedItems).toHaveLength(6);
    expect(sealedItems.every((e) => e.view?.sealed?.dataset === dataset && e.reconId === 'bank-vs-gl')).toBe(true);
    // The controls were judged on the clear values before they were masked.
    expect(doc.controlsValidated).toEqual(buildEvidenceDocument(parseEvidenceInput(input), []).controlsValidated);

    const before = await verifyEvidencePackage(dir, signingKey.publicKey);
    expect(before).toMatchObject({ ok: true, errors: [], sealed: [{ dataset, exceptions: 6 }] });

    // A reader holding the keys opens them, access-logged.
    const out = join(work, 'opened.json');
    const opened = await openSealedEvidence(dir, envelope, {
      out,
      actor: 'ann.auditor',
      purpose: 'SOX walkthrough',
      accessLog,
    });
    expect(opened.opened).toEqual([{ dataset, exceptions: 6 }]);
    const clear = parseEvidenceDocument(JSON.parse(readFileSync(out, 'utf8')));
    for (const e of bankItems()) {
      const got = clear.exceptions.items.find((x) => x.id === e.id)!;
      expect(got).toMatchObject({ key: e.key, amountA: e.amountA, amountB: e.amountB, difference: e.difference });
      expect(got.view).toBeUndefined();
    }

    // The shredder registers their own key, then shreds with it through the command line.
    const userKeys = join(work, 'user-keys.json');
    const privateKey = join(work, 'pat.jwk');
    // Valid from a minute ago: a token's signing time has whole seconds, a key made this second would not yet be valid.
    const validFrom = new Date(Date.now() - 60_000).toISOString();
    await addUserKeyToFile(userKeys, {
      personId: 'pat.privacy',
      addedBy: 'admin',
      privateKeyFile: privateKey,
      validFrom,
    });
    const shred = await cli(
      registerSecurityCommands,
      [
        'data',
        'shred',
        dataset,
        '--reason',
        'erasure request 2026-118',
        '--archive',
        archive.root,
        '--signing-key',
        privateKey,
      ],
      { DATABASE_URL: url, FINFLOW_ACTOR: 'pat.privacy' },
    );
    expect(shred.error).toBeUndefined();
    expect(shred.lines.join('\n')).toContain(
      `evidence ${id}: 6 exception(s) sealed under ${dataset} are now unreadable`,
    );
    expect(shred.lines.join('\n')).toContain('signed by pat.privacy');

    // The manifest and its signature still verify; the shredding is reported as such, not as tampering.
    const after = await verifyEvidencePackage(dir, signingKey.publicKey);
    expect(after.ok).toBe(true);
    expect(after.errors).toEqual([]);
    expect(after.shredded).toEqual([
      expect.objectContaining({ dataset, by: 'pat.privacy', reason: 'erasure request 2026-118', exceptions: 6 }),
    ]);
    const entry = (await readShredRecord(dir))!.entries[0];
    await expect(checkShredProof(entry, await readUserKeyDirectoryFile(userKeys))).resolves.toMatchObject({ ok: true });
    const publicKeyFile = join(work, 'signer.pem');
    writeFileSync(publicKeyFile, exportSigningKey(signingKey).publicKeyPem);
    const verified = await cli(
      registerComplianceCommands,
      ['evidence', 'verify', dir, '--public-key', publicKeyFile, '--user-keys', userKeys],
      {},
    );
    expect(verified.error).toBeUndefined();
    expect(verified.lines[0]).toMatch(/verified/);
    expect(verified.lines.join('\n')).toMatch(
      new RegExp(
        `shredded: 6 exception\\(s\\) of ${dataset} at .* by pat\\.privacy \\(signed with pat\\.privacy's own key .*not tampered`,
      ),
    );

    // Nobody reads them any more; the refusal is access-logged.
    await expect(
      openSealedEvidence(dir, envelope, {
        out: join(work, 'again.json'),
        actor: 'ann.auditor',
        purpose: 'again',
        accessLog,
      }),
    ).rejects.toThrow(/was crypto-shredded/);
    const reads = await accessLog.list({ actor: 'ann.auditor', resource: dataset });
    expect(reads.map((r) => r.outcome).sort()).toEqual(['allowed', 'denied']);
    const ledgered = (await ledger.entries()).filter((e) => e.action === 'evidence.shredded');
    expect(ledgered).toEqual([
      expect.objectContaining({
        actor: 'pat.privacy',
        subject: id,
        payload: expect.objectContaining({ dataset, signed: true }),
      }),
    ]);
  });

  it('refuses to shred a dataset whose values are sealed in evidence under legal hold, and destroys nothing', async () => {
    const dataset = 'recon:ACME:2026-10:bank-vs-gl-held';
    const { archive, dir, id } = await archivedPackage(dataset);
    await setLegalHold({ store: archive }, { packageId: id, on: true, by: 'legal.counsel', reason: 'litigation 42' });
    const shred = await cli(
      registerSecurityCommands,
      ['data', 'shred', dataset, '--reason', 'erasure', '--archive', archive.root],
      { DATABASE_URL: url, FINFLOW_ACTOR: 'pat.privacy' },
    );
    expect(shred.error).toMatch(
      /not shredded: its values are sealed in evidence under legal hold \(SOX_.* by legal\.counsel: litigation 42\)/,
    );
    (await envelope.open(dataset, { create: false })).dispose();
    await expect(readShredRecord(dir)).resolves.toBeUndefined();
  });

  it('reports a shredding record that disagrees with the sealed values, and a token that names someone else', async () => {
    const dataset = 'recon:ACME:2026-10:bank-vs-gl-edited';
    const { archive, dir } = await archivedPackage(dataset);
    const userKeys = join(work, 'user-keys-2.json');
    const privateKey = join(work, 'kim.jwk');
    const validFrom = new Date(Date.now() - 60_000).toISOString();
    await addUserKeyToFile(userKeys, {
      personId: 'kim.clerk',
      addedBy: 'admin',
      privateKeyFile: privateKey,
      validFrom,
    });
    const shred = await cli(
      registerSecurityCommands,
      [
        'data',
        'shred',
        dataset,
        '--reason',
        'erasure',
        '--archive',
        archive.root,
        '--signing-key',
        privateKey,
        '--actor',
        'pat.privacy',
      ],
      { DATABASE_URL: url },
    );
    expect(shred.error).toBeUndefined();
    const record = (await readShredRecord(dir))!;
    // kim's key signing as pat proves nothing.
    await expect(checkShredProof(record.entries[0], await readUserKeyDirectoryFile(userKeys))).resolves.toMatchObject({
      ok: false,
    });
    writeFileSync(
      join(dir, SHRED_RECORD_FILE),
      JSON.stringify({ ...record, entries: [{ ...record.entries[0], exceptions: 1 }] }),
    );
    const r = await verifyEvidencePackage(dir, signingKey.publicKey);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      `${SHRED_RECORD_FILE} records 1 exceptions of dataset ${dataset} shredded, but evidence.json seals 6 under it`,
    ]);
  });
});

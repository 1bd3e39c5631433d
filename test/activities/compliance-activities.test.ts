import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import {
  createComplianceActivities,
  exportSigningKey,
  FileSystemArchiveStore,
  generateEvidencePackage,
  generateSigningKey,
  pdfText,
  signingKeyFromEnv,
  signingKeyFromPem,
  verifyEvidencePackage,
} from '../../activities/compliance';
import { soxScenarioInput } from './compliance-fixture';

const key = generateSigningKey();
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'finflow-compliance-act-'));
});

function exceptionsFile(name: string, lines: string[]): string {
  const path = join(work, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

describe('compliance activities', () => {
  it('generate a package from exceptions handed over as a JSON-lines file, and archive it', async () => {
    const { exceptions, ...rest } = soxScenarioInput({ exceptions: 7 });
    const file = exceptionsFile(
      'ok.jsonl',
      exceptions.map((e) => JSON.stringify(e)),
    );
    const acts = createComplianceActivities({
      signingKey: key,
      evidenceRoot: join(work, 'evidence'),
      archive: { store: new FileSystemArchiveStore(join(work, 'archive')) },
    });
    const r = await acts.generateEvidencePackage({ ...rest, exceptionsFile: file });
    expect(r).toMatchObject({ packageId: 'SOX_F-R3-GL-15_ACME_2026-10', files: 5, written: 5 });
    // One exception is still open (unexplained, above the default materiality of 0): the control is not held.
    expect(r.document).toEqual({
      allControlsHeld: false,
      exceptions: 7,
      openExceptions: 1,
      attestationMissingFrom: [],
    });
    const rec = await acts.archiveEvidencePackage({ packageId: r.packageId, regulation: 'SOX', actor: 'worker' });
    expect(rec.manifestSha256).toBe(r.manifestSha256);
    expect((await verifyEvidencePackage(join(work, 'archive', 'packages', r.packageId), key.publicKey)).ok).toBe(true);
  });

  it('refuse bad input as a non-retryable InvalidEvidenceInput naming the file and line', async () => {
    const { exceptions, ...rest } = soxScenarioInput({ exceptions: 2 });
    const file = exceptionsFile('bad.jsonl', [JSON.stringify(exceptions[0]), '{"id": "EX-2",']);
    const acts = createComplianceActivities({ signingKey: key, evidenceRoot: join(work, 'evidence2') });
    const err = await acts.generateEvidencePackage({ ...rest, exceptionsFile: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InvalidEvidenceInput', nonRetryable: true });
    expect((err as Error).message).toMatch(/bad\.jsonl:2: not a JSON object/);

    await expect(acts.generateEvidencePackage({ ...rest, exceptions, exceptionsFile: file })).rejects.toMatchObject({
      type: 'InvalidEvidenceInput',
      message: 'give exceptions inline or as exceptionsFile, not both',
    });
    await expect(acts.archiveEvidencePackage({ packageId: 'x', regulation: 'SOX', actor: 'w' })).rejects.toMatchObject({
      type: 'ArchiveNotConfigured',
    });
  });
});

describe('signing keys', () => {
  it('load from PEM text or a PEM file in the environment, and refuse both at once or a non-Ed25519 key', () => {
    const pem = exportSigningKey(key).privateKeyPem;
    const file = join(work, 'k.pem');
    writeFileSync(file, pem);
    expect(signingKeyFromEnv({ FINFLOW_SIGNING_KEY: pem })?.keyId).toBe(key.keyId);
    expect(signingKeyFromEnv({ FINFLOW_SIGNING_KEY_FILE: file })?.keyId).toBe(key.keyId);
    expect(signingKeyFromEnv({})).toBeUndefined();
    expect(() => signingKeyFromEnv({ FINFLOW_SIGNING_KEY: pem, FINFLOW_SIGNING_KEY_FILE: file })).toThrow('not both');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(() => signingKeyFromPem(rsa.toString())).toThrow('signing key: an Ed25519 key is required, this is rsa');
    expect(() => signingKeyFromPem('nonsense')).toThrow(/signing key: not a PEM private key/);
  });
});

describe('the PDF report', () => {
  it('writes characters its standard font cannot show as <U+XXXX> instead of wrong glyphs', () => {
    expect(pdfText('Zoë Ünal — 5 €')).toBe('Zoë Ünal — 5 €');
    expect(pdfText('王小明 → ok')).toBe('<U+738B><U+5C0F><U+660E> <U+2192> ok');
    expect(pdfText('\u{1F600}')).toBe('<U+1F600>');
  });
});

describe('package verification', () => {
  it('checks referenced files on request, and reports a missing manifest or signature', async () => {
    const ref = join(work, 'big-report.xlsx');
    writeFileSync(ref, 'pretend this is a very large workbook');
    const input = {
      ...soxScenarioInput({ exceptions: 3 }),
      attachments: [{ kind: 'exception_report', path: ref, mode: 'reference' as const }],
    };
    const dir = join(work, 'ref-pkg');
    await generateEvidencePackage(input, { dir, signingKey: key });
    expect((await verifyEvidencePackage(dir, key.publicKey, { checkReferences: true })).ok).toBe(true);
    appendFileSync(ref, ' changed');
    expect((await verifyEvidencePackage(dir, key.publicKey)).ok).toBe(true);
    expect((await verifyEvidencePackage(dir, key.publicKey, { checkReferences: true })).errors).toEqual([
      `referenced file ${ref} changed since the package was made`,
    ]);

    rmSync(join(dir, 'manifest.json.sig'));
    expect((await verifyEvidencePackage(dir, key.publicKey)).errors).toEqual([
      expect.stringMatching(/^manifest\.json\.sig cannot be read/),
    ]);
    rmSync(join(dir, 'manifest.json'));
    expect(await verifyEvidencePackage(dir, key.publicKey)).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^manifest\.json cannot be read/)],
    });
  });
});

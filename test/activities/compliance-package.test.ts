import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  exportSigningKey,
  generateEvidencePackage,
  generateSigningKey,
  listFiles,
  MANIFEST_FILE,
  ManifestSchema,
  PDF_MAX_EXCEPTION_ROWS,
  pdfExceptionSelection,
  SIGNATURE_FILE,
  verifyEvidencePackage,
} from '../../activities/compliance';
import { parseEvidenceDocument, type EvidenceInputRaw } from '../../domain/compliance/evidence';
import { soxScenarioInput, writeHistoryFiles, writeXlsxReports } from './compliance-fixture';

const root = resolve(__dirname, '../..');
const key = generateSigningKey();
let work: string;
let input: EvidenceInputRaw;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'finflow-evidence-'));
  const base = soxScenarioInput({ reconciliations: 2, exceptions: 12 });
  const xlsx = await writeXlsxReports(work, base);
  const history = writeHistoryFiles(work);
  input = {
    ...base,
    attachments: [
      { kind: 'reconciliation_summary', path: xlsx.summary, description: 'reconciliation summary report' },
      { kind: 'exception_report', path: xlsx.exceptions, description: 'exceptions report' },
      { kind: 'workflow_history', path: history.jsonl },
      { kind: 'workflow_history', path: history.html },
    ],
  };
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
let n = 0;
const freshDir = () => join(work, `pkg-${n++}`);

describe('the SOX evidence package for control F-R3-GL-15', () => {
  it('holds every required element, and its signed manifest verifies', async () => {
    const dir = freshDir();
    const result = await generateEvidencePackage(input, { dir, signingKey: key });
    expect(result.packageId).toBe('SOX_F-R3-GL-15_ACME_2026-10');

    expect(await listFiles(dir)).toEqual([
      'attachments/exception_report/exceptions.xlsx',
      'attachments/reconciliation_summary/reconciliation-summary.xlsx',
      'attachments/workflow_history/history.html',
      'attachments/workflow_history/history.jsonl',
      'evidence.json',
      MANIFEST_FILE,
      SIGNATURE_FILE,
      'report.html',
      'report.pdf',
    ]);

    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')));
    expect(doc.schemaVersion).toBe(1);
    expect(doc.control).toMatchObject({
      regulation: 'SOX',
      controlId: 'F-R3-GL-15',
      attestationRequiredFrom: ['controller'],
    });
    expect(doc.control.description).toContain('general ledger');
    expect(doc.preparedBy).toEqual({ id: 'alex.accountant', role: 'accountant', at: '2026-11-02T16:00:00Z' });
    expect(doc.reviewedBy).toEqual({ id: 'sam.supervisor', role: 'supervisor', at: '2026-11-03T10:15:00Z' });
    // Population and counts, computed from the reconciliations given.
    const recons = input.reconciliations;
    expect(doc.population.totals.reconciliations).toBe(2);
    expect(doc.population.totals.recordsA).toBe(recons[0].a.records + recons[1].a.records);
    expect(doc.population.totals.amountA).toBe('2500002.00');
    expect(doc.population.totals.exceptionKeys).toBe(12);
    // Each exception and how it was resolved; 12 exceptions with every 5th open.
    expect(doc.exceptions.count).toBe(12);
    expect(doc.exceptions.open).toBe(2);
    expect(doc.exceptions.byCategory).toEqual({ amount_mismatch: 4, missing_in_a: 4, missing_in_b: 4 });
    expect(doc.exceptions.byResolution).toEqual({ adjusted: 3, open: 2, resolved: 7 });
    expect(doc.exceptions.items[0].resolution).toMatchObject({
      status: 'adjusted',
      by: 'alex.accountant',
      reference: 'JE-2026-10-00000',
    });
    // The controls validated, plus the package's own cross-check of exceptions against the counts.
    expect(Object.entries(doc.controlsValidated).map(([k, v]) => [k, v.held])).toEqual([
      ['controlTotalsBalanced', true],
      ['segregationOfDuties', true],
      ['approvalsWithinLimits', true],
      ['exceptionsAccountedFor', true],
      ['attestationGiven', true],
      ['exceptionsExplained', false],
    ]);
    // Two of the twelve are still open (nobody explained them): the control is not held, and the package says why.
    expect(doc.controlsValidated.exceptionsExplained?.detail).toMatch(
      /^2 unexplained exception\(s\) above materiality 0, totalling \d+\.\d{2} \(EX-000005, EX-000010\)$/,
    );
    expect(doc.allControlsHeld).toBe(false);
    expect(doc.approvals.decisions[0]).toMatchObject({ approverId: 'sam.supervisor', decision: 'approved' });
    expect(doc.approvals.refusals[0].reason).toContain('preparer may not approve');
    expect(doc.attestation).toMatchObject({ requiredFrom: ['controller'], missingFrom: [] });
    expect(doc.attestation.text).toBe(input.control.attestationText);
    expect(doc.evidence.map((e) => e.kind)).toEqual(input.control.evidence);
    expect(doc.evidence.find((e) => e.kind === 'reconciliation_summary')?.satisfiedBy).toContain(
      'attachments/reconciliation_summary/reconciliation-summary.xlsx',
    );
    // Attachments are byte-identical copies of the inputs.
    for (const a of input.attachments ?? []) {
      const rec = doc.attachments.find((x) => x.file?.endsWith(a.path.split('/').pop() as string));
      expect(rec?.sha256).toBe(sha(a.path));
      expect(sha(join(dir, rec?.file as string))).toBe(sha(a.path));
    }

    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const fact of [
      'F-R3-GL-15',
      'alex.accountant',
      'sam.supervisor',
      'chris.controller',
      'EX-000012',
      'Segregation of duties held',
    ])
      expect(html).toContain(fact);
    const pdf = readFileSync(join(dir, 'report.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(3000);

    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')));
    expect(manifest.files.map((f) => f.path)).toEqual(
      (await listFiles(dir)).filter((f) => f !== MANIFEST_FILE && f !== SIGNATURE_FILE),
    );
    for (const f of manifest.files) expect(f.sha256).toBe(sha(join(dir, f.path)));

    const verified = await verifyEvidencePackage(dir, key.publicKey);
    expect(verified).toMatchObject({ ok: true, errors: [], filesChecked: manifest.files.length });
  });

  it('fails verification when any file is changed, added or removed, or the key is not the signer', async () => {
    const dir = freshDir();
    await generateEvidencePackage(input, { dir, signingKey: key });
    appendFileSync(join(dir, 'attachments/exception_report/exceptions.xlsx'), 'x');
    writeFileSync(join(dir, 'extra.txt'), 'planted');
    let v = await verifyEvidencePackage(dir, key.publicKey);
    expect(v.ok).toBe(false);
    expect(v.errors).toEqual([
      expect.stringMatching(/^attachments\/exception_report\/exceptions\.xlsx: content changed/),
      'extra.txt: present in the package but not listed in the manifest',
    ]);

    const other = generateSigningKey();
    const dir2 = freshDir();
    await generateEvidencePackage(input, { dir: dir2, signingKey: key });
    v = await verifyEvidencePackage(dir2, other.publicKey);
    expect(v.ok).toBe(false);
    expect(v.errors[0]).toContain('signature does not verify');

    // Editing the manifest to match a tampered file breaks the signature instead.
    const evidence = join(dir2, 'evidence.json');
    const doc = JSON.parse(readFileSync(evidence, 'utf8'));
    doc.exceptions.open = 0;
    writeFileSync(evidence, JSON.stringify(doc, null, 2));
    const m = JSON.parse(readFileSync(join(dir2, MANIFEST_FILE), 'utf8'));
    const entry = m.files.find((f: { path: string }) => f.path === 'evidence.json');
    entry.sha256 = sha(evidence);
    entry.bytes = readFileSync(evidence).length;
    writeFileSync(join(dir2, MANIFEST_FILE), `${JSON.stringify(m, null, 2)}\n`);
    v = await verifyEvidencePackage(dir2, key.publicKey);
    expect(v.ok).toBe(false);
    expect(v.errors).toEqual([expect.stringContaining('signature does not verify')]);
  });

  it('is idempotent: a second run rewrites nothing and yields the same manifest', async () => {
    const dir = freshDir();
    const first = await generateEvidencePackage(input, { dir, signingKey: key });
    expect(first.written).toBe(first.files.length);
    const second = await generateEvidencePackage(input, { dir, signingKey: key });
    expect(second.written).toBe(0);
    expect(second.manifestSha256).toBe(first.manifestSha256);
  });

  it('resumes after the generator is killed mid-way and produces the same manifest as an uninterrupted run', async () => {
    const reference = freshDir();
    await generateEvidencePackage(input, { dir: reference, signingKey: key });

    const inputPath = join(work, 'input.json');
    const keyPath = join(work, 'key.pem');
    writeFileSync(inputPath, JSON.stringify(input));
    writeFileSync(keyPath, exportSigningKey(key).privateKeyPem);
    const dir = freshDir();
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', join(__dirname, 'compliance-generate-child.ts'), inputPath, keyPath, dir],
      { cwd: root, env: { ...process.env, PAUSE_AFTER: 'evidence.json' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exit = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('paused\n')) {
          child.kill('SIGKILL');
          res();
        }
      });
      child.on('exit', () => rej(new Error(`child ended before pausing: ${out}${err}`)));
    });
    expect(await exit).toBe('SIGKILL');
    expect(out).not.toContain('done');
    expect(existsSync(join(dir, 'evidence.json'))).toBe(true);
    expect(existsSync(join(dir, 'report.pdf'))).toBe(false);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);
    // What a kill during a write leaves behind: a torn temporary file.
    writeFileSync(join(dir, '.finflow-tmp-99999-report.html'), '<!doctype html><html><bo');

    const resumed = await generateEvidencePackage(input, { dir, signingKey: key });
    const skipped = resumed.files.filter((f) => !f.written).map((f) => f.path);
    expect(skipped).toEqual([
      'attachments/reconciliation_summary/reconciliation-summary.xlsx',
      'attachments/exception_report/exceptions.xlsx',
      'attachments/workflow_history/history.jsonl',
      'attachments/workflow_history/history.html',
      'evidence.json',
    ]);
    expect(readFileSync(join(dir, MANIFEST_FILE))).toEqual(readFileSync(join(reference, MANIFEST_FILE)));
    expect(readFileSync(join(dir, SIGNATURE_FILE))).toEqual(readFileSync(join(reference, SIGNATURE_FILE)));
    expect(await listFiles(dir)).toEqual(await listFiles(reference));
    expect((await verifyEvidencePackage(dir, key.publicKey)).ok).toBe(true);
  }, 60_000);

  it('rewrites a file whose content no longer matches instead of skipping it', async () => {
    const dir = freshDir();
    const first = await generateEvidencePackage(input, { dir, signingKey: key });
    writeFileSync(join(dir, 'report.html'), 'truncated');
    const again = await generateEvidencePackage(input, { dir, signingKey: key });
    expect(again.files.filter((f) => f.written).map((f) => f.path)).toEqual(['report.html']);
    expect(again.manifestSha256).toBe(first.manifestSha256);
  });

  it('lists open exceptions first in the PDF and says how many more are in evidence.json', async () => {
    const big = soxScenarioInput({ reconciliations: 3, exceptions: PDF_MAX_EXCEPTION_ROWS + 200 });
    const dir = freshDir();
    const r = await generateEvidencePackage(big, { dir, signingKey: key });
    expect(r.document.exceptions).toBe(PDF_MAX_EXCEPTION_ROWS + 200);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.match(/<tr><td>EX-/g)?.length).toBe(PDF_MAX_EXCEPTION_ROWS + 200);
    const doc = parseEvidenceDocument(JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')));
    const sel = pdfExceptionSelection(doc);
    expect(sel.shown).toHaveLength(PDF_MAX_EXCEPTION_ROWS);
    const open = doc.exceptions.open;
    expect(open).toBeGreaterThan(0);
    expect(sel.shown.slice(0, open).every((e) => e.resolution.status === 'open')).toBe(true);
    expect(sel.shown[open].resolution.status).not.toBe('open');
    expect(sel.note).toContain(
      `lists ${PDF_MAX_EXCEPTION_ROWS} of ${PDF_MAX_EXCEPTION_ROWS + 200} exceptions, open ones first`,
    );
    expect(
      pdfExceptionSelection({ ...doc, exceptions: { ...doc.exceptions, items: doc.exceptions.items.slice(0, 5) } })
        .note,
    ).toBeUndefined();
    expect((await verifyEvidencePackage(dir, key.publicKey)).ok).toBe(true);
  });

  it('refuses to generate into a directory holding files that are not part of the package', async () => {
    const dir = freshDir();
    await generateEvidencePackage(input, { dir, signingKey: key });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(generateEvidencePackage(input, { dir, signingKey: key })).rejects.toThrow(
      /holds files that are not part of package SOX_F-R3-GL-15_ACME_2026-10 \(notes\.txt\)/,
    );
  });

  it('refuses an attachment that does not exist, naming it', async () => {
    await expect(
      generateEvidencePackage(
        { ...input, attachments: [{ kind: 'exception_report', path: join(work, 'nope.xlsx') }] },
        { dir: freshDir(), signingKey: key },
      ),
    ).rejects.toThrow(/attachments\[0\] \(exception_report\): .*nope\.xlsx is not a readable file/);
  });
});

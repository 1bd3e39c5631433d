// The evidence documents as a reviewer reads them: the PDF's own text (pdftotext, poppler) holds every exception
// id and key whole, each page carries "Page X of Y", the package id and evidence.json's hash, page 1 holds the
// control, the conclusion, the attestation and the sign-offs, and the exceptions come grouped with subtotals that
// add up. The HTML carries the same groups and figures.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEvidencePackage, generateSigningKey } from '../../activities/compliance';
import { conclusionFacts, exceptionGroups, signOffs, subtotal } from '../../activities/compliance/evidence-view';
import { buildEvidenceDocument, parseEvidenceInput, type EvidenceInputRaw } from '../../domain/compliance/evidence';
import { Dec } from '../../domain/money';
import { soxScenarioInput } from './compliance-fixture';

/** Ids and keys shaped like a real close's (`<recon>:<item>`), long enough that the old layout cut them. */
function realisticInput(exceptions = 40): EvidenceInputRaw {
  const base = soxScenarioInput({ reconciliations: 2, exceptions });
  base.exceptions = base.exceptions.map((e, i) => ({
    ...e,
    id: `${e.reconId}:${e.category}:INV-2026-10-${String(i).padStart(6, '0')}`,
    key: `ACME-DE/${e.key}/EUR`,
    resolution:
      e.resolution.status === 'open'
        ? e.resolution
        : {
            ...e.resolution,
            by: 'alexandra.van-der-berg@acme.example',
            note: `${e.resolution.note}; checked against the remittance advice of the customer, see ticket FIN-${4000 + i}`,
          },
  }));
  return base;
}

const pdftotext = (pdf: string, page?: number) =>
  execFileSync('pdftotext', [...(page ? ['-f', String(page), '-l', String(page)] : []), pdf, '-'], {
    encoding: 'utf8',
  });

describe('the evidence PDF read back with pdftotext', () => {
  let dir: string;
  let input: EvidenceInputRaw;
  let evidenceSha: string;
  let pages: number;

  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'finflow-evidence-render-')), 'pkg');
    input = realisticInput();
    const result = await generateEvidencePackage(input, { dir, signingKey: generateSigningKey() });
    evidenceSha = result.files.find((f) => f.path === 'evidence.json')!.sha256;
    pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [join(dir, 'report.pdf')], { encoding: 'utf8' }))![1]);
  });

  it('holds every exception id and key whole, and every resolver, with nothing ended in "..."', () => {
    const text = pdftotext(join(dir, 'report.pdf'));
    for (const e of input.exceptions) {
      expect(text).toContain(e.id);
      expect(text).toContain(e.key);
    }
    expect(text).toContain('alexandra.van-der-berg@acme.example');
    expect(text).not.toContain('...');
    expect(text).not.toContain('\u2026');
  });

  it('shows both sides amounts and the difference of each exception', () => {
    const text = pdftotext(join(dir, 'report.pdf'));
    const mismatch = input.exceptions.find((e) => e.category === 'amount_mismatch')!;
    // pdftotext may put cells on their own lines; the amounts follow the id within the same row block.
    const after = text.slice(text.indexOf(mismatch.id), text.indexOf(mismatch.id) + 400);
    expect(after).toContain(mismatch.amountA!);
    expect(after).toContain(mismatch.amountB!);
    expect(after).toContain(mismatch.difference);
  });

  it('puts "Page X of Y", the package id and evidence.json\'s SHA-256 on every page', () => {
    expect(pages).toBeGreaterThan(1);
    for (let p = 1; p <= pages; p++) {
      const text = pdftotext(join(dir, 'report.pdf'), p);
      expect(text).toContain(`Page ${p} of ${pages}`);
      expect(text).toContain('Package SOX_F-R3-GL-15_ACME_2026-10');
      expect(text).toContain(`evidence.json SHA-256 ${evidenceSha}`);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      files: { path: string; sha256: string }[];
    };
    expect(manifest.files.find((f) => f.path === 'evidence.json')!.sha256).toBe(evidenceSha);
  });

  it('gives page 1 to the control, the conclusion, the attestation and the sign-offs, and the exceptions later', () => {
    const first = pdftotext(join(dir, 'report.pdf'), 1);
    // The conclusion as the document states it (its rules are the domain's; the page shows what it says).
    const doc = JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8'));
    expect(first.replace(/\s+/g, ' ')).toContain(conclusionFacts(doc).headline);
    for (const s of [
      'SOX control F-R3-GL-15',
      'Conclusion',
      'Attestation',
      'Sign-offs',
      'sam.supervisor',
      'chris.controller',
      'alex.accountant',
    ])
      expect(first).toContain(s);
    expect(first).not.toContain('Exceptions and their resolution');
    expect(pdftotext(join(dir, 'report.pdf'), 2)).toContain('Population');
  });

  it('groups the exceptions by reconciliation and category, each group with its subtotal line', () => {
    const text = pdftotext(join(dir, 'report.pdf'));
    const doc = JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8'));
    const groups = exceptionGroups(doc);
    expect(groups).toHaveLength(6);
    let at = text.indexOf('Exceptions and their resolution');
    for (const g of groups) {
      const head = `${g.reconId} (${g.reconName}) / ${g.category}: ${g.subtotal.count} exceptions, ${g.subtotal.open} open`;
      const found = text.indexOf(head, at);
      expect(found).toBeGreaterThan(at);
      at = found;
      expect(text.slice(found)).toContain(g.subtotal.difference!);
    }
  });
});

describe('the exception groups both documents lay out', () => {
  const doc = () => buildEvidenceDocument(parseEvidenceInput(realisticInput(30)), []);

  it('puts every exception in exactly one group, reconciliations in population order, categories sorted', () => {
    const d = doc();
    const groups = exceptionGroups(d);
    const ids = groups.flatMap((g) => g.items.map((e) => e.id)).sort();
    expect(ids).toEqual(d.exceptions.items.map((e) => e.id).sort());
    expect(groups.map((g) => `${g.reconId}/${g.category}`)).toEqual([
      'gl-vs-erp/amount_mismatch',
      'gl-vs-erp/missing_in_a',
      'gl-vs-erp/missing_in_b',
      'bank-vs-gl/amount_mismatch',
      'bank-vs-gl/missing_in_a',
      'bank-vs-gl/missing_in_b',
    ]);
    for (const g of groups) {
      const firstClosed = g.items.findIndex((e) => e.resolution.status !== 'open');
      if (firstClosed >= 0) expect(g.items.slice(firstClosed).every((e) => e.resolution.status !== 'open')).toBe(true);
    }
  });

  it('sums both sides and the difference exactly, a missing side adding nothing, and the groups add up to the whole', () => {
    const d = doc();
    const groups = exceptionGroups(d);
    let all = new Dec(0);
    for (const g of groups) {
      const sum = (f: (e: (typeof g.items)[number]) => string | null) =>
        g.items.reduce((s, e) => (f(e) === null ? s : s.plus(f(e)!)), new Dec(0)).toFixed(2);
      expect(g.subtotal.amountA).toBe(sum((e) => e.amountA));
      expect(g.subtotal.amountB).toBe(sum((e) => e.amountB));
      expect(g.subtotal.difference).toBe(sum((e) => e.difference));
      all = all.plus(g.subtotal.difference!);
    }
    expect(all.toFixed(2)).toBe(d.exceptions.items.reduce((s, e) => s.plus(e.difference), new Dec(0)).toFixed(2));
    expect(
      subtotal([
        { ...d.exceptions.items[0], amountA: '0.1', amountB: null, difference: '0.10' },
        { ...d.exceptions.items[0], amountA: '0.2', amountB: '1', difference: '-0.8' },
      ]),
    ).toMatchObject({ count: 2, amountA: '0.30', amountB: '1.00', difference: '-0.70' });
  });

  it('gives no subtotal of amounts for a reconciliation that mixes currencies', () => {
    const raw = realisticInput(6);
    raw.reconciliations[0] = {
      ...raw.reconciliations[0],
      a: { ...raw.reconciliations[0].a, amount: 'multi-currency' },
    };
    const groups = exceptionGroups(buildEvidenceDocument(parseEvidenceInput(raw), []));
    expect(groups.filter((g) => g.reconId === 'gl-vs-erp').every((g) => g.subtotal.difference === null)).toBe(true);
    expect(groups.filter((g) => g.reconId === 'bank-vs-gl').every((g) => g.subtotal.difference !== null)).toBe(true);
  });

  it('lists every sign-off, and a missing review or attestation as missing', () => {
    const raw = realisticInput(3);
    const full = signOffs(buildEvidenceDocument(parseEvidenceInput(raw), []));
    expect(full.map((s) => `${s.step}:${s.who}`)).toEqual([
      'Prepared:alex.accountant',
      'Reviewed:sam.supervisor',
      'Approval recon-review:sam.supervisor',
      'Attestation:chris.controller',
    ]);
    const bare = signOffs(
      buildEvidenceDocument(parseEvidenceInput({ ...raw, reviewedBy: undefined, attestations: [] }), []),
    );
    expect(bare.map((s) => `${s.step}:${s.who}`)).toEqual([
      'Prepared:alex.accountant',
      'Reviewed:NOT REVIEWED',
      'Approval recon-review:sam.supervisor',
      'Attestation:MISSING',
    ]);
  });
});

describe('the evidence HTML', () => {
  it('carries the same groups, subtotals, whole ids and keys, and the package stamp as the PDF', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'finflow-evidence-html-')), 'pkg');
    const input = realisticInput(12);
    const result = await generateEvidencePackage(input, { dir, signingKey: generateSigningKey() });
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const e of input.exceptions) {
      expect(html).toContain(`<tr><td>${e.id}</td><td>${e.key}</td>`);
    }
    const doc = JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8'));
    for (const g of exceptionGroups(doc)) {
      expect(html).toContain(`${g.category}: ${g.subtotal.count} exceptions, ${g.subtotal.open} open</th>`);
      expect(html).toContain(`<td class="num">${g.subtotal.difference}</td><td>${g.subtotal.open} open</td>`);
    }
    const sha = result.files.find((f) => f.path === 'evidence.json')!.sha256;
    expect(html.match(new RegExp(`evidence.json SHA-256 <span class="mono">${sha}</span>`, 'g'))).toHaveLength(2);
    expect(html.indexOf('<h2>Sign-offs</h2>')).toBeLessThan(html.indexOf('Population'));
  });
});

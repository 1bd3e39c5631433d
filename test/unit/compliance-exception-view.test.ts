// What an evidence package shows of an exception, per the security policy, for its reader role; and what it seals.
import {
  applyExceptionViews,
  SEALED_MARK,
  sealContext,
  unsealedException,
  viewException,
  VIEWED_SCHEMA_VERSION,
  WITHHELD_MARK,
} from '../../domain/compliance/exception-view';
import {
  DocumentExceptionSchema,
  parseEvidenceDocument,
  type DocumentException,
} from '../../domain/compliance/evidence';
import { FULL_MASK } from '../../domain/security/masking';
import { parseSecurityPolicy } from '../../domain/security/policy';

const IBAN = 'DE89370400440532013000';
const policy = parseSecurityPolicy({
  roles: ['auditor', 'controller', 'director'],
  classifications: {
    internal: { encryption: true, masking: 'full', access: ['auditor', 'controller'] },
    confidential: { encryption: true, masking: 'none', access: ['controller'] },
    restricted: { encryption: true, masking: 'partial', access: ['director'] },
  },
  defaultClassification: 'internal',
});

const item = (over: Partial<DocumentException> = {}): DocumentException => ({
  id: 'bank:BANK:7',
  reconId: 'bank',
  key: 'ACCT-0042-9917',
  category: 'amount_mismatch',
  amountA: '1250.00',
  amountB: '1249.99',
  difference: '0.01',
  resolution: {
    status: 'resolved',
    by: 'ann.accountant',
    at: '2026-11-02T15:30:00Z',
    note: `rounding; paid from ${IBAN}`,
    reference: 'JE-7',
  },
  ...over,
});

const fakeSeal = (clear: string, context: string) => `ffe1:${Buffer.from(`${context}|${clear}`).toString('base64')}`;

describe('an exception as the evidence package shows it', () => {
  it('shows a restricted reconciliation to an auditor masked: the last four of the key and amounts, notes masked whole', () => {
    const v = viewException(item(), 'PKG', policy, ['auditor'], { level: 'restricted' });
    expect(v).toMatchObject({
      key: '****9917',
      // At most four characters, and never more than half of the value.
      amountA: '****.00',
      amountB: '****.99',
      difference: '****01',
      resolution: { note: FULL_MASK, reference: FULL_MASK, by: 'ann.accountant', status: 'resolved' },
      view: { roles: ['auditor'], level: 'restricted', withheld: [] },
    });
    expect(v.view?.masked).toEqual([
      'key',
      'amountA',
      'amountB',
      'difference',
      'resolution.note',
      'resolution.reference',
    ]);
    expect(v.view?.sealed).toBeUndefined();
    expect(JSON.stringify(v)).not.toContain(IBAN);
  });

  it('gives each side its own level and withholds what has no masked form', () => {
    const v = viewException(item(), 'PKG', policy, ['auditor'], {
      level: 'confidential',
      sides: { a: 'internal', b: 'confidential' },
    });
    expect(v).toMatchObject({
      key: WITHHELD_MARK,
      amountA: '1250.00',
      amountB: WITHHELD_MARK,
      difference: WITHHELD_MARK,
    });
    expect(v.view?.withheld).toEqual(['key', 'amountB', 'difference', 'resolution.note', 'resolution.reference']);
  });

  it('leaves an item whose values the role may see in clear as it is, masking only account numbers in its notes', () => {
    const plain = item({ resolution: { ...item().resolution, note: 'timing difference' } });
    expect(viewException(plain, 'PKG', policy, ['auditor'], { level: 'internal' })).toBe(plain);
    const quoted = viewException(item(), 'PKG', policy, ['auditor'], { level: 'internal' });
    expect(quoted.resolution.note).toBe('rounding; paid from ****3000');
    expect(quoted.view?.masked).toEqual(['resolution.note']);
    // A role cleared for restricted data reads the note as written.
    const cleared = viewException(item(), 'PKG', policy, ['director', 'controller'], { level: 'internal' });
    expect(cleared).toEqual(item());
  });

  it('seals a keyed reconciliation: nothing the role would read in clear stays readable, the values travel sealed', () => {
    const seal = { dataset: 'recon:ACME:2026-10:bank', seal: fakeSeal };
    const v = viewException(item(), 'PKG', policy, ['auditor'], { level: 'internal', seal });
    expect(v).toMatchObject({ key: SEALED_MARK, amountA: SEALED_MARK, amountB: SEALED_MARK, difference: SEALED_MARK });
    expect(v.resolution).toMatchObject({ note: SEALED_MARK, reference: SEALED_MARK, by: 'ann.accountant' });
    expect(v.view?.sealed?.dataset).toBe('recon:ACME:2026-10:bank');
    const opened = Buffer.from(v.view!.sealed!.value.slice(5), 'base64').toString();
    expect(opened.startsWith(`${sealContext('PKG', 'bank:BANK:7')}|`)).toBe(true);
    const back = unsealedException(v, opened.slice(opened.indexOf('|{') + 1));
    expect(back).toEqual(item());
    // Public data needs no seal, and a null amount stays null.
    const pub = viewException(item({ amountB: null }), 'PKG', policy, ['auditor'], { level: 'public', seal });
    expect(pub).toMatchObject({ key: 'ACCT-0042-9917', amountB: null, view: { sealed: expect.anything() } });
  });

  it('writes a document with viewed items as version 2, which reads back; one with none stays as it was', () => {
    const doc = {
      packageId: 'PKG',
      schemaVersion: 1,
      exceptions: {
        items: [item(), item({ id: 'gl:GL:1', reconId: 'gl', resolution: { ...item().resolution, note: null } })],
      },
    };
    const viewed = applyExceptionViews(doc, policy, ['auditor'], { bank: { level: 'restricted' } });
    expect(viewed.schemaVersion).toBe(VIEWED_SCHEMA_VERSION);
    expect(viewed.exceptions.items[0].key).toBe('****9917');
    // gl is at the policy's default (internal, in clear for an auditor): unchanged.
    expect(viewed.exceptions.items[1]).toBe(doc.exceptions.items[1]);
    expect(applyExceptionViews(doc, policy, ['controller', 'director'], {})).toBe(doc);
  });

  it('refuses a document whose unviewed exception holds a non-decimal amount', () => {
    const r = DocumentExceptionSchema.safeParse({ ...item(), amountA: '****.00' });
    expect(r.success ? '' : r.error.issues[0].message).toBe('an exception shown in clear has decimal amounts');
    const viewed = viewException(item(), 'PKG', policy, ['auditor'], { level: 'restricted' });
    expect(DocumentExceptionSchema.parse(viewed)).toEqual(viewed);
    expect(() => parseEvidenceDocument({ schemaVersion: 3 })).toThrow(
      /schemaVersion 3 is not one this finflow reads \(1, 2\)/,
    );
  });
});

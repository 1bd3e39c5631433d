import {
  strictestClassification,
  DEFAULT_CLASSIFICATIONS,
  classifyFieldName,
  fieldNamesAtLeast,
  fieldsToEncrypt,
  hasAccess,
  normalizeFieldName,
  parseSecurityPolicy,
  resolveClassification,
} from '../../domain/security/policy';
import { seedPolicy, seedPolicyInput } from './security-fixture';

describe('the security policy', () => {
  it('resolves a field by its own rule before its source rule before the policy default', () => {
    const policy = parseSecurityPolicy({
      sources: { bank: 'restricted', gl_balances: 'internal' },
      fields: { 'bank.bank_name': 'public', 'gl_balances.balance': 'confidential' },
      defaultClassification: 'public',
    });
    expect(resolveClassification(policy, 'bank', 'bank_name')).toMatchObject({ level: 'public', via: 'field' });
    expect(resolveClassification(policy, 'bank', 'account_number')).toMatchObject({
      level: 'restricted',
      via: 'source',
    });
    expect(resolveClassification(policy, 'gl_balances', 'balance')).toMatchObject({
      level: 'confidential',
      via: 'field',
    });
    expect(resolveClassification(policy, 'erp', 'amt')).toMatchObject({ level: 'public', via: 'default' });
  });

  it('classifies the seed example: balances internal, vendor info confidential, banking details restricted', () => {
    const policy = seedPolicy();
    expect(resolveClassification(policy, 'gl_balances', 'balance').level).toBe('internal');
    expect(resolveClassification(policy, 'vendors', 'vendor_name').level).toBe('confidential');
    expect(resolveClassification(policy, 'bank', 'account_number').level).toBe('restricted');
    expect(resolveClassification(policy, 'bank', 'account_number').rule).toEqual({
      encryption: true,
      masking: 'partial',
      access: ['director'],
    });
  });

  it('fills classifications it does not set with fail-safe defaults', () => {
    const policy = parseSecurityPolicy({});
    expect(policy.classifications).toEqual(DEFAULT_CLASSIFICATIONS);
    expect(policy.defaultClassification).toBe('internal');
    expect(policy.classifications.restricted.access).toEqual([]);
    expect(policy.classifications.confidential.access).toEqual([]);
  });

  it('refuses an access list naming a role the policy does not know, naming the path', () => {
    const input = structuredClone(seedPolicyInput);
    input.classifications!.restricted!.access = ['director', 'supervsor'];
    expect(() => parseSecurityPolicy(input, 'close.yaml security')).toThrow(
      /invalid close\.yaml security:\n {2}classifications\.restricted\.access\.1: unknown role "supervsor"/,
    );
  });

  it('refuses malformed field selectors, unknown levels and unknown keys', () => {
    expect(() => parseSecurityPolicy({ fields: { account_number: 'restricted' } })).toThrow(/fields\.account_number/);
    expect(() => parseSecurityPolicy({ sources: { bank: 'secret' } })).toThrow(/sources\.bank/);
    expect(() => parseSecurityPolicy({ classification: {} })).toThrow(/classification/);
    expect(() =>
      parseSecurityPolicy({ classifications: { restricted: { encryption: true, masking: 'half', access: [] } } }),
    ).toThrow(/classifications\.restricted\.masking/);
  });

  it('grants access to listed roles and to everyone only through "*"', () => {
    const rule = seedPolicy().classifications.restricted;
    expect(hasAccess(rule, ['director'])).toBe(true);
    expect(hasAccess(rule, ['accountant', 'director'])).toBe(true);
    expect(hasAccess(rule, ['accountant'])).toBe(false);
    expect(hasAccess(rule, [])).toBe(false);
    expect(hasAccess(DEFAULT_CLASSIFICATIONS.public, [])).toBe(true);
  });

  it('compares field names loosely across snake, camel and kebab case', () => {
    expect(normalizeFieldName('account_number')).toBe(normalizeFieldName('accountNumber'));
    expect(normalizeFieldName('Account-Number')).toBe(normalizeFieldName('account_number'));
    expect(normalizeFieldName('account')).not.toBe(normalizeFieldName('account_number'));
  });

  it('classifies a bare field name by the strictest rule naming it in any source', () => {
    const policy = parseSecurityPolicy({
      fields: { 'erp.account_number': 'internal', 'bank.account_number': 'restricted' },
    });
    expect(classifyFieldName(policy, 'accountNumber')).toBe('restricted');
    expect(classifyFieldName(policy, 'amount')).toBeUndefined();
    expect(fieldNamesAtLeast(policy, 'restricted')).toEqual(['account_number']);
    expect(fieldNamesAtLeast(policy, 'public')).toEqual(['account_number']);
  });

  it('lists the fields to encrypt at rest from their classification', () => {
    const policy = parseSecurityPolicy({
      classifications: { public: { encryption: false, masking: 'none', access: ['*'] } },
      sources: { bank: 'restricted' },
      fields: { 'bank.bank_name': 'public' },
    });
    expect(fieldsToEncrypt(policy, 'bank', ['bank_name', 'account_number', 'iban'])).toEqual([
      'account_number',
      'iban',
    ]);
  });

  it("takes the strictest of a reconciliation's source labels, counting a label that is no level as restricted", () => {
    expect(strictestClassification(['internal', 'public'])).toBe('internal');
    expect(strictestClassification(['internal', 'confidential'])).toBe('confidential');
    expect(strictestClassification(['public', 'Internal'])).toBe('restricted');
    expect(strictestClassification([])).toBeUndefined();
  });
});

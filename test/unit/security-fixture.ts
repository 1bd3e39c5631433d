// The seed's classifications (account balances internal, vendor info confidential, banking details restricted)
// as a finflow security policy, shared by the security suites.
import { parseSecurityPolicy, type SecurityPolicyInput } from '../../domain/security/policy';

export const seedPolicyInput: SecurityPolicyInput = {
  roles: ['accountant', 'supervisor', 'manager', 'director', 'auditor'],
  classifications: {
    internal: {
      encryption: true,
      masking: 'full',
      access: ['accountant', 'supervisor', 'manager', 'director', 'auditor'],
    },
    confidential: { encryption: true, masking: 'full', access: ['manager', 'director'] },
    restricted: { encryption: true, masking: 'partial', access: ['director'] },
  },
  sources: { gl_balances: 'internal', vendors: 'confidential', bank: 'restricted' },
  fields: {
    'gl_balances.balance': 'internal',
    'bank.account_number': 'restricted',
    'bank.bank_name': 'internal',
    'vendors.vendor_id': 'internal',
  },
};

export const seedPolicy = () => parseSecurityPolicy(seedPolicyInput);

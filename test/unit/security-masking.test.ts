import {
  FULL_MASK,
  maskByFieldName,
  maskFull,
  maskPartial,
  maskRecord,
  maskRecordWithReport,
  maskValue,
} from '../../domain/security/masking';
import { isCardNumber, replaceAccountNumbers } from '../../domain/security/masking';
import { parseSecurityPolicy } from '../../domain/security/policy';
import { seedPolicy } from './security-fixture';

describe('partial masking', () => {
  it('shows only the last four characters of an IBAN', () => {
    const masked = maskPartial('DE89370400440532013000');
    expect(masked.endsWith('3000')).toBe(true);
    expect(masked.replace(/\*/g, '')).toBe('3000');
    expect(masked).not.toContain('DE89');
  });

  it('ignores grouping spaces, so a grouped IBAN shows the same four characters', () => {
    expect(maskPartial('DE89 3704 0044 0532 0130 00')).toBe(maskPartial('DE89370400440532013000'));
  });

  it('never shows more than half of a short value', () => {
    for (const value of ['1', '12', '123', '1234', '12345', '1234567', '12345678']) {
      const shown = maskPartial(value).replace(/^\*+/, '');
      expect(shown.length).toBeLessThanOrEqual(Math.floor(value.length / 2));
      expect(value.endsWith(shown)).toBe(true);
    }
    expect(maskPartial('12345678').replace(/^\*+/, '')).toBe('5678');
    expect(maskPartial('12')).toBe('****2');
    expect(maskPartial('1')).toBe('****');
  });

  it('does not leak the length of the value', () => {
    expect(maskPartial('4111111111111111').length).toBe(maskPartial('DE89370400440532013000').length);
  });
});

describe('full masking', () => {
  it('hides every character behind a mask of fixed length', () => {
    expect(maskFull('DE89370400440532013000')).toBe(FULL_MASK);
    expect(maskFull('7')).toBe(FULL_MASK);
    expect(maskValue('1250000.00', 'full')).toBe(FULL_MASK);
  });

  it('leaves null alone and masks structured values fully even in partial mode', () => {
    expect(maskValue(null, 'partial')).toBeNull();
    expect(maskValue({ iban: 'DE89370400440532013000' }, 'partial')).toBe(FULL_MASK);
    expect(maskValue(123456789, 'partial')).toBe('****6789');
  });
});

describe('masking a record for a role', () => {
  const bankRow = { account_number: 'DE89370400440532013000', bank_name: 'Commerzbank', amount: '1200.00' };

  it('gives an authorised role the values in clear', () => {
    expect(maskRecord(bankRow, 'bank', seedPolicy(), 'director')).toEqual(bankRow);
  });

  it('gives a role without access the masked form and never the value', () => {
    const seen = maskRecord(bankRow, 'bank', seedPolicy(), 'accountant');
    expect(seen.account_number).toBe('****3000');
    // amount has no field rule, so the bank source's restricted level masks it too (7 characters: 3 shown)
    expect(seen.amount).toBe('****.00');
    expect(seen.bank_name).toBe('Commerzbank');
    expect(JSON.stringify(seen)).not.toContain('DE89370400440532013000');
  });

  it('withholds a field whose classification has no masked form', () => {
    const policy = parseSecurityPolicy({
      classifications: { confidential: { encryption: true, masking: 'none', access: ['manager'] } },
      sources: { vendors: 'confidential' },
    });
    const row = { vendor_name: 'Acme Supplies', tax_id: 'DE123456789' };
    const { record, report } = maskRecordWithReport(row, 'vendors', policy, ['accountant']);
    expect(record).toEqual({});
    expect(report.withheld).toEqual(['vendors.vendor_name', 'vendors.tax_id']);
    expect(maskRecord(row, 'vendors', policy, ['manager'])).toEqual(row);
  });

  it('reports classified fields revealed in clear and masked, not public ones', () => {
    const policy = (access: string[]) =>
      parseSecurityPolicy({
        classifications: {
          public: { encryption: false, masking: 'none', access: ['*'] },
          restricted: { encryption: true, masking: 'partial', access },
        },
        sources: { bank: 'restricted' },
        fields: { 'bank.currency': 'public' },
      });
    const row = { iban: 'DE89370400440532013000', currency: 'EUR' };
    expect(maskRecordWithReport(row, 'bank', policy([]), 'treasurer').report).toEqual({
      revealed: [],
      masked: ['bank.iban'],
      withheld: [],
    });
    expect(maskRecordWithReport(row, 'bank', policy(['treasurer']), 'treasurer').report).toEqual({
      revealed: ['bank.iban'],
      masked: [],
      withheld: [],
    });
  });

  it('does not modify the input record', () => {
    const row = { ...bankRow };
    maskRecord(row, 'bank', seedPolicy(), 'accountant');
    expect(row).toEqual(bankRow);
  });
});

describe('masking a JSON value by field name', () => {
  const payload = {
    closeId: 'close:ACME:2026-10',
    exceptions: [
      { accountNumber: 'DE89370400440532013000', amount: '10.00' },
      { nested: { account_number: 'GB82WEST12345698765432' } },
    ],
  };

  it('masks a classified field at any depth for a role without access', () => {
    const { value, report } = maskByFieldName(payload, seedPolicy(), ['supervisor']);
    const text = JSON.stringify(value);
    expect(text).not.toContain('DE89370400440532013000');
    expect(text).not.toContain('GB82WEST12345698765432');
    expect(text).toContain('****3000');
    expect(text).toContain('****5432');
    expect(text).toContain('close:ACME:2026-10');
    expect(report.masked).toEqual(['accountNumber', 'account_number']);
  });

  it('leaves the value in clear for an authorised role and reports it as revealed', () => {
    const { value, report } = maskByFieldName(payload, seedPolicy(), ['director']);
    expect(value).toEqual(payload);
    expect(report.revealed).toEqual(['accountNumber', 'account_number']);
  });

  it('masks IBANs and card numbers inside free text only when asked to', () => {
    const failure = {
      message: `payment to ${'DE89 3704 0044 0532 0130 00'} bounced`,
      stack_trace: 'card 4111-1111-1111-1111',
    };
    const masked = maskByFieldName(failure, seedPolicy(), ['accountant'], { maskFreeText: true }).value;
    expect(masked).toEqual({ message: 'payment to ****3000 bounced', stack_trace: 'card ****1111' });
    expect(maskByFieldName(failure, seedPolicy(), ['accountant']).value).toEqual(failure);
  });

  it('refuses absurdly deep values instead of overflowing the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 500; i++) deep = { a: deep };
    expect(() => maskByFieldName(deep, seedPolicy(), [])).toThrow(/nested deeper/);
  });
});

describe('account numbers in free text', () => {
  it('are found only when their checksum holds, so ordinary figures are left alone', () => {
    const mark = () => '#';
    expect(replaceAccountNumbers('to DE89370400440532013000 and GB82WEST12345698765432', mark)).toBe('to # and #');
    expect(replaceAccountNumbers('DE89370400440532013001 totals 1250000.00 in 2026-10', mark)).toBe(
      'DE89370400440532013001 totals 1250000.00 in 2026-10',
    );
    expect(isCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(isCardNumber('4111111111111112')).toBe(false);
    expect(isCardNumber('411111111111')).toBe(false);
  });
});

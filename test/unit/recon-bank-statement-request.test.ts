import { bankStatementRequest } from '../../domain/recon/bank-statement-request';
import { parseDefinition, type ReconciliationDefinitionInput } from '../../domain/recon/definition';
import { bankDefinition } from './recon-bank-generator';

type Bank = NonNullable<NonNullable<ReconciliationDefinitionInput['categorisation']>['bank']>;

function withBank(bank: Partial<Bank> | undefined, bankConnector = 'mt940'): ReconciliationDefinitionInput {
  const base = bankDefinition.categorisation?.bank as Bank;
  return {
    ...bankDefinition,
    a: { ...bankDefinition.a, source: { connector: bankConnector, path: 'bank.sta' } },
    categorisation: { ...bankDefinition.categorisation, bank: bank === undefined ? undefined : { ...base, ...bank } },
  };
}

describe('the bank reconciliation statement a definition asks for', () => {
  it('is asked for by categorisation.bank.statement only', () => {
    expect(bankStatementRequest(parseDefinition(withBank(undefined)), '2026-01-31')).toBeUndefined();
    expect(bankStatementRequest(parseDefinition(withBank({})), '2026-01-31')).toBeUndefined();
  });

  it('reads the closing balance of the bank side’s statement file, dated at the period end or the as-of date', () => {
    const def = parseDefinition(withBank({ period_end: undefined, statement: { books_opening_balance: '100.00' } }));
    expect(bankStatementRequest(def, '2026-02-28')).toEqual({
      bank_side: 'a',
      period_end: '2026-02-28',
      bank_source: { connector: 'mt940', path: 'bank.sta' },
      books_opening_balance: '100.00',
      currency_decimals: {},
    });
  });

  it('carries the balances and the account given, and the period end of the definition', () => {
    const statement = { balance_per_bank: '10.00', balance_per_books: '-5.00', account: 'NL00BANK0123456789' };
    const def = parseDefinition(withBank({ statement }, 'csv'));
    expect(bankStatementRequest(def, '2026-02-28')).toMatchObject({ period_end: '2026-01-31', ...statement });
  });

  it('is refused without a balance per books, or with both ways of having one', () => {
    expect(() => parseDefinition(withBank({ statement: {} }))).toThrow(/needs the balance per books/);
    expect(() =>
      parseDefinition(withBank({ statement: { balance_per_books: '1.00', books_opening_balance: '1.00' } })),
    ).toThrow(/balance_per_books or books_opening_balance \(one of them\)/);
  });

  it('is refused when the bank side is read by a connector that gives no closing balance and none is given', () => {
    expect(() => parseDefinition(withBank({ statement: { books_opening_balance: '0' } }, 'camt054'))).toThrow(
      /needs the balance per bank: side a is read by camt054, which gives no closing balance/,
    );
    // Side b as the bank, read from a BAI2 file: its closing ledger is the balance.
    const flipped = withBank({ bank_side: 'b', statement: { books_opening_balance: '0' } }, 'csv');
    flipped.b = { ...flipped.b, source: { connector: 'bai2', path: 'bank.bai' } };
    expect(bankStatementRequest(parseDefinition(flipped), '2026-01-31')?.bank_source).toEqual({
      connector: 'bai2',
      path: 'bank.bai',
    });
  });
});

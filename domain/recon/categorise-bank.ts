// The bank reconciliation's reconciling items: a record left on one side only (after matching and pairing on
// evidence) is named for what it is on a bank reconciliation statement, instead of the generic missing_in_a/b.
// Amounts as normalised: positive is money into the account (a bank credit, a GL debit), negative money out.
//   bank_fee             on the bank side only, money out, and its text matches fee_pattern or its size is at most
//                        fee_threshold
//   outstanding_check    on the GL side only, money out, and its text matches check_pattern (an uncleared check)
//   outstanding_payment  on the GL side only, money out, otherwise (a transfer the bank has not booked yet)
//   deposit_in_transit   on the GL side only, money in, dated at most in_transit_days before the period end (the
//                        definition's period_end, else the latest date on the bank side of the partition)
// Anything else stays missing_in_a / missing_in_b. The evidence says which test decided.
import type { ReconciliationDefinition, Side } from './definition';
import { limitToMinor, formatMinor } from './minor';
import { NO_DAY, dayNumber, type MatchState } from './match-state';
import { currencyScale } from './normalise';

export type BankItem = 'bank_fee' | 'outstanding_check' | 'outstanding_payment' | 'deposit_in_transit';

type Evidence = Record<string, string | number | boolean>;

/** Names a one-sided record, or undefined when the definition has no bank settings or no kind fits. */
export type BankItemNamer = (side: Side, index: number) => { category: BankItem; evidence: Evidence } | undefined;

export function bankItemNamer(s: MatchState, def: ReconciliationDefinition): BankItemNamer | undefined {
  const bank = def.categorisation.bank;
  if (bank === undefined) return undefined;
  const fee = bank.fee_pattern === undefined ? undefined : new RegExp(bank.fee_pattern, 'i');
  const check = bank.check_pattern === undefined ? undefined : new RegExp(bank.check_pattern, 'i');
  const thresholds = new Map<string, number>();
  const threshold = (currency: string): number | undefined => {
    if (bank.fee_threshold === undefined) return undefined;
    let v = thresholds.get(currency);
    if (v === undefined) {
      v = limitToMinor(bank.fee_threshold, currencyScale(def, currency));
      thresholds.set(currency, v);
    }
    return v;
  };
  const bankDays = bank.bank_side === 'a' ? s.dayA : s.dayB;
  let periodEnd = bank.period_end === undefined ? NO_DAY : dayNumber(bank.period_end);
  if (periodEnd === NO_DAY) for (const d of bankDays) if (d > periodEnd) periodEnd = d;
  const periodEndText = bank.period_end ?? 'latest bank date';

  return (side, index): ReturnType<BankItemNamer> => {
    const rec = (side === 'a' ? s.a : s.b)[index];
    const amount = (side === 'a' ? s.amountA : s.amountB)[index];
    if (side === bank.bank_side) {
      if (amount >= 0) return undefined;
      const text = bank.fee_field === undefined ? undefined : rec.fields[bank.fee_field];
      if (fee !== undefined && text !== undefined && fee.test(text))
        return { category: 'bank_fee', evidence: { matched: bank.fee_field as string, text } };
      const limit = threshold(rec.currency);
      if (limit !== undefined && -amount <= limit)
        return {
          category: 'bank_fee',
          evidence: { fee_threshold: formatMinor(limit, currencyScale(def, rec.currency)) },
        };
      return undefined;
    }
    if (amount < 0) {
      const text = bank.check_field === undefined ? undefined : rec.fields[bank.check_field];
      if (check !== undefined && text !== undefined && check.test(text))
        return { category: 'outstanding_check', evidence: { matched: bank.check_field as string, text } };
      return { category: 'outstanding_payment', evidence: {} };
    }
    if (amount === 0) return undefined;
    const day = (side === 'a' ? s.dayA : s.dayB)[index];
    if (day === NO_DAY || periodEnd === NO_DAY) return undefined;
    const before = periodEnd - day;
    if (before < 0 || before > bank.in_transit_days) return undefined;
    return {
      category: 'deposit_in_transit',
      evidence: { date: rec.date as string, period_end: periodEndText, days_before_end: before },
    };
  };
}

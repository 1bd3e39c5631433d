// The exception categories of a reconciliation, in precedence order, and the evidence an exception carries: the
// names categorise.ts and its helpers (categorise-evidence.ts, categorise-reference.ts) share, in a module of their
// own so that the helpers do not import categorise.ts back.
export const CATEGORIES = [
  'duplicate_key',
  'missing_in_a',
  'missing_in_b',
  'timing_difference',
  'sign_reversal',
  'transposition',
  'rounding',
  'amount_mismatch',
  'within_tolerance',
  'suggested_match',
  'bank_fee',
  'outstanding_check',
  'outstanding_payment',
  'deposit_in_transit',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** What an exception says about why its records belong together (rule, difference, reference, ...). */
export type Evidence = Record<string, string | number | boolean>;

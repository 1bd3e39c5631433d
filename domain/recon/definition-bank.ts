// The bank part of a definition's categorisation (categorisation.bank), built from the definition's own field-name,
// pattern and decimal schemas (see definition.ts).
import { z } from 'zod';

export interface BankSchemaParts {
  fieldName: z.ZodType<string, string>;
  regexSource: z.ZodType<string, string>;
  nonNegativeDecimal: z.ZodType<string, string>;
}

/**
 * A bank reconciliation: records left on one side only are named as reconciling items (bank_fee,
 * outstanding_check, outstanding_payment, deposit_in_transit; see categorise-bank.ts). Patterns are
 * case-insensitive regular expressions over the named field, checked here.
 */
export function bankCategorisationSchema({ fieldName, regexSource, nonNegativeDecimal }: BankSchemaParts) {
  return z
    .object({
      bank_side: z.enum(['a', 'b']),
      fee_field: fieldName.optional(),
      fee_pattern: regexSource.optional(),
      fee_threshold: nonNegativeDecimal.optional(),
      check_field: fieldName.optional(),
      check_pattern: regexSource.optional(),
      period_end: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be an ISO date yyyy-MM-dd')
        .optional(),
      in_transit_days: z.int().min(0).max(31).default(3),
    })
    .refine((b) => (b.fee_pattern === undefined) === (b.fee_field === undefined), {
      message: 'fee_pattern and fee_field go together',
      path: ['fee_pattern'],
    })
    .refine((b) => (b.check_pattern === undefined) === (b.check_field === undefined), {
      message: 'check_pattern and check_field go together',
      path: ['check_pattern'],
    });
}

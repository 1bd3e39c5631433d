// A rule's field conditions (`where_a`, `where_b`; applied in match-where.ts), built from the definition's own
// field-name schema (see definition.ts).
import { z } from 'zod';

/** One field's condition: its value is one of `in`, or none of `not_in`. */
export type WhereCondition = { in: string[] } | { not_in: string[] };

export function whereSchemas(fieldName: z.ZodType<string, string>) {
  const values = z.array(z.string().trim().min(1, 'a value may not be empty')).min(1, 'needs at least one value');
  const condition = z.union([z.strictObject({ in: values }), z.strictObject({ not_in: values })], {
    error: 'a condition is { in: [values] } or { not_in: [values] }',
  });
  const where = z
    .record(fieldName, condition)
    .refine((w) => Object.keys(w).length > 0, 'names at least one field');
  return {
    /**
     * `where_a` / `where_b`: the records of that side the rule may take, by field value after transformations (a bank
     * transaction code: `{ bank_transaction_code: { in: ['PMNT/CNTR/CDPT'] } }` offers only cash deposits, `not_in`
     * keeps them out). A record whose field is missing or empty fails `in` and passes `not_in`.
     */
    where_a: where.optional(),
    where_b: where.optional(),
  };
}

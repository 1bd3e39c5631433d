// The sum_by_reference rule's schema (applied in match-sum-reference.ts), built from the definition's own field-name,
// rule-id, auto and where schemas (see definition.ts).
import { z } from 'zod';
import type { whereSchemas } from './definition-where';

export function sumByReferenceSchema(p: {
  ruleId: z.ZodType<string, string>;
  fieldName: z.ZodType<string, string>;
  auto: { auto: z.ZodOptional<z.ZodBoolean> };
  where: ReturnType<typeof whereSchemas>;
}) {
  /**
   * One record of `one_side` (a bank line carrying a deposit slip or batch number) against ALL the free records of
   * the other side (the GL receipts whose description carries that number) sharing its match_on values, within the
   * key and currency; matched when they sum exactly and the value is held by that one record alone on its side. Dates
   * are not compared: the reference decides. With `count_field` (the statement's item count, camt.053
   * NtryDtls/Btch/NbOfTxs), a record that gives a count matches only a group of that many records. Anything else
   * (a different sum, a count that disagrees, the value held twice on the one side) is left to categorisation, which
   * names the reference (amount_mismatch). More than `max_items` records for one value are not matched.
   */
  return z.object({
    id: p.ruleId,
    type: z.literal('sum_by_reference'),
    one_side: z.enum(['a', 'b']).default('a'),
    match_on: z.array(p.fieldName).min(1),
    count_field: p.fieldName.optional(),
    max_items: z.int().min(1).max(10_000).default(1_000),
    ...p.auto,
    ...p.where,
  });
}

/**
 * The optional `count_field` of sum_window and sum_by_reference: a field of the one side holding how many items the
 * record totals (camt.053 NtryDtls/Btch/NbOfTxs, BAI2's item count).
 */
export function countFieldSchema(fieldName: z.ZodType<string, string>) {
  return { count_field: fieldName.optional() };
}

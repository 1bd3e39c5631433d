// The reconciliation definition: what two sources hold, how their records become comparable, and the ordered rules
// that pair them. Plain JSON/YAML validated by zod, so the CLI, the library and a bare `temporal workflow start` all
// speak one format. Money in a definition is always a decimal string, never a JSON number (a float).
import { z } from 'zod';
import { Dec } from '../money';
import { bankCategorisationSchema, statementBankBalanceProblem } from './definition-bank';
import { countFieldSchema, sumByReferenceSchema } from './definition-sum';
import { whereSchemas } from './definition-where';
import { extractProblem } from './regex-extract';

export const ROUNDING_MODES = ['half_even', 'half_up', 'half_down', 'down', 'up', 'floor', 'ceiling'] as const;

// The schemas are built on first use, not when the module loads: a workflow evaluates its imports afresh on every
// run (the SDK gives each run its own module cache), and building these zod schemas took ~11 ms per reconciliation
// child on a busy 2-core machine (bench:close), paid even by the runs that never parse a definition.
function buildSchemas() {
  /** A decimal written as a string: `"0.05"`, `"-1"`. JSON numbers are refused because they are floats. */
  const decimalString = z.string().regex(/^[+-]?(\d+(\.\d*)?|\.\d+)$/, 'must be a decimal string such as "0.05"');
  const nonNegativeDecimal = decimalString.refine((s) => !s.trim().startsWith('-'), 'must not be negative');
  // Field names index plain objects: names of Object.prototype members would read inherited functions.
  const fieldName = z
    .string()
    .min(1, 'a field name may not be empty')
    .refine((n) => !(n in Object.prototype), 'may not be the name of an Object.prototype member');
  /** A regular expression's source, refused here when it does not compile. */
  const regexSource = z
    .string()
    .min(1)
    .superRefine((p, ctx) => {
      try {
        new RegExp(p, 'i');
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `the pattern does not compile: ${(e as Error).message}` });
      }
    });
  const ruleId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "may hold only letters, digits, '.', '_' and '-'");

  /** Opaque to the engine: connectors read it. Only `connector` is required; everything else passes through. */
  const sourceRefSchema = z.looseObject({ connector: z.string().min(1) });

  const mappingSchema = z.object({
    /** Field name as the source system spells it (`acct_num`). */
    from: fieldName,
    /** Canonical name used by key_fields, value_fields and transformations (`account_code`). */
    to: fieldName,
  });

  const onField = { field: fieldName };

  const transformationSchema = z.discriminatedUnion('op', [
    z.object({ op: z.literal('trim'), ...onField }),
    z.object({ op: z.literal('upper'), ...onField }),
    z.object({ op: z.literal('lower'), ...onField }),
    /** Removes leading zeros (`"000123"` -> `"123"`); a value of only zeros becomes `"0"`. */
    z.object({ op: z.literal('strip_leading_zeros'), ...onField }),
    /** A value used when the field is missing or empty after trimming. */
    z.object({ op: z.literal('default'), ...onField, value: z.string() }),
    /**
     * Reads amounts written with another decimal mark or grouping (`1.234,56`), accounting negatives `(12.00)` and
     * trailing minus signs `12.00-`, and rewrites them as a plain decimal string.
     */
    z.object({
      op: z.literal('decimal_format'),
      ...onField,
      decimal_separator: z.enum(['.', ',']),
      group_separator: z.enum(['', ',', '.', ' ', "'", '\u00a0']).default(''),
      parentheses_negative: z.boolean().default(false),
      trailing_minus: z.boolean().default(false),
    }),
    /** Rounds a decimal field. The mode is required: implicit rounding of money is how totals drift. */
    z.object({ op: z.literal('round'), ...onField, places: z.int().min(0).max(12), mode: z.enum(ROUNDING_MODES) }),
    /** Multiplies a decimal field exactly (`"0.01"` turns cents into units, `"-1"` flips the sign). */
    z.object({ op: z.literal('scale'), ...onField, factor: decimalString }),
    /** Flips the sign (credit-negative vs credit-positive conventions). */
    z.object({ op: z.literal('negate'), ...onField }),
    /**
     * Debit and credit columns into one signed amount: `into = debit - credit` (`debit_positive`) or
     * `credit - debit` (`credit_positive`). An empty column counts as zero; both empty is an error.
     */
    z.object({
      op: z.literal('debit_credit'),
      debit: fieldName,
      credit: fieldName,
      into: fieldName,
      sign: z.enum(['debit_positive', 'credit_positive']).default('debit_positive'),
    }),
    /**
     * Parses a date written in one of `formats` (tried in order) into ISO `yyyy-MM-dd`. Tokens: yyyy, MM or M, dd or d,
     * HH, mm, ss; anything else is literal (`yyyy-MM-dd`, `dd.MM.yyyy`, `MM/dd/yyyy`, `yyyyMMdd`). Time parts are checked
     * and dropped.
     */
    z.object({ op: z.literal('date'), ...onField, formats: z.array(z.string().min(1)).min(1) }),
    /**
     * A code map (`{ "4000": "REV" }`). `unmapped: "error"` refuses values missing from the map, `"keep"` leaves them.
     * `into` writes the mapped value to another field and keeps the original.
     */
    z.object({
      op: z.literal('lookup'),
      ...onField,
      map: z.record(z.string(), z.string()),
      unmapped: z.enum(['error', 'keep']),
      into: fieldName.optional(),
    }),
    /**
     * Finds a reference in free text and writes it, in one spelling, to `into` (see regex-extract.ts): pattern
     * `(INV|CHK)[-/ ]?(\\d{6})` with output `$1-$2` and case `upper` turns `ref inv/123456` into `INV-123456`. No
     * match leaves `into` empty (null: never equal to anything). The pattern and the groups the output names are
     * checked here.
     */
    z
      .object({
        op: z.literal('regex_extract'),
        ...onField,
        into: fieldName,
        pattern: z.string().min(1),
        flags: z
          .string()
          .regex(/^(?!.*(.).*\1)[imsu]*$/, 'flags may be i, m, s and u, each at most once')
          .default(''),
        output: z.string().optional(),
        case: z.enum(['keep', 'upper', 'lower']).default('keep'),
        match: z.enum(['first', 'all']).default('first'),
        separator: z.string().min(1).default(','),
      })
      .superRefine((t, ctx) => {
        const problem = extractProblem(t);
        if (problem !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [problem.startsWith('the output') ? 'output' : 'pattern'],
            message: problem,
          });
      }),
  ]);

  const sideSchema = z.object({
    /** Label used in record ids (`GL:17`); defaults to `a` / `b`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .optional(),
    source: sourceRefSchema,
    /** Data classification for the security policy (e.g. `confidential`). */
    classification: z.string().min(1),
    /** Canonical names (after mappings); compared position by position with the other side's key_fields. */
    key_fields: z.array(fieldName).min(1),
    /** Canonical names of decimal fields. The FIRST is the amount being reconciled; the others are checked and carried. */
    value_fields: z.array(fieldName).min(1),
    date_field: fieldName.optional(),
    /** Field holding the ISO 4217 code; when absent or empty on a record, `currency` applies. */
    currency_field: fieldName.optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
      .optional(),
    /** Field whose value identifies a record (transaction id); without it the connector's line/row number does. */
    id_field: fieldName.optional(),
    mappings: z.array(mappingSchema).default([]),
    transformations: z.array(transformationSchema).default([]),
  });

  const expectUnique = {
    /**
     * The key identifies at most one record per side: where a key occurs more than once on a side, this rule leaves
     * that key's records alone and they end up as `duplicate_key` unless a later rule (aggregated, subset_sum) explains them.
     */
    expect_unique: z.boolean().default(false),
    /**
     * Fields that must also be equal (canonical names, after transformations), such as a reference found in the
     * remittance text: the records pair only within the key AND the same match_on values. A record with one of
     * these fields missing or empty is never paired by the rule (null is never equal to null). Leftovers of the
     * same match_on values are categorised together (a different amount is an amount_mismatch naming the value).
     */
    match_on: z.array(fieldName).min(1).optional(),
  };

  /**
   * `auto: false`: the rule's pairs are proposed, not matched. Each pair (or group) it finds becomes an open
   * `suggested_match` exception naming the rule, and a person confirms or rejects it (`finflow exceptions
   * suggestions|confirm|reject`). Absent or true: the rule matches on its own.
   */
  const auto = { auto: z.boolean().optional() };
  /** `where_a` / `where_b`: the records of each side the rule may take (see definition-where.ts). */
  const where = whereSchemas(fieldName);

  const ruleSchema = z.discriminatedUnion('type', [
    /** Same key, same currency, same amount (and same date when `compare_date`). One to one. */
    z.object({
      id: ruleId,
      type: z.literal('exact'),
      compare_date: z.boolean().default(false),
      ...expectUnique,
      ...auto,
      ...where,
    }),
    /**
     * Same key and currency, amounts within an absolute difference and/or a percentage of the larger absolute amount.
     * `combine: "all"` needs every given limit to hold, `"any"` one of them. One to one.
     */
    z
      .object({
        id: ruleId,
        type: z.literal('tolerance'),
        absolute: nonNegativeDecimal.optional(),
        percent: nonNegativeDecimal
          .refine((p) => new Dec(p.trim()).lte(100), 'a percentage above 100 would accept amounts of the opposite sign')
          .optional(),
        combine: z.enum(['all', 'any']).default('all'),
        /** When set, the dates must also be at most this many days apart (records without a date never match). */
        max_days_apart: z.int().min(0).max(3660).optional(),
        ...expectUnique,
        ...auto,
        ...where,
      })
      .refine((r) => r.absolute !== undefined || r.percent !== undefined, 'a tolerance rule needs absolute or percent'),
    /**
     * All unmatched records of a key on each side as one group, matched when the sums agree (within `absolute`).
     * `many_to_one`: one side holds exactly one record and the other several; `many_to_many`: any counts but one
     * against one (that is a 1:1 match for exact, tolerance or date_window rules, which look at dates).
     */
    z.object({
      id: ruleId,
      type: z.literal('aggregated'),
      cardinality: z.enum(['many_to_one', 'many_to_many']).default('many_to_one'),
      absolute: nonNegativeDecimal.default('0'),
      ...auto,
      ...where,
    }),
    /** Same key, currency and amount, dates at most `days` apart. One to one. */
    z.object({
      id: ruleId,
      type: z.literal('date_window'),
      days: z.int().min(1).max(3660),
      ...expectUnique,
      ...auto,
      ...where,
    }),
    /**
     * Within a group (the key, or another field such as a payment reference), finds records on one side whose amounts
     * add up exactly to records on the other: one against 2..max_items (`one_to_many`, either direction) or up to
     * max_items against up to max_items (`many_to_many`), never one against one. Grouping by a field other than the
     * key only sees records of the same partition: partition by that field, or reconcile such sources in one partition. Bounded: groups larger than `max_group_size` per side and searches
     * beyond `max_combinations` subsets are given up and reported; their records stay unmatched.
     */
    z.object({
      id: ruleId,
      type: z.literal('subset_sum'),
      group_by: z.union([z.literal('key'), z.object({ field: fieldName })]).default('key'),
      cardinality: z.enum(['one_to_many', 'many_to_many']).default('one_to_many'),
      max_items: z.int().min(2).max(12).default(4),
      max_group_size: z.int().min(2).max(200).default(20),
      max_combinations: z.int().min(1).max(10_000_000).default(100_000),
      ...auto,
      ...where,
    }),
    /**
     * One record of `one_side` (a bank credit) against min_items..max_items records of the other side (the GL
     * receipts of a deposit slip) dated from `days_before` days before to `days_after` days after it, of the same
     * sign, summing exactly; within the key and currency (see match-sum-window.ts). Never matches when two different
     * subsets fit, or when the subsets of two records compete for the same records: then it proposes. Bounded per
     * record: more than max_candidates candidates in the window, or more than max_combinations subsets tried, is
     * given up and reported.
     */
    z
      .object({
        id: ruleId,
        type: z.literal('sum_window'),
        one_side: z.enum(['a', 'b']).default('a'),
        days_before: z.int().min(0).max(366).default(1),
        days_after: z.int().min(0).max(366).default(0),
        min_items: z.int().min(2).max(12).default(2),
        max_items: z.int().min(2).max(12).default(8),
        max_candidates: z.int().min(2).max(5_000).default(200),
        max_combinations: z.int().min(1).max(10_000_000).default(200_000),
        /** A record giving an item count is searched for subsets of exactly that many records. */
        ...countFieldSchema(fieldName),
        ...auto,
        ...where,
      })
      .refine((r) => r.min_items <= r.max_items, {
        message: 'min_items may not exceed max_items',
        path: ['min_items'],
      }),
    sumByReferenceSchema({ ruleId, fieldName, auto, where }),
  ]);

  const categorisationSchema = z.object({
    /** Differences up to this (in currency units) are `rounding`. Default: one minor unit of the currency. */
    rounding_tolerance: nonNegativeDecimal.optional(),
    /** Same key and amount with dates up to this many days apart is a `timing_difference`; further apart, two separate items. */
    timing_window_days: z.int().min(1).max(3660).default(31),
    /** Candidate pairs beyond this product of leftovers in one key are not searched for transpositions and rounding. */
    max_pairing_work: z.int().min(1).default(65_536),
    bank: bankCategorisationSchema({ decimalString, fieldName, regexSource, nonNegativeDecimal }).optional(),
  });

  const reconciliationDefinitionSchema = z
    .object({
      id: ruleId,
      name: z.string().optional(),
      a: sideSchema,
      b: sideSchema,
      rules: z.array(ruleSchema).min(1),
      /**
       * The data plane: `duckdb` reads eligible CSV sides and settles the leading exact and tolerance rules in SQL
       * (matches kept as Parquet beside the reports), `typescript` today's; default FINFLOW_RECON_ENGINE, else
       * typescript. The categories, totals and exceptions are the same either way.
       */
      engine: z.enum(['typescript', 'duckdb'], { error: "engine is 'typescript' or 'duckdb'" }).optional(),
      /** Minor-unit decimals per currency, overriding ISO 4217 (e.g. reconcile JPY at 2 places). */
      currency_decimals: z.record(z.string().regex(/^[A-Z]{3}$/), z.int().min(0).max(8)).default({}),
      categorisation: categorisationSchema.default({ timing_window_days: 31, max_pairing_work: 65_536 }),
    })
    .superRefine((d, ctx) => {
      if (d.a.key_fields.length !== d.b.key_fields.length)
        ctx.addIssue({
          code: 'custom',
          path: ['b', 'key_fields'],
          message: `side a has ${d.a.key_fields.length} key fields, side b ${d.b.key_fields.length}: keys are compared field by field`,
        });
      for (const side of ['a', 'b'] as const) {
        if (!d[side].currency_field && !d[side].currency)
          ctx.addIssue({ code: 'custom', path: [side], message: 'needs currency_field or a fixed currency' });
      }
      if ((d.a.name ?? 'a') === (d.b.name ?? 'b'))
        ctx.addIssue({
          code: 'custom',
          path: ['b', 'name'],
          message: 'the two sides need different names (record ids)',
        });
      const noBankBalance = statementBankBalanceProblem(d.categorisation.bank, { a: d.a.source, b: d.b.source });
      if (noBankBalance !== undefined)
        ctx.addIssue({ code: 'custom', path: ['categorisation', 'bank', 'statement'], message: noBankBalance });
      const seen = new Set<string>();
      d.rules.forEach((r, i) => {
        if (seen.has(r.id))
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` });
        seen.add(r.id);
        const needsDates =
          r.type === 'date_window' ||
          r.type === 'sum_window' ||
          (r.type === 'exact' && r.compare_date) ||
          (r.type === 'tolerance' && r.max_days_apart !== undefined);
        if (needsDates && (!d.a.date_field || !d.b.date_field))
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i],
            message: `rule ${r.id} compares dates: both sides need a date_field`,
          });
      });
    });
  return {
    sourceRefSchema,
    mappingSchema,
    transformationSchema,
    sideSchema,
    ruleSchema,
    categorisationSchema,
    reconciliationDefinitionSchema,
  };
}

type Schemas = ReturnType<typeof buildSchemas>;
let built: Schemas | undefined;

/** The definition's zod schemas (built once per module instance, on first use). */
export function definitionSchemas(): Schemas {
  return (built ??= buildSchemas());
}

export type SourceRef = z.infer<Schemas['sourceRefSchema']>;
export type Mapping = z.infer<Schemas['mappingSchema']>;
export type Transformation = z.infer<Schemas['transformationSchema']>;
export type SideDefinition = z.infer<Schemas['sideSchema']>;
export type MatchRule = z.infer<Schemas['ruleSchema']>;
export type CategorisationOptions = z.infer<Schemas['categorisationSchema']>;
/** A validated definition (defaults filled in): what the engine takes. */
export type ReconciliationDefinition = z.infer<Schemas['reconciliationDefinitionSchema']>;
/** What a person writes (defaults optional). */
export type ReconciliationDefinitionInput = z.input<Schemas['reconciliationDefinitionSchema']>;
export type Side = 'a' | 'b';
export type { WhereCondition } from './definition-where';

export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionError';
  }
}

/** Validates a definition written as JSON/YAML; the error lists every problem with its path. */
export function parseDefinition(input: unknown): ReconciliationDefinition {
  const result = definitionSchemas().reconciliationDefinitionSchema.safeParse(input);
  if (!result.success)
    throw new DefinitionError(`invalid reconciliation definition:\n${z.prettifyError(result.error)}`);
  return result.data;
}

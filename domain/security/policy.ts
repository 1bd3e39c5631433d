// The security policy of a close definition, as the seed's SecurityConfig: four classification levels, each
// saying whether data at that level is encrypted at rest, how it is masked for roles outside its access list,
// and which roles (access groups) see it in clear. Levels are applied to whole data sources and to single
// fields; a field's own rule beats its source's, which beats the policy default.
//
// Pure and deterministic (imported by workflow code): no I/O, no clock.
import { z } from 'zod';
import { normaliseKeys, type CasingResult } from '../casing';

export const CLASSIFICATION_LEVELS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type ClassificationLevel = (typeof CLASSIFICATION_LEVELS)[number];

/** Ordering used when several rules could apply (e.g. the same field name in two sources): the strictest wins. */
export function levelRank(level: ClassificationLevel): number {
  return CLASSIFICATION_LEVELS.indexOf(level);
}

export const MASKING_MODES = ['none', 'partial', 'full'] as const;
export type MaskingMode = (typeof MASKING_MODES)[number];

/** In an access list, this entry admits every role (meant for public data). */
export const ANY_ROLE = '*';

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const roleName = z
  .string()
  .regex(/^(\*|[A-Za-z][A-Za-z0-9_.-]*)$/, 'a role is letters, digits, ".", "_" or "-", or "*" for every role');
const classificationLevel = z.enum(CLASSIFICATION_LEVELS);

export const ClassificationRuleSchema = z
  .object({
    /** Whether values at this level are encrypted at rest (extracts, result columns, reports) with the dataset key. */
    encryption: z.boolean(),
    /**
     * What a role outside `access` receives: `partial` (at most the last four characters), `full` (a fixed mask),
     * or `none`, meaning there is no safe masked form, so the value is withheld altogether.
     */
    masking: z.enum(MASKING_MODES),
    /** The roles that receive values at this level in clear. */
    access: z.array(roleName),
  })
  .strict();
export type ClassificationRule = z.infer<typeof ClassificationRuleSchema>;

/**
 * Defaults fail safe: confidential and restricted data is visible in clear to nobody until the policy names the
 * roles, and internal data to every role (an internal ledger balance is what the close works on).
 */
export const DEFAULT_CLASSIFICATIONS: Record<ClassificationLevel, ClassificationRule> = {
  public: { encryption: false, masking: 'none', access: [ANY_ROLE] },
  internal: { encryption: true, masking: 'full', access: [ANY_ROLE] },
  confidential: { encryption: true, masking: 'full', access: [] },
  restricted: { encryption: true, masking: 'partial', access: [] },
};

const fieldSelector = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$/,
    'a field is written "source.field", e.g. bank.account_number',
  );

export const SecurityPolicySchema = z
  .object({
    /** Known roles. When given, every access list may name only these (a typo would silently deny or admit). */
    roles: z.array(roleName.refine((r) => r !== ANY_ROLE, '"*" is not a role name')).optional(),
    classifications: z
      .object({
        public: ClassificationRuleSchema.default(DEFAULT_CLASSIFICATIONS.public),
        internal: ClassificationRuleSchema.default(DEFAULT_CLASSIFICATIONS.internal),
        confidential: ClassificationRuleSchema.default(DEFAULT_CLASSIFICATIONS.confidential),
        restricted: ClassificationRuleSchema.default(DEFAULT_CLASSIFICATIONS.restricted),
      })
      .strict()
      .default(DEFAULT_CLASSIFICATIONS),
    /** The level of anything neither its field nor its source classifies. */
    defaultClassification: classificationLevel.default('internal'),
    /** Data source name -> level, e.g. `{ gl_balances: 'internal', bank: 'restricted' }`. */
    sources: z
      .record(z.string().regex(NAME, 'a source name is letters, digits, "_" or "-"'), classificationLevel)
      .default({}),
    /** `source.field` -> level, e.g. `{ 'bank.account_number': 'restricted' }`. */
    fields: z.record(fieldSelector, classificationLevel).default({}),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (!policy.roles) return;
    const known = new Set(policy.roles);
    for (const level of CLASSIFICATION_LEVELS) {
      policy.classifications[level].access.forEach((role, i) => {
        if (role !== ANY_ROLE && !known.has(role))
          ctx.addIssue({
            code: 'custom',
            path: ['classifications', level, 'access', i],
            message: `unknown role ${JSON.stringify(role)} (known roles: ${policy.roles!.join(', ')})`,
          });
      });
    }
  });
export type SecurityPolicy = z.infer<typeof SecurityPolicySchema>;
export type SecurityPolicyInput = z.input<typeof SecurityPolicySchema>;

/**
 * A policy as written (snake_case: `default_classification`) in the internal spelling (`defaultClassification`),
 * with the old camelCase spellings found and any field given in both (domain/casing.ts). Source and field names
 * (keys of `sources` and `fields`) are data and never renamed.
 */
export function normaliseSecurityPolicyKeys(input: unknown): CasingResult {
  return normaliseKeys(input, SecurityPolicySchema);
}

/** Validates a policy; the error names each offending path (e.g. `classifications.restricted.access.0`). */
export function parseSecurityPolicy(input: unknown, where = 'security policy'): SecurityPolicy {
  const keyed = normaliseSecurityPolicyKeys(input);
  if (keyed.conflicts.length)
    throw new Error(`invalid ${where}:\n${keyed.conflicts.map((c) => `  ${c.path}: ${c.message}`).join('\n')}`);
  const result = SecurityPolicySchema.safeParse(keyed.value);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${where}:\n${lines.join('\n')}`);
  }
  return result.data;
}

export interface ResolvedClassification {
  level: ClassificationLevel;
  rule: ClassificationRule;
  /** Which rule decided: the field's own, its source's, or the policy default. */
  via: 'field' | 'source' | 'default';
}

/** The classification of `source.field`: field rule > source rule > policy default. */
export function resolveClassification(policy: SecurityPolicy, source: string, field: string): ResolvedClassification {
  const fieldLevel = policy.fields[`${source}.${field}`];
  if (fieldLevel) return { level: fieldLevel, rule: policy.classifications[fieldLevel], via: 'field' };
  const sourceLevel = policy.sources[source];
  if (sourceLevel) return { level: sourceLevel, rule: policy.classifications[sourceLevel], via: 'source' };
  const level = policy.defaultClassification;
  return { level, rule: policy.classifications[level], via: 'default' };
}

/**
 * Field names compare loosely, so that a policy written for a table (`account_number`) also catches the same
 * field in TypeScript payloads and logs (`accountNumber`, `account-number`).
 */
/**
 * The strictest of these classifications, as a reconciliation's definition names them for its sources (free text):
 * a name that is not a level counts as `restricted`, so an unknown or misspelt label never makes data less guarded.
 */
export function strictestClassification(labels: readonly string[]): ClassificationLevel | undefined {
  let out: ClassificationLevel | undefined;
  for (const label of labels) {
    const level = classificationOf(label);
    if (out === undefined || levelRank(level) > levelRank(out)) out = level;
  }
  return out;
}

/** The level a source's classification label names; a label that is no level counts as `restricted`. */
export function classificationOf(label: string): ClassificationLevel {
  return (CLASSIFICATION_LEVELS as readonly string[]).includes(label) ? (label as ClassificationLevel) : 'restricted';
}

export function normalizeFieldName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The strictest level any field rule gives a field of this name, whatever its source; undefined when no rule
 * names it. Used where the source of a value is unknown (workflow payloads, log lines).
 */
export function classifyFieldName(policy: SecurityPolicy, fieldName: string): ClassificationLevel | undefined {
  const wanted = normalizeFieldName(fieldName);
  let best: ClassificationLevel | undefined;
  for (const [selector, level] of Object.entries(policy.fields)) {
    const name = selector.slice(selector.indexOf('.') + 1);
    if (normalizeFieldName(name) === wanted && (best === undefined || levelRank(level) > levelRank(best))) best = level;
  }
  return best;
}

/** Field names (as written in the policy) whose rule is at least `minimum`. */
export function fieldNamesAtLeast(policy: SecurityPolicy, minimum: ClassificationLevel): string[] {
  const names = new Set<string>();
  for (const [selector, level] of Object.entries(policy.fields))
    if (levelRank(level) >= levelRank(minimum)) names.add(selector.slice(selector.indexOf('.') + 1));
  return [...names].sort();
}

/** Whether any of `roles` is in the rule's access list. */
export function hasAccess(rule: ClassificationRule, roles: readonly string[]): boolean {
  return rule.access.includes(ANY_ROLE) || roles.some((r) => rule.access.includes(r));
}

/** The fields of a source's records that must be encrypted at rest. */
export function fieldsToEncrypt(policy: SecurityPolicy, source: string, fields: readonly string[]): string[] {
  return fields.filter((f) => resolveClassification(policy, source, f).rule.encryption);
}

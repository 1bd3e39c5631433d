// Masking and field-level access, pure: what a given set of roles may receive of a record or a JSON value.
// A role outside a classification's access list never receives the value: it gets the masked form, or, where
// the classification has no masked form (masking `none`), the field is withheld.
import {
  hasAccess,
  levelRank,
  normalizeFieldName,
  resolveClassification,
  type ClassificationLevel,
  type ClassificationRule,
  type MaskingMode,
  type SecurityPolicy,
} from './policy';

/** Every fully masked value looks the same, whatever its length, so the length does not leak. */
export const FULL_MASK = '********';
/** The fixed prefix of a partial mask, for the same reason. */
export const PARTIAL_MASK_PREFIX = '****';
/** The most characters a partial mask ever shows (the last four of an account or card number). */
export const PARTIAL_MASK_VISIBLE = 4;

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

/**
 * Shows at most the last four characters, and never more than half of the value, so a short value is not
 * mostly revealed. Whitespace (grouping in IBANs and card numbers) does not count as a character.
 */
export function maskPartial(value: unknown): string {
  const chars = Array.from(asText(value).replace(/\s+/g, ''));
  const shown = Math.min(PARTIAL_MASK_VISIBLE, Math.floor(chars.length / 2));
  return PARTIAL_MASK_PREFIX + chars.slice(chars.length - shown).join('');
}

export function maskFull(_value: unknown): string {
  return FULL_MASK;
}

/** Masks one value. Null and undefined stay as they are: there is nothing to hide. */
export function maskValue(value: unknown, mode: Exclude<MaskingMode, 'none'>): unknown {
  if (value === null || value === undefined) return value;
  // A structured value has no meaningful "last four characters".
  if (mode === 'full' || typeof value === 'object') return maskFull(value);
  return maskPartial(value);
}

export type FieldTreatment = 'clear' | 'masked' | 'withheld';

/** What `roles` receive of a value under `rule`. */
export function treatmentFor(rule: ClassificationRule, roles: readonly string[]): FieldTreatment {
  if (hasAccess(rule, roles)) return 'clear';
  return rule.masking === 'none' ? 'withheld' : 'masked';
}

export interface MaskReport {
  /** Classified (non-public) fields given in clear: what an access log records as read. */
  revealed: string[];
  masked: string[];
  withheld: string[];
}

function roleList(roles: string | readonly string[]): readonly string[] {
  return typeof roles === 'string' ? [roles] : roles;
}

/**
 * The record as `roles` may see it: each field resolved field > source > default, then given in clear, masked,
 * or removed. The input is not modified. The report names fields as `source.field`.
 */
export function maskRecordWithReport<T extends Record<string, unknown>>(
  record: T,
  sourceName: string,
  policy: SecurityPolicy,
  roles: string | readonly string[],
): { record: Partial<Record<keyof T, unknown>>; report: MaskReport } {
  const who = roleList(roles);
  const out: Record<string, unknown> = {};
  const report: MaskReport = { revealed: [], masked: [], withheld: [] };
  for (const [field, value] of Object.entries(record)) {
    const { level, rule } = resolveClassification(policy, sourceName, field);
    const treatment = treatmentFor(rule, who);
    const name = `${sourceName}.${field}`;
    if (treatment === 'clear') {
      out[field] = value;
      if (level !== 'public') report.revealed.push(name);
    } else if (treatment === 'masked') {
      out[field] = maskValue(value, rule.masking as Exclude<MaskingMode, 'none'>);
      report.masked.push(name);
    } else {
      report.withheld.push(name);
    }
  }
  return { record: out as Partial<Record<keyof T, unknown>>, report };
}

export function maskRecord<T extends Record<string, unknown>>(
  record: T,
  sourceName: string,
  policy: SecurityPolicy,
  roles: string | readonly string[],
): Partial<Record<keyof T, unknown>> {
  return maskRecordWithReport(record, sourceName, policy, roles).record;
}

function ibanValid(candidate: string): boolean {
  const s = candidate.replace(/ /g, '');
  if (s.length < 15 || s.length > 34) return false;
  let rem = 0;
  for (const ch of s.slice(4) + s.slice(0, 4)) {
    const digits = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of digits) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem === 1;
}

/** Whether a string of 13-19 digits (spaces or dashes allowed between) passes the Luhn check of card numbers. */
export function isCardNumber(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '');
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const CARD_RE = /\b\d(?:[ -]?\d){12,18}\b/g;

/**
 * Replaces the account numbers that free text (an error message, a note) can be searched for reliably: IBANs
 * that pass their mod-97 check and card numbers that pass Luhn. Other formats cannot be told from ordinary
 * numbers, which is why sensitive values belong in classified fields, not in messages.
 */
export function replaceAccountNumbers(text: string, replace: (match: string) => string): string {
  return text
    .replace(IBAN_RE, (m) => (ibanValid(m) ? replace(m) : m))
    .replace(CARD_RE, (m) => (isCardNumber(m) ? replace(m) : m));
}

/** Deeper than any payload we write; a guard against stack exhaustion on hostile input. */
const MAX_DEPTH = 200;

/**
 * Masks a JSON value whose source is unknown (a workflow payload, a log object): any property, at any depth, whose
 * name a field rule classifies (compared loosely, `accountNumber` ~ `account_number`) is treated by the strictest
 * such rule. Properties no field rule names are left alone, except that with `maskFreeText` IBANs and card numbers
 * inside any other string (an error message quoting an account) are partially masked too.
 */
export function maskByFieldName(
  value: unknown,
  policy: SecurityPolicy,
  roles: string | readonly string[],
  opts: { maskFreeText?: boolean } = {},
): { value: unknown; report: MaskReport } {
  const who = roleList(roles);
  const levels = new Map<string, ClassificationLevel>();
  for (const [selector, level] of Object.entries(policy.fields)) {
    const key = normalizeFieldName(selector.slice(selector.indexOf('.') + 1));
    const known = levels.get(key);
    if (!known || levelRank(level) > levelRank(known)) levels.set(key, level);
  }
  const report: MaskReport = { revealed: [], masked: [], withheld: [] };
  const note = (list: string[], name: string) => {
    if (!list.includes(name)) list.push(name);
  };

  const walk = (node: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new Error(`value nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(node)) return node.map((item) => walk(item, depth + 1));
    if (typeof node === 'string' && opts.maskFreeText) return replaceAccountNumbers(node, maskPartial);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      const level = levels.get(normalizeFieldName(key));
      if (!level) {
        out[key] = walk(child, depth + 1);
        continue;
      }
      const rule = policy.classifications[level];
      const treatment = treatmentFor(rule, who);
      if (treatment === 'clear') {
        out[key] = walk(child, depth + 1);
        if (level !== 'public') note(report.revealed, key);
      } else if (treatment === 'masked') {
        out[key] = maskValue(child, rule.masking as Exclude<MaskingMode, 'none'>);
        note(report.masked, key);
      } else {
        note(report.withheld, key);
      }
    }
    return out;
  };
  return { value: walk(value, 0), report };
}

// What an evidence package shows of a reconciliation's exceptions: each sensitive value (the key, both sides'
// amounts, the difference, people's notes and references) as the package's reader role may see it under the
// security policy, at the reconciliation's data classification (the stricter of its two sources; a side's own
// amount at that side's level). A role outside the level's access list sees the masked form (restricted: at most
// the last four characters) or nothing (`[withheld]`).
//
// A reconciliation whose data has a data key (its dataset) has its exceptions' clear values sealed under that key
// inside the package, and nothing of them in clear: what the reader role would see in clear is shown as `[sealed]`,
// and only masked forms (what the policy lets that role see for good) stay readable. Crypto-shredding the dataset
// then leaves the package whole and verifiable while its values can no longer be read by anyone.
//
// Pure: the caller hands in the sealing function (which holds the key).
import { z } from 'zod';
import { maskPartial, maskValue, replaceAccountNumbers, treatmentFor } from '../security/masking';
import { CLASSIFICATION_LEVELS, hasAccess, type ClassificationLevel, type SecurityPolicy } from '../security/policy';
import type { DocumentException } from './evidence';

export const SEALED_MARK = '[sealed]';
export const WITHHELD_MARK = '[withheld]';
/** The version of evidence.json whose exceptions may carry a view (readers of version 1 do not know `view`). */
export const VIEWED_SCHEMA_VERSION = 2;

export const ExceptionViewSchema = z
  .object({
    /** The roles the values are shown for. */
    roles: z.array(z.string().min(1)).min(1),
    /** The reconciliation's data classification (its stricter source). */
    level: z.enum(CLASSIFICATION_LEVELS),
    masked: z.array(z.string()),
    withheld: z.array(z.string()),
    /** The clear values, sealed under the dataset's data key: readable only while that key exists. */
    sealed: z
      .object({ dataset: z.string().min(1), value: z.string().regex(/^ffe1:[A-Za-z0-9+/]+=*$/) })
      .strict()
      .optional(),
  })
  .strict();
export type ExceptionView = z.infer<typeof ExceptionViewSchema>;

export interface ReconDataView {
  /** The reconciliation's data classification (the stricter of its sources). */
  level: ClassificationLevel;
  /** Each side's own level, when known: a side's amount takes it. */
  sides?: { a: ClassificationLevel; b: ClassificationLevel };
  /** The reconciliation's dataset and a function sealing under its data key; absent when its data has no key. */
  seal?: { dataset: string; seal: (clear: string, context: string) => string };
}

/** The clear values an exception's view replaces, as sealed (one JSON object per item). */
export interface SealedExceptionValues {
  key: string;
  amountA: string | null;
  amountB: string | null;
  difference: string;
  note: string | null;
  reference: string | null;
}

/** What a sealed value of an item is bound to: the package and the item. */
export function sealContext(packageId: string, itemId: string): string {
  return `evidence.json|${packageId}|${itemId}`;
}

/**
 * The item as `roles` may see it, with its view; the item itself when the view would change nothing (its data is
 * not sealed and every value is in clear for these roles).
 */
export function viewException(
  item: DocumentException,
  packageId: string,
  policy: SecurityPolicy,
  roles: readonly string[],
  recon: ReconDataView,
): DocumentException {
  const masked: string[] = [];
  const withheld: string[] = [];
  const sealed = recon.seal !== undefined;
  let changed = sealed;
  const show = (field: string, value: string | null, level: ClassificationLevel, freeText = false) => {
    if (value === null) return null;
    const rule = policy.classifications[level];
    const treatment = treatmentFor(rule, roles);
    if (treatment === 'clear') {
      if (sealed && level !== 'public') return SEALED_MARK;
      // Free text can quote an account number: only roles cleared for restricted data see those in clear.
      if (!freeText || hasAccess(policy.classifications.restricted, roles)) return value;
      const shown = replaceAccountNumbers(value, maskPartial);
      if (shown !== value) {
        changed = true;
        masked.push(field);
      }
      return shown;
    }
    changed = true;
    if (treatment === 'masked') {
      masked.push(field);
      // A sentence has no meaningful last four characters: people's words are masked whole.
      return maskValue(value, freeText ? 'full' : (rule.masking as 'partial' | 'full')) as string;
    }
    withheld.push(field);
    return WITHHELD_MARK;
  };
  const level = recon.level;
  const r = item.resolution;
  const shown = {
    key: show('key', item.key, level) as string,
    amountA: show('amountA', item.amountA, recon.sides?.a ?? level),
    amountB: show('amountB', item.amountB, recon.sides?.b ?? level),
    difference: show('difference', item.difference, level) as string,
    note: show('resolution.note', r.note, level, true),
    reference: show('resolution.reference', r.reference, level, true),
  };
  if (!changed) return item;
  const clear: SealedExceptionValues = {
    key: item.key,
    amountA: item.amountA,
    amountB: item.amountB,
    difference: item.difference,
    note: r.note,
    reference: r.reference,
  };
  return {
    ...item,
    key: shown.key,
    amountA: shown.amountA,
    amountB: shown.amountB,
    difference: shown.difference,
    resolution: { ...r, note: shown.note, reference: shown.reference },
    view: {
      roles: [...roles],
      level,
      masked,
      withheld,
      ...(recon.seal
        ? {
            sealed: {
              dataset: recon.seal.dataset,
              value: recon.seal.seal(JSON.stringify(clear), sealContext(packageId, item.id)),
            },
          }
        : {}),
    },
  };
}

/** The item with its sealed clear values put back (for a reader holding the key); its view is dropped. */
export function unsealedException(item: DocumentException, clearJson: string): DocumentException {
  const clear = JSON.parse(clearJson) as SealedExceptionValues;
  const { view: _view, ...rest } = item;
  return {
    ...rest,
    key: clear.key,
    amountA: clear.amountA,
    amountB: clear.amountB,
    difference: clear.difference,
    resolution: { ...item.resolution, note: clear.note, reference: clear.reference },
  };
}

/**
 * The document with every exception viewed for `roles`: a reconciliation `recons` does not describe is at the
 * policy's default classification, unsealed. A document with any viewed item is written as version 2.
 */
export function applyExceptionViews<
  D extends { packageId: string; schemaVersion: number; exceptions: { items: DocumentException[] } },
>(doc: D, policy: SecurityPolicy, roles: readonly string[], recons: Readonly<Record<string, ReconDataView>>): D {
  const fallback: ReconDataView = { level: policy.defaultClassification };
  const items = doc.exceptions.items.map((e) =>
    viewException(e, doc.packageId, policy, roles, Object.hasOwn(recons, e.reconId) ? recons[e.reconId] : fallback),
  );
  if (items.every((e) => e.view === undefined)) return doc;
  return { ...doc, schemaVersion: VIEWED_SCHEMA_VERSION, exceptions: { ...doc.exceptions, items } };
}

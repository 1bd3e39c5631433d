// What both evidence documents (PDF and HTML) show beyond the raw fields, computed once so the two carry the
// same figures: the exceptions grouped by reconciliation (in the population's order) and category with exact
// subtotals of both sides and the difference, the sign-offs, and the conclusion with its facts.
import type { EvidenceDocument } from '../../domain/compliance/evidence';
import { MULTI_CURRENCY } from '../../domain/compliance/evidence';
import { Dec } from '../../domain/money';

type Item = EvidenceDocument['exceptions']['items'][number];

export interface Subtotal {
  count: number;
  open: number;
  /** Exact sums of the amounts present (a missing side adds nothing), at the widest scale of their inputs; null
   * when the reconciliation mixes currencies, where a sum would add unlike units. */
  amountA: string | null;
  amountB: string | null;
  difference: string | null;
  /** True when some amounts are shown masked or sealed (exception-view.ts): the sums are then not shown either. */
  hidden?: boolean;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
/**
 * What a reader must know when exceptions are shown as a role may see them (exception-view.ts): for whom, and what
 * `[sealed]` means; undefined when every exception is shown as recorded.
 */
export function viewNote(doc: EvidenceDocument): string | undefined {
  const views = doc.exceptions.items.flatMap((e) => (e.view ? [e.view] : []));
  if (!views.length) return undefined;
  const roles = [...new Set(views.flatMap((v) => v.roles))].join(', ');
  const sealed = [...new Set(views.flatMap((v) => (v.sealed ? [v.sealed.dataset] : [])))];
  return (
    `Exception values are shown as the ${roles} role may see them under the security policy (masked or [withheld] ` +
    'where it is not cleared for their classification).' +
    (sealed.length
      ? ` Values marked [sealed] are kept in evidence.json sealed under their reconciliation's data key ` +
        `(${sealed.join(', ')}): finflow evidence open reads them with the keys; once a dataset is crypto-shredded ` +
        'nobody can, and shredding.json beside the package says when, why and by whom.'
      : '')
  );
}

/** What a subtotal left empty shows instead of a sum. */
export function noSum(s: Subtotal): string {
  return s.hidden ? 'not shown (amounts sealed or masked)' : 'mixed currencies';
}

export interface ExceptionGroup {
  reconId: string;
  reconName?: string;
  category: string;
  /** Open exceptions first, then the rest, each in the document's order. */
  items: Item[];
  subtotal: Subtotal;
}

const places = (s: string) => (s.includes('.') ? s.length - s.indexOf('.') - 1 : 0);

export function subtotal(items: readonly Item[], mixedCurrencies = false): Subtotal {
  // A sum of masked or sealed amounts would show what the masking hides (one item's subtotal is its amount).
  if (items.some((e) => [e.amountA, e.amountB, e.difference].some((v) => v !== null && !DECIMAL.test(v))))
    return {
      count: items.length,
      open: items.filter((e) => e.resolution.status === 'open').length,
      amountA: null,
      amountB: null,
      difference: null,
      hidden: true,
    };
  let a = new Dec(0);
  let b = new Dec(0);
  let d = new Dec(0);
  let scale = 0;
  for (const e of items) {
    if (e.amountA !== null) a = a.plus(e.amountA);
    if (e.amountB !== null) b = b.plus(e.amountB);
    d = d.plus(e.difference);
    for (const v of [e.amountA, e.amountB, e.difference]) if (v !== null) scale = Math.max(scale, places(v));
  }
  const fmt = (v: Dec) => (mixedCurrencies ? null : v.toFixed(scale));
  return {
    count: items.length,
    open: items.filter((e) => e.resolution.status === 'open').length,
    amountA: fmt(a),
    amountB: fmt(b),
    difference: fmt(d),
  };
}

/**
 * Every exception in exactly one group. Reconciliations come in the population's order (an exception naming a
 * reconciliation outside it, which the document's builder refuses, would come last rather than vanish), and
 * categories alphabetically within each.
 */
export function exceptionGroups(doc: EvidenceDocument, items = doc.exceptions.items): ExceptionGroup[] {
  const recons = doc.population.reconciliations;
  const rank = new Map(recons.map((r, i) => [r.reconId, i]));
  const byKey = new Map<string, Item[]>();
  for (const e of items) {
    const k = `${e.reconId}\u0000${e.category}`;
    const list = byKey.get(k);
    if (list) list.push(e);
    else byKey.set(k, [e]);
  }
  const groups = [...byKey.values()].map((list) => {
    const { reconId, category } = list[0];
    const recon = recons.find((r) => r.reconId === reconId);
    const mixed = recon?.a.amount === MULTI_CURRENCY || recon?.b.amount === MULTI_CURRENCY;
    const ordered = [
      ...list.filter((e) => e.resolution.status === 'open'),
      ...list.filter((e) => e.resolution.status !== 'open'),
    ];
    return {
      reconId,
      ...(recon?.name ? { reconName: recon.name } : {}),
      category,
      items: ordered,
      subtotal: subtotal(list, mixed),
    };
  });
  const r = (id: string) => rank.get(id) ?? Number.MAX_SAFE_INTEGER;
  return groups.sort(
    (x, y) =>
      r(x.reconId) - r(y.reconId) ||
      (x.reconId < y.reconId ? -1 : x.reconId > y.reconId ? 1 : 0) ||
      (x.category < y.category ? -1 : x.category > y.category ? 1 : 0),
  );
}

export const CONTROL_NAMES: Record<string, string> = {
  controlTotalsBalanced: 'Control totals balanced',
  segregationOfDuties: 'Segregation of duties held',
  approvalsWithinLimits: 'Approvals within limits',
  exceptionsAccountedFor: 'Every exception accounted for',
  exceptionsExplained: 'Every exception explained',
  attestationGiven: 'Attestation given',
};

export interface SignOff {
  step: string;
  who: string;
  role: string;
  at: string;
  detail: string;
}

/**
 * Who put their name to this close, in the order the work was done: preparer, reviewer, each approval decision,
 * each attestation; a required sign-off nobody gave is listed as missing rather than left out.
 */
export function signOffs(doc: EvidenceDocument): SignOff[] {
  const out: SignOff[] = [
    { step: 'Prepared', who: doc.preparedBy.id, role: doc.preparedBy.role, at: doc.preparedBy.at, detail: '' },
    doc.reviewedBy
      ? { step: 'Reviewed', who: doc.reviewedBy.id, role: doc.reviewedBy.role, at: doc.reviewedBy.at, detail: '' }
      : { step: 'Reviewed', who: 'NOT REVIEWED', role: '', at: '', detail: '' },
  ];
  for (const a of doc.approvals.decisions)
    out.push({
      step: `Approval ${a.checkpointId}`,
      who: a.approverId,
      role: a.role,
      at: a.at,
      detail:
        a.decision +
        (a.signed === undefined ? '' : a.signed ? ', signed token' : ', UNSIGNED (claimed, development mode)'),
    });
  for (const a of doc.attestation.given)
    out.push({ step: 'Attestation', who: a.id, role: a.role, at: a.at, detail: a.statement ?? '' });
  for (const role of doc.attestation.missingFrom)
    out.push({ step: 'Attestation', who: 'MISSING', role, at: '', detail: 'required, not given' });
  return out;
}

/** The conclusion line as the document states it, with the facts a reviewer checks it against. */
export function conclusionFacts(doc: EvidenceDocument): { held: boolean; headline: string; facts: string } {
  const notHeld = Object.entries(doc.controlsValidated)
    .filter(([, r]) => r && !r.held)
    .map(([k]) => CONTROL_NAMES[k] ?? k);
  return {
    held: doc.allControlsHeld,
    headline: doc.allControlsHeld
      ? 'All controls held.'
      : `At least one control did not hold: ${notHeld.join(', ') || 'see below'}.`,
    facts:
      `${doc.exceptions.count} exceptions, ${doc.exceptions.open} still open; ` +
      `${doc.attestation.given.length} of ${doc.attestation.requiredFrom.length} required attestations given; ` +
      `${doc.reviewedBy ? `reviewed by ${doc.reviewedBy.id}` : 'not reviewed'}.`,
  };
}

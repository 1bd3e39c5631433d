// When several records on each side are equally good candidates under a rule, the data does not say which belongs
// with which, and a wrong match is the worst error a reconciliation can make. These helpers decide, for a cluster of
// candidates (records connected by "this a could pair with this b"), whether exactly one pairing explains it:
//   - one record on each side: they pair;
//   - all records alike in everything the rule looks at (amount and date), as many on each side: any pairing is
//     the same pairing to the books, so they pair (in input order, which then decides nothing that matters);
//   - otherwise the cluster pairs only when it has exactly one perfect matching (found by repeatedly pairing a record
//     that has a single candidate left: in a bipartite graph with a unique perfect matching such a record always
//     exists). Anything else is proposed as a suggestion listing the candidate pairs, and nothing is matched.
import { pair, suggest, type MatchState } from './match-state';

/** Above this many records per side a cluster is proposed as is, without searching for a unique pairing. */
const MAX_RESOLVED = 64;
/** Candidate pairs listed in a suggestion; the rest are counted (see `suggest`). */
const MAX_LISTED = 50;

/**
 * Connected clusters of equal-amount records whose dates are at most `days` apart. `as` and `bs` must be sorted
 * by date (no NO_DAY). Linear: the candidates of each a form a contiguous run of bs, chained once.
 */
export function windowClusters(
  as: readonly number[],
  dayA: Int32Array,
  bs: readonly number[],
  dayB: Int32Array,
  days: number,
): [number[], number[]][] {
  const n = as.length;
  const m = bs.length;
  const parent = new Int32Array(n + m);
  for (let x = 0; x < n + m; x++) parent[x] = x;
  const root = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const union = (x: number, y: number) => {
    const rx = root(x);
    const ry = root(y);
    if (rx !== ry) parent[rx] = ry;
  };
  let lo = 0;
  let hi = 0;
  let chained = 0;
  for (let p = 0; p < n; p++) {
    const d = dayA[as[p]];
    while (lo < m && dayB[bs[lo]] < d - days) lo++;
    if (hi < lo) hi = lo;
    while (hi < m && dayB[bs[hi]] <= d + days) hi++;
    if (lo >= hi) continue;
    union(p, n + lo);
    for (let t = Math.max(lo, chained); t < hi - 1; t++) union(n + t, n + t + 1);
    chained = Math.max(chained, hi - 1);
  }
  const byRoot = new Map<number, [number[], number[]]>();
  const place = (x: number, record: number, side: 0 | 1) => {
    const r = root(x);
    let c = byRoot.get(r);
    if (c === undefined) {
      c = [[], []];
      byRoot.set(r, c);
    }
    c[side].push(record);
  };
  for (let p = 0; p < n; p++) place(p, as[p], 0);
  for (let q = 0; q < m; q++) place(n + q, bs[q], 1);
  return [...byRoot.values()].filter(([ca, cb]) => ca.length > 0 && cb.length > 0);
}

/** The only perfect matching of the cluster (as index pairs into ca/cb), or undefined when there is none or several. */
function uniquePerfectMatching(
  na: number,
  nb: number,
  edge: (p: number, q: number) => boolean,
): [number, number][] | undefined {
  if (na !== nb || na > MAX_RESOLVED) return undefined;
  const adj: number[][] = [];
  for (let p = 0; p < na; p++) {
    const row: number[] = [];
    for (let q = 0; q < nb; q++) if (edge(p, q)) row.push(q);
    adj.push(row);
  }
  const aliveA = new Uint8Array(na).fill(1);
  const aliveB = new Uint8Array(nb).fill(1);
  const degA = adj.map((row) => row.length);
  const degB = new Int32Array(nb);
  for (const row of adj) for (const q of row) degB[q]++;
  const out: [number, number][] = [];
  const removeB = (q: number) => {
    aliveB[q] = 0;
    for (let p = 0; p < na; p++) if (aliveA[p] && adj[p].includes(q)) degA[p]--;
  };
  const removeA = (p: number) => {
    aliveA[p] = 0;
    for (const q of adj[p]) if (aliveB[q]) degB[q]--;
  };
  while (out.length < na) {
    let forced = false;
    for (let p = 0; p < na && !forced; p++) {
      if (!aliveA[p]) continue;
      if (degA[p] === 0) return undefined;
      if (degA[p] !== 1) continue;
      const q = adj[p].find((x) => aliveB[x]) as number;
      out.push([p, q]);
      removeA(p);
      removeB(q);
      forced = true;
    }
    for (let q = 0; q < nb && !forced; q++) {
      if (!aliveB[q]) continue;
      if (degB[q] === 0) return undefined;
      if (degB[q] !== 1) continue;
      const p = adj.findIndex((row, x) => aliveA[x] && row.includes(q));
      out.push([p, q]);
      removeA(p);
      removeB(q);
      forced = true;
    }
    // Every record left has two candidates or more: several perfect matchings (or none).
    if (!forced) return undefined;
  }
  return out;
}

/**
 * Settles one cluster of rule r: pairs it when exactly one pairing explains it, else proposes it. `edge(i, j)` says
 * whether record i of side a and j of side b are candidates under the rule.
 */
export function settleCluster(
  s: MatchState,
  r: number,
  ca: number[],
  cb: number[],
  edge: (i: number, j: number) => boolean,
): void {
  if (ca.length === 1 && cb.length === 1) {
    pair(s, r, ca[0], cb[0]);
    return;
  }
  if (ca.length === cb.length && alike(s, ca, cb)) {
    const as = ca.slice().sort((x, y) => x - y);
    const bs = cb.slice().sort((x, y) => x - y);
    for (let p = 0; p < as.length; p++) pair(s, r, as[p], bs[p]);
    return;
  }
  const unique = uniquePerfectMatching(ca.length, cb.length, (p, q) => edge(ca[p], cb[q]));
  if (unique !== undefined) {
    for (const [p, q] of unique) pair(s, r, ca[p], cb[q]);
    return;
  }
  const candidates: [number[], number[]][] = [];
  let count = 0;
  for (const i of ca) for (const j of cb) if (edge(i, j) && ++count <= MAX_LISTED) candidates.push([[i], [j]]);
  suggest(s, r, ca.slice(), cb.slice(), candidates, count);
}

/** Whether every record of the cluster has the same amount and the same date (or none). */
function alike(s: MatchState, ca: number[], cb: number[]): boolean {
  const amount = s.amountA[ca[0]];
  const day = s.dayA[ca[0]];
  for (const i of ca) if (s.amountA[i] !== amount || s.dayA[i] !== day) return false;
  for (const j of cb) if (s.amountB[j] !== amount || s.dayB[j] !== day) return false;
  return true;
}

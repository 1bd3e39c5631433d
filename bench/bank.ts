// npm run bench:bank: bank reconciliation at scale (issue 17). A bank statement against the GL cash account sharing no
// key (bench/lib/bank-scenario.ts: 1:1 payments, referenced and short payments, deposit slips of 2..8 receipts, equal
// amounts planted, fees, outstanding checks and payments, deposits in transit), reconciled in one partition by the
// domain engine (reconcile(), the bank definition of test/unit/recon-bank-generator.ts), checked against the planted
// truth record by record; then the bank reconciliation statement from both sides' closing balances.
// Prints wall time, matches per rule, found vs planted per kind, false matches (target 0), invented pairs (target 0)
// and the statement's adjusted balances. Target (issue 17): 100k bank lines under 30 s on 2 cores.
//
//   npm run bench:bank -- [--bank-lines 100000] [--days 365] [--deposit-share 0.05] [--seed 17] [--json <file>]
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { bankReconciliationStatement, bookBalance } from '../domain/recon/bank-statement';
import { parseDefinition, type ReconciliationDefinitionInput } from '../domain/recon/definition';
import { normaliseRecords } from '../domain/recon/normalise';
import { reconcile } from '../domain/recon/reconcile';
import { bankDefinition } from '../test/unit/recon-bank-generator';
import { BANK_KINDS, SLIP_RATES, generateBankBench, type BankKind, type SlipReference } from './lib/bank-scenario';

/**
 * The bank definition of the unit tests, configured as an accountant would for deposit slips: the slip number is
 * found in both sides' text (regex_extract into `slip`), a bank line is matched with the receipts naming its slip when
 * they add up (sum_by_reference), and the statement's item count (batch_items, camt.053 NbOfTxs) sizes the sum search
 * of the slips that carry no number.
 */
function slipDefinition(periodEnd: string): ReconciliationDefinitionInput {
  const slip = (field: string) => ({
    op: 'regex_extract' as const,
    field,
    into: 'slip',
    pattern: 'SLIP\\W*(?:NO\\.?\\s*)?(\\d{7})',
    flags: 'i',
    output: 'SLIP-$1',
  });
  const rules = bankDefinition.rules.map((r) =>
    r.type === 'sum_window' ? { ...r, count_field: 'batch_items' } : r,
  );
  const at = rules.findIndex((r) => r.type === 'sum_window');
  rules.splice(at, 0, {
    id: 'slip',
    type: 'sum_by_reference',
    one_side: 'a',
    match_on: ['slip'],
    count_field: 'batch_items',
    where_a: { bank_transaction_code: { in: ['PMNT/CNTR/CDPT'] } },
  });
  return {
    ...bankDefinition,
    a: { ...bankDefinition.a, transformations: [...(bankDefinition.a.transformations ?? []), slip('remittance')] },
    b: { ...bankDefinition.b, transformations: [...(bankDefinition.b.transformations ?? []), slip('description')] },
    rules,
    categorisation: {
      ...bankDefinition.categorisation,
      bank: { ...bankDefinition.categorisation?.bank, bank_side: 'a', period_end: periodEnd },
    },
  };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
function num(name: string, fallback: number): number {
  const raw = arg(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return v;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function main(): void {
  const options = {
    bankLines: Math.round(num('bank-lines', 100_000)),
    days: Math.round(num('days', 365)),
    depositShare: num('deposit-share', 0.05),
    seed: Math.round(num('seed', 17)),
  };
  console.log(
    `machine: ${cpus().length} cpu (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}, load average at start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  let t = performance.now();
  const sc = generateBankBench(options);
  console.log(
    `generated in ${secs(performance.now() - t)}: ${sc.bank.length} bank lines, ${sc.gl.length} GL lines ` +
      `(${sc.receipts} deposit receipts) over ${options.days} days to ${sc.periodEnd}, seed ${options.seed}`,
  );

  const input = slipDefinition(sc.periodEnd);
  console.log(
    `slips: ${SLIP_RATES.both * 100}% name their number on both sides, ${SLIP_RATES.gl_only * 100}% on the GL ` +
      `receipts only, ${SLIP_RATES.none * 100}% nowhere; ${SLIP_RATES.item_count * 100}% of deposit lines give their ` +
      `item count`,
  );
  const start = performance.now();
  const def = parseDefinition(input);
  t = performance.now();
  const a = normaliseRecords(sc.bank, def, 'a');
  const b = normaliseRecords(sc.gl, def, 'b');
  const normaliseMs = performance.now() - t;
  t = performance.now();
  const result = reconcile(a, b, def);
  const reconcileMs = performance.now() - t;
  const wallMs = performance.now() - start;
  console.log(
    `wall ${secs(wallMs)} (normalise ${secs(normaliseMs)}, reconcile ${secs(reconcileMs)}), ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; target < 30 s: ${wallMs < 30_000 ? 'MET' : 'NOT MET'}`,
  );

  const memo = new Map<string, string>();
  for (const r of [...a, ...b]) memo.set(r.id, r.fields.memo);
  const kindOf = (id: string) => (memo.get(id) ?? '?').split(':')[0] as BankKind;
  const cases = (ids: readonly string[]) => new Set(ids.map((id) => memo.get(id)));
  const size = new Map<string, number>();
  for (const m of memo.values()) size.set(m, (size.get(m) ?? 0) + 1);

  const byRule = new Map<string, number>();
  for (const m of result.matches) byRule.set(m.rule, (byRule.get(m.rule) ?? 0) + 1);
  console.log(
    `matches per rule: ${[...byRule].map(([r, n]) => `${r} ${n}`).join(', ')} (total ${result.matches.length})`,
  );
  const suggestedByRule = new Map<string, number>();
  for (const e of result.exceptions)
    if (e.category === 'suggested_match') {
      const r = String(e.evidence.rule ?? e.rule ?? '?');
      suggestedByRule.set(r, (suggestedByRule.get(r) ?? 0) + 1);
    }
  console.log(
    `proposals (suggested_match) per rule: ${[...suggestedByRule].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`,
  );
  const gaveUp = new Map<string, { groups: number; records: number }>();
  for (const g of result.gave_up) {
    const k = `${g.rule}/${g.reason}`;
    const v = gaveUp.get(k) ?? { groups: 0, records: 0 };
    v.groups++;
    v.records += g.a.length + g.b.length;
    gaveUp.set(k, v);
  }
  console.log(
    `gave up: ${[...gaveUp].map(([k, v]) => `${k} ${v.groups} searches (${v.records} records)`).join(', ') || 'none'}`,
  );

  // Tangles: single records whose subsets share records with other single records' subsets, given up together.
  // Every single record of a tangle is reported with the tangle's size: n entries of size n make one tangle.
  let tangleCount = 0;
  let largestTangle = 0;
  let uniqueInTangle = 0;
  for (const g of result.gave_up) {
    const m = /: (\d+) records compete for (\d+)$/.exec(g.group);
    if (m === null) continue;
    tangleCount += 1 / Number(m[1]);
    largestTangle = Math.max(largestTangle, Number(m[1]));
    if (g.combinations === 1) uniqueInTangle++;
  }
  if (largestTangle > 0)
    console.log(
      `  tangles given up: ${Math.round(tangleCount)}, the largest of ${largestTangle} single records; ` +
        `${uniqueInTangle} of their single records had exactly one subset of their own`,
    );

  // A match is right when it holds exactly the records of one planted case (all of them).
  const falseMatches = result.matches.filter((m) => {
    const c = cases([...m.a, ...m.b]);
    return c.size !== 1 || size.get([...c][0] as string) !== m.a.length + m.b.length;
  });
  const partial = falseMatches.filter((m) => cases([...m.a, ...m.b]).size === 1).length;
  console.log(
    `false matches: ${falseMatches.length} (${partial} within one case but not all of it, ` +
      `${falseMatches.length - partial} mixing cases)`,
  );
  const invented = result.exceptions.filter(
    (e) => e.category !== 'suggested_match' && e.open && cases([...e.a, ...e.b]).size > 1,
  );
  console.log(`invented pairs (an open exception pairing records of two cases): ${invented.length}`);
  for (const m of falseMatches.slice(0, 5))
    console.log(`  false match ${m.rule}: ${[...m.a, ...m.b].map((id) => memo.get(id)).join(' ')}`);

  // Found: the case's records together in the outcome meant for the kind.
  const found = Object.fromEntries(BANK_KINDS.map((k) => [k, 0])) as Record<BankKind, number>;
  const whole = (ids: readonly string[]) => {
    const c = cases(ids);
    return c.size === 1 && size.get([...c][0] as string) === ids.length;
  };
  const expectRule: Partial<Record<BankKind, string[]>> = {
    payment: ['same-day', 'window'],
    referenced: ['reference'],
    deposit: ['deposit-slip', 'slip'],
  };
  // Deposits found by where their slip number is written and whether the statement counted their items.
  const slipGroup = (memo: string) => {
    const x = sc.slips.get(memo) as { reference: SlipReference; counted: boolean };
    return `${x.reference}${x.counted ? ', counted' : ', no count'}`;
  };
  const slipStats = new Map<string, { planted: number; matched: number; proposed: number }>();
  const slipStat = (memo: string) => {
    const g = slipGroup(memo);
    let v = slipStats.get(g);
    if (v === undefined) slipStats.set(g, (v = { planted: 0, matched: 0, proposed: 0 }));
    return v;
  };
  for (const memo of sc.slips.keys()) slipStat(memo).planted++;
  for (const m of result.matches) {
    const ids = [...m.a, ...m.b];
    const k = kindOf(ids[0]);
    if (whole(ids) && expectRule[k]?.includes(m.rule)) {
      found[k]++;
      if (k === 'deposit') slipStat(memo.get(ids[0]) as string).matched++;
    }
  }
  const expectCategory: Partial<Record<BankKind, string>> = {
    short: 'amount_mismatch',
    slip_diff: 'amount_mismatch',
    fee: 'bank_fee',
    check: 'outstanding_check',
    outgoing: 'outstanding_payment',
    in_transit: 'deposit_in_transit',
  };
  const ambiguousSeen = new Set<string>();
  // A deposit slip proposed (not matched): its planted receipts are one of the candidates listed for a person.
  const depositsProposed = new Set<string>();
  let depositProposals = 0;
  for (const e of result.exceptions) {
    const ids = [...e.a, ...e.b];
    const k = kindOf(ids[0]);
    if (e.category === 'suggested_match') {
      for (const id of ids) if (kindOf(id) === 'ambiguous') ambiguousSeen.add(memo.get(id) as string);
      if (e.evidence.rule !== 'deposit-slip') continue;
      depositProposals++;
      for (const c of String(e.evidence.candidates).split(' | ')) {
        const cand = c.split(/[=+]/);
        if (kindOf(cand[0]) === 'deposit' && whole(cand)) depositsProposed.add(memo.get(cand[0]) as string);
      }
    } else if (expectCategory[k] === e.category && whole(ids)) found[k]++;
  }
  found.ambiguous = ambiguousSeen.size;
  console.log(
    `deposit proposals (suggested_match of the sum rule): ${depositProposals}, listing the planted receipts of ` +
      `${depositsProposed.size} slips among their candidates`,
  );
  for (const m of depositsProposed) slipStat(m).proposed++;
  console.log('deposits by where the slip number is written (bank+GL / GL only / none) and item count:');
  for (const [g, v] of [...slipStats].sort())
    console.log(
      `  ${g.padEnd(20)} planted ${String(v.planted).padStart(5)}, matched ${String(v.matched).padStart(5)}, ` +
        `proposed with the planted receipts among the candidates ${v.proposed}`,
    );
  // Where the planted records that were not found ended up.
  const outcome = new Map<string, string>();
  for (const m of result.matches) for (const id of [...m.a, ...m.b]) outcome.set(id, `match:${m.rule}`);
  for (const e of result.exceptions)
    if (e.open) for (const id of [...e.a, ...e.b]) outcome.set(id, `exception:${e.category}`);
  for (const k of BANK_KINDS) {
    const where = new Map<string, number>();
    if (found[k] < sc.planted[k])
      for (const [id, m] of memo) {
        if (!m.startsWith(`${k}:`)) continue;
        const o = outcome.get(id) ?? 'nowhere';
        where.set(o, (where.get(o) ?? 0) + 1);
      }
    const missed =
      where.size === 0 ? '' : `  (records of the kind: ${[...where].map(([o, n]) => `${o} ${n}`).join(', ')})`;
    console.log(`  ${k.padEnd(10)} found ${found[k]} of ${sc.planted[k]} planted${missed}`);
  }

  // The statement: both accounts opened at the same balance; their closing balances are the opening plus their lines.
  const opening = '1000000.00';
  const statement = bankReconciliationStatement({
    currency: 'EUR',
    period_end: sc.periodEnd,
    bank_side: 'a',
    balance_per_bank: {
      amount: bookBalance(
        opening,
        sc.bank.map((r) => r.values.amount as string),
        'EUR',
      ),
      source: 'generated statement',
      date: sc.periodEnd,
    },
    balance_per_books: {
      amount: bookBalance(
        opening,
        sc.gl.map((r) => r.values.amount as string),
        'EUR',
      ),
      source: 'generated GL',
    },
    exceptions: result.exceptions,
  });
  console.log(
    `statement: per bank ${statement.balance_per_bank.amount} -> adjusted ${statement.adjusted_balance_per_bank}; ` +
      `per books ${statement.balance_per_books.amount} -> adjusted ${statement.adjusted_balance_per_books}; ` +
      `${statement.agrees ? 'agrees' : `UNEXPLAINED DIFFERENCE ${statement.unexplained_difference}`}; ` +
      `${statement.items_to_explain} items to explain`,
  );
  console.log(
    `load average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const json = arg('json');
  if (json)
    writeFileSync(
      json,
      JSON.stringify(
        {
          options,
          bank_lines: sc.bank.length,
          gl_lines: sc.gl.length,
          wall_ms: wallMs,
          normalise_ms: normaliseMs,
          reconcile_ms: reconcileMs,
          matches_by_rule: Object.fromEntries(byRule),
          planted: sc.planted,
          found,
          deposits_proposed: depositsProposed.size,
          deposits_by_slip_reference: Object.fromEntries(slipStats),
          false_matches: falseMatches.length,
          invented_pairs: invented.length,
          statement_agrees: statement.agrees,
        },
        null,
        2,
      ),
    );
}

main();

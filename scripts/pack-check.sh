#!/usr/bin/env bash
# `npm run pack:check`: the package as a stranger gets it. Packs finflow (prepack builds dist/), installs the
# tarball into a scratch project in a temp directory (offline from npm's cache: --prefer-offline), then from that
# project: requires 'finflow' and builds the seed's workflow into a close plan, type-checks a TypeScript file that
# does `import * as finflow from 'finflow'`, and runs the installed `finflow --help`. Prints the figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/finflow-pack-XXXXXX")"
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
(cd "$root" && npm pack --silent --pack-destination "$work" >"$work/pack.out")
tarball="$work/$(tail -n1 "$work/pack.out")"
t1=$(now)
echo "packed   $(basename "$tarball"): $(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | wc -l) files in $(secs "$t0" "$t1") s (build included)"
if tar -tzf "$tarball" | grep -E '^package/(test|bench|scripts|examples)/|\.env$' >/dev/null; then
  echo "the tarball holds files it must not:" >&2
  tar -tzf "$tarball" | grep -E '^package/(test|bench|scripts|examples)/|\.env$' >&2
  exit 1
fi

mkdir -p "$work/app"
cd "$work/app"
printf '{ "name": "finflow-scratch", "version": "1.0.0", "private": true }\n' >package.json
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
t2=$(now)
echo "installed into $work/app in $(secs "$t1" "$t2") s"

cat >use.js <<'JS'
const finflow = require('finflow');
const systems = new finflow.SystemRegistry()
  .register('general_ledger', 'postgres', { secret: { env: 'GL_URL' } })
  .register('erp', 'mariadb', { secret: { env: 'ERP_URL' } });
const dataSources = new finflow.DataSourceRegistry()
  .register('gl_balances', {
    system: 'general_ledger',
    query: 'SELECT account_code, balance, currency FROM gl_balances WHERE period_end_date = :month_end_date',
    parameters: ['month_end_date'],
    keyFields: ['account_code'],
    valueFields: ['balance'],
    currencyField: 'currency',
  })
  .register('erp_balances', {
    system: 'erp',
    query: 'SELECT acct_num, total, curr FROM erp_balances',
    keyFields: ['acct_num'],
    valueFields: ['total'],
    currencyField: 'curr',
  });
const mappings = new finflow.MappingRegistry().register('gl_to_erp', {
  keyMappings: { account_code: 'acct_num' },
  valueMappings: { balance: 'total' },
  fieldMappings: { currency: 'curr' },
  transformations: [{ op: 'round', field: 'balance', places: 2, mode: 'half_even' }],
});
const approvals = new finflow.ApprovalConfig()
  .defineRole('accountant', { canPrepare: ['reconciliation'] })
  .defineRole('supervisor', { canApprove: ['reconciliation'] })
  .addUser('ann', { roles: ['accountant'] })
  .addUser('sam', { roles: ['supervisor'] });
const workflow = new finflow.FinancialWorkflow('monthly_close')
  .setCloseIntegration({ company: 'ACME', owner: 'sam' })
  .addReconciliation({
    id: 'gl_vs_erp', ownerRole: 'accountant', sourceA: 'gl_balances', sourceB: 'erp_balances', mapping: 'gl_to_erp',
    matchingRules: [{ id: 'exact', type: 'exact' }],
  })
  .addApprovalCheckpoint({
    id: 'review', ownerRole: 'supervisor', predecessors: [{ task: 'gl_vs_erp', type: 'SS_WARN' }],
    itemType: 'reconciliation', requiredRoles: ['supervisor'], escalation: { timeout: '4h' }, item: { preparer: 'ann' },
  });
const plan = workflow.build({ systems, dataSources, mappings, approvals, parameters: { month_end_date: '2026-10-31' } });
if (plan.period !== '2026-10' || plan.tasks.length !== 2) throw new Error('unexpected plan ' + JSON.stringify(plan));
try {
  new finflow.FinancialWorkflow('bad').setCloseIntegration({ company: 'ACME', owner: 'sam' })
    .addReconciliation({ id: 'r', ownerRole: 'accountant', sourceA: 'nope', sourceB: 'erp_balances', matchingRules: [{ id: 'e', type: 'exact' }] })
    .build({ systems, dataSources, mappings, approvals, parameters: { period: '2026-10' } });
  throw new Error('a bad workflow was built');
} catch (e) {
  if (!(e instanceof finflow.FinflowBuildError) || e.issues[0].path !== 'r.sourceA') throw e;
}
console.log('require("finflow"): built a close plan of ' + plan.tasks.length + ' tasks for ' + plan.company + ' ' + plan.period);
JS
node use.js

cat >use.ts <<'TS'
import * as finflow from 'finflow';
const wf: finflow.FinancialWorkflow = new finflow.FinancialWorkflow('typed').setCloseIntegration({ company: 'ACME', owner: 'sam' });
const engine: finflow.Engine = new finflow.Engine({ dataSources: new finflow.DataSourceRegistry(), temporal: { address: 'localhost:7233' } });
export const ok: [finflow.FinancialWorkflow, finflow.Engine] = [wf, engine];
TS
node "$root/node_modules/typescript/bin/tsc" --noEmit --strict --skipLibCheck --module node16 --moduleResolution node16 --target es2022 --typeRoots "$root/node_modules/@types" --types node use.ts
echo "import * as finflow from 'finflow': types resolve through package.json exports (tsc, node16 resolution)"

./node_modules/.bin/finflow --help | head -n 3
t3=$(now)
echo "checks passed in $(secs "$t2" "$t3") s; total $(secs "$t0" "$t3") s"

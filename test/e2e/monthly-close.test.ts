// Issue 8's scenario end to end on the Temporal CLI dev server, run the way `npm run demo` runs it: generated
// systems (GL in PostgreSQL, ERP in MariaDB, camt.053 and MT940 files), the plan file, signed approvals through the
// gateway, the evidence package and the history export. Every printed figure is checked against the generator's
// planted truth, never against what the engine happened to say.
import { parse } from 'csv-parse/sync';
import { Client as PgClient } from 'pg';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readSealedHeader } from '../../activities/security/file-seal';
import { buildProgram } from '../../client/cli';
import { PEOPLE, runMonthlyCloseScenario, type ScenarioOutcome } from '../../examples/monthly-close/scenario';
import { temporalCliPath } from '../../scripts/lib/servers';
import { statusQuery } from '../../workflows/definitions';
import type { CloseStatus } from '../../contracts';
import { finflowSearchAttributeKeys } from '../../scripts/lib/dev-server';
import { FAILURE_CONVERTER_PATH } from '../../platform/data-converter';
import { freshMariaDatabase } from '../helpers/mariadb';
import { freshDatabase } from '../helpers/postgres';
import { devServerEnv, uniqueId, workflowBundle } from '../helpers/temporal';

const RECORDS = 3000;
const root = resolve(__dirname, '../..');
const run = promisify(execFile);
/** The same plan, started and driven with the plain temporal CLI (see README), as another company. */
const PLAIN_ID = 'close:ACMECLI:2026-10';
let plain: CloseStatus | undefined;
const plainCommands: string[] = [];

/**
 * README's plain-CLI route: `temporal workflow start --input <close-plan.json>`, `taskAction` signals for the
 * owners' tasks, `approval` signals carrying tokens from `finflow approval sign`. Status is read through the
 * SDK client, whose codec decrypts it (the temporal CLI would need --codec-endpoint).
 */
async function drivePlainCli(ctx: { client: Client; taskQueue: string; address: string; keysDir: string }) {
  const temporal = async (...args: string[]) => {
    plainCommands.push(`temporal ${args[0]} ${args[1]}`);
    return (await run(temporalCliPath(), [...args, '--address', ctx.address, '--namespace', 'default'])).stdout;
  };
  const finflow = async (...args: string[]) =>
    (await run(join(root, 'bin/finflow'), ['--address', ctx.address, ...args], { cwd: root })).stdout;
  const input = JSON.parse(readFileSync(join(root, 'examples/monthly-close/close-plan.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  input.company = 'ACMECLI';
  await temporal(
    'workflow',
    'start',
    '--type',
    'monthEndCloseWorkflow',
    '--task-queue',
    ctx.taskQueue,
    '--workflow-id',
    PLAIN_ID,
    '--input',
    JSON.stringify(input),
  );
  const handle = ctx.client.workflow.getHandle(PLAIN_ID);
  const acted = new Set<string>();
  for (let i = 0; i < 900; i++) {
    const s = await handle.query(statusQuery);
    if (s.state === 'completed') {
      plain = s;
      return;
    }
    const stuck = s.tasks.filter((t) => t.state === 'blocked' || t.state === 'failed');
    if (stuck.length)
      throw new Error(`plain-CLI close stuck: ${stuck.map((t) => `${t.id}: ${t.blockedReason}`).join('; ')}`);
    for (const t of s.tasks)
      if (t.state === 'running' && (t.kind === 'journal_entry' || t.kind === 'manual') && !acted.has(t.id)) {
        acted.add(t.id);
        // The plan takes signed task actions only: the owner's completion is signed, printed, and sent as-is.
        const signed = await finflow(
          'task',
          'complete',
          PLAIN_ID,
          t.id,
          '--by',
          PEOPLE.accountant,
          '--signing-key',
          join(ctx.keysDir, 'approval', 'gateway.private.jwk.json'),
          '--print-signal',
        );
        await temporal(
          'workflow',
          'signal',
          '--workflow-id',
          PLAIN_ID,
          '--name',
          'taskAction',
          '--input',
          signed.trim(),
        );
      }
    for (const c of s.checkpoints) {
      if (c.state !== 'open' || !c.openLevel) continue;
      const key = `${c.checkpointId}/${c.round ?? 1}/${c.openLevel.level}`;
      if (acted.has(key)) continue;
      acted.add(key);
      const token = await finflow(
        'approval',
        'sign',
        PLAIN_ID,
        '--checkpoint',
        c.checkpointId,
        '--by',
        PEOPLE[c.openLevel.role as keyof typeof PEOPLE],
        '--round',
        String(c.round ?? 1),
        '--level',
        String(c.openLevel.level),
        '--signing-key',
        join(ctx.keysDir, 'approval', 'gateway.private.jwk.json'),
        ...(c.itemType === 'reconciliation' ? ['--resolution', 'every exception reviewed'] : []),
      );
      await temporal('workflow', 'signal', '--workflow-id', PLAIN_ID, '--name', 'approval', '--input', token.trim());
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('plain-CLI close did not finish');
}
let env: TestWorkflowEnvironment;
let outcome: ScenarioOutcome;
let dir: string;
let databaseUrl: string;
const group = (n: number) => n.toLocaleString('en-US');

beforeAll(async () => {
  env = await devServerEnv({ searchAttributes: finflowSearchAttributeKeys() });
  outcome = await runMonthlyCloseScenario(
    {
      temporal: { address: env.address },
      databaseUrl: (databaseUrl = await freshDatabase('scenario_finflow')),
      glUrl: await freshDatabase('scenario_gl'),
      erpUrl: await freshMariaDatabase('scenario_erp'),
      dir: (dir = mkdtempSync(join(tmpdir(), 'finflow-scenario-'))),
      taskQueue: uniqueId('scenario'),
      workflowBundle: await workflowBundle({ failureConverterPath: FAILURE_CONVERTER_PATH }),
    },
    { records: RECORDS, afterClose: drivePlainCli },
  );
}, 360_000);

afterAll(async () => {
  await env?.teardown();
});

describe('the seed scenario, end to end on the dev server', () => {
  it('completes the close with every task finished and nothing blocked', () => {
    expect(outcome.status.state).toBe('completed');
    expect(outcome.status.percentDone).toBe(100);
    for (const t of outcome.status.tasks) expect(['done', 'done_with_exceptions']).toContain(t.state);
    expect(outcome.status.tasks.map((t) => t.id)).toContain('sox_documentation');
  });

  it('reconciles GL against ERP with exactly the planted discrepancies, per category, and balanced control totals', () => {
    const { truth } = outcome;
    const s = outcome.recons['gl-vs-erp'];
    expect(s.controlTotals).toBe('balanced');
    expect(s.a).toEqual({ records: truth.gl.records, amount: truth.gl.amount });
    expect(s.b).toEqual({ records: truth.erp.records, amount: truth.erp.amount });
    expect(s.perCategory).toEqual(truth.categories);
    expect(s.matches).toBe(truth.matched.exact + truth.matched.accepted);
    const planted = Object.values(truth.categories).reduce((x, y) => x + y, 0);
    expect(s.exceptions).toBe(planted);
    expect(planted).toBeGreaterThan(0);
  });

  it('reconciles each bank statement against its GL cash account with the planted bank discrepancies', () => {
    const banks = outcome.truth.bank.perBank;
    for (const [reconId, bank] of [
      ['bank-camt053', 'camt053'],
      ['bank-mt940', 'mt940'],
    ] as const) {
      const s = outcome.recons[reconId];
      const t = banks[bank];
      expect(s.controlTotals).toBe('balanced');
      expect(s.a).toEqual(t.statements);
      expect(s.b).toEqual(t.glCash);
      expect(s.matches).toBe(t.matched);
      const found = Object.fromEntries(Object.entries(s.perCategory ?? {}).filter(([, n]) => n > 0));
      const planted = Object.fromEntries(Object.entries(t.categories).filter(([, n]) => n > 0));
      expect(found).toEqual(planted);
    }
  });

  it("keeps every reconciliation's extracts under a data key of its own, wrapped by the worker's master key", async () => {
    const db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ dataset: string; kid: string | null }>(
        'SELECT dataset, kid FROM data_keys ORDER BY dataset',
      );
      for (const reconId of ['gl-vs-erp', 'bank-camt053', 'bank-mt940'])
        expect(rows.filter((r) => r.dataset.includes(reconId) && r.kid !== null).length).toBeGreaterThan(0);
    } finally {
      await db.end();
    }
  });

  it("seals each reconciliation's reports at rest, and finflow report open gives the exceptions of the planted categories", async () => {
    // Each sealed report records the stricter of its sources' classifications (the plan's: GL and ERP internal,
    // the bank statements restricted), which role views of it go by.
    for (const [reconId, level] of [
      ['gl-vs-erp', 'internal'],
      ['bank-camt053', 'restricted'],
      ['bank-mt940', 'restricted'],
    ] as const) {
      const reports = outcome.recons[reconId].reports ?? [];
      expect(reports).toHaveLength(6);
      for (const r of reports) {
        expect(r.sealed).toBe(true);
        expect(r.path.endsWith(`.${r.format}.sealed`)).toBe(true);
        expect((await readSealedHeader(r.path))?.classification).toBe(level);
      }
    }
    const sealed = outcome.recons['gl-vs-erp'].reports!.find((r) => r.kind === 'exceptions' && r.format === 'csv')!;
    const out = join(dir, 'opened', 'gl-vs-erp_exceptions.csv');
    mkdirSync(join(dir, 'opened'), { recursive: true });
    const lines: string[] = [];
    const program = buildProgram((s) => lines.push(s));
    program.exitOverride();
    const saved = { key: process.env.FINFLOW_KEY_FILE, db: process.env.DATABASE_URL };
    process.env.FINFLOW_KEY_FILE = join(dir, 'keys', 'payload-keys.json');
    process.env.DATABASE_URL = databaseUrl;
    try {
      await program.parseAsync(['report', 'open', sealed.path, '--out', out, '--purpose', 'e2e: planted truth'], {
        from: 'user',
      });
    } finally {
      for (const [k, v] of [
        ['FINFLOW_KEY_FILE', saved.key],
        ['DATABASE_URL', saved.db],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    expect(lines[1]).toMatch(
      /^access log: read of recon:ACME:2026-10:gl-vs-erp report gl-vs-erp_exceptions_2026-10-31\.csv/,
    );
    const rows = parse(readFileSync(out), { bom: true, columns: true }) as { category: string }[];
    const found: Record<string, number> = {};
    for (const r of rows) found[r.category] = (found[r.category] ?? 0) + 1;
    const planted = Object.fromEntries(Object.entries(outcome.truth.categories).filter(([, n]) => n > 0));
    expect(found).toEqual(planted);
    expect(rows).toHaveLength(sealed.rows);
  });

  it('prints the seed figures (items processed, matched, exceptions) that the planted truth says', () => {
    const text = outcome.lines.join('\n');
    const { truth } = outcome;
    expect(text).toContain('Status: COMPLETED');
    expect(text).toContain(`items processed  ${group(truth.gl.records)} (side a, total ${truth.gl.amount})`);
    expect(text).toContain(`+ ${group(truth.erp.records)} (side b, total ${truth.erp.amount})`);
    expect(text).toContain(`matched          ${group(truth.matched.exact + truth.matched.accepted)}`);
    for (const [category, n] of Object.entries(truth.categories)) expect(text).toContain(`${category} ${group(n)}`);
    expect(text).toMatch(/report {11}\S+gl-vs-erp_exceptions_2026-10-31\.xlsx/);
    expect(text).toMatch(/report {11}\S+gl-vs-erp_summary_2026-10-31\.xlsx/);
    expect(text).toMatch(/Documentation file: \S+SOX_F-R3-GL-15_ACME_2026-10\/report\.pdf/);
    expect(text).toMatch(/management_review\s+done/);
  });

  it("journals every owner's completion as signed (gateway for the demo's close, finflow task --print-signal for the plain-CLI one)", () => {
    for (const journal of [outcome.status.journal ?? [], plain?.journal ?? []]) {
      const completions = journal.filter((j) => j.action === 'complete' && j.accepted);
      expect(completions.length).toBeGreaterThan(0);
      for (const j of completions) {
        expect(j.by).toBe(PEOPLE.accountant);
        expect(j.signed).toEqual({ kid: expect.any(String), nonce: expect.any(String), issuer: expect.any(String) });
      }
    }
    expect(outcome.lines.join('\n')).toMatch(/task\s+preliminary_close completed by \S+ \(signed\): accepted/);
  });

  it("approves the 75,000 entry at every level its amount needs, each signed by that level's own approver", () => {
    const cp = outcome.status.checkpoints.find((c) => c.checkpointId === 'adjusting-entry-75k');
    expect(cp?.state).toBe('approved');
    expect(cp?.decisions.map((d) => [d.level, d.role, d.approverId, d.signed])).toEqual([
      [1, 'supervisor', 'sam.supervisor', true],
      [2, 'manager', 'maya.manager', true],
      [3, 'director', 'dan.director', true],
    ]);
    expect(cp?.refusals).toEqual([]);
  });

  it('leaves a signed evidence package that verifies after the complete history was exported into it', async () => {
    expect(outcome.evidence?.packageId).toBe('SOX_F-R3-GL-15_ACME_2026-10');
    expect(outcome.exportLines.join('\n')).toMatch(
      /trail of close:ACME:2026-10 \(completed .*\): \d+ events of 4 workflow/,
    );
    const out: string[] = [];
    const program = buildProgram((s) => out.push(s));
    program.exitOverride();
    const saved = process.env.FINFLOW_SIGNING_KEY_FILE;
    process.env.FINFLOW_SIGNING_KEY_FILE = join(dir, 'keys', 'evidence-signing.pem');
    try {
      await program.parseAsync(['evidence', 'verify', outcome.evidence!.path], { from: 'user' });
    } finally {
      if (saved === undefined) delete process.env.FINFLOW_SIGNING_KEY_FILE;
      else process.env.FINFLOW_SIGNING_KEY_FILE = saved;
    }
    expect(out.join('\n')).toMatch(/package SOX_F-R3-GL-15_ACME_2026-10 verified: \d+ files match the signed manifest/);
  });

  it('runs the same plan to completion when started and driven only with the plain temporal CLI', () => {
    expect(plainCommands).toEqual(expect.arrayContaining(['temporal workflow start', 'temporal workflow signal']));
    expect(plain?.state).toBe('completed');
    const gl = plain?.tasks.find((t) => t.id === 'gl_vs_erp')?.result;
    expect(gl?.perCategory).toEqual(outcome.truth.categories);
    const je = plain?.checkpoints.find((c) => c.checkpointId === 'adjusting-entry-75k');
    expect(je?.decisions.map((d) => [d.approverId, d.signed])).toEqual([
      ['sam.supervisor', true],
      ['maya.manager', true],
      ['dan.director', true],
    ]);
    expect(plain?.journal?.filter((j) => j.action === 'complete').map((j) => [j.taskId, j.by])).toEqual([
      ['preliminary_close', 'ann.accountant'],
      ['adjusting_entry', 'ann.accountant'],
    ]);
  });
});

// Issue 8's scenario end to end on the Temporal CLI dev server, run the way `npm run demo` runs it: generated
// systems (GL in PostgreSQL, ERP in MariaDB, camt.053 and MT940 files), the plan file, signed approvals through the
// gateway, the evidence package and the history export. Every printed figure is checked against the generator's
// planted truth, never against what the engine happened to say.
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { Client as PgClient } from 'pg';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readSealedHeader } from '../../activities/security/file-seal';
import { buildProgram } from '../../client/cli';
import { EXPLANATIONS } from '../../examples/monthly-close/people-work';
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
    (
      await run(join(root, 'bin/finflow'), ['--address', ctx.address, ...args], {
        cwd: root,
        // The exceptions commands read the close's status and the result store from the environment (the scenario's
        // DATABASE_URL and FINFLOW_KEY_FILE are set while its worker runs).
        env: { ...process.env, TEMPORAL_ADDRESS: ctx.address },
        maxBuffer: 64 * 1024 * 1024,
      })
    ).stdout;
  // Each person signs with their own key, registered in the scenario's user key directory (issue 18); the
  // gateway's key no longer signs for anybody through the CLI.
  const gatewayKey = join(ctx.keysDir, 'approval', 'gateway.private.jwk.json');
  const personKeys = new Map<string, string>();
  /** `finflow` in this process, for the commands that need no server (a spawned CLI takes seconds under load). */
  const finflowHere = async (...args: string[]) => {
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l))
      .exitOverride()
      .parseAsync(args, { from: 'user' });
    return lines.join('\n');
  };
  const keyOf = async (person: string): Promise<string> => {
    let file = personKeys.get(person);
    if (!file) {
      file = join(mkdtempSync(join(tmpdir(), 'plain-cli-key-')), `${person}.private.jwk.json`);
      await finflowHere('keys', 'user', 'add', person, '--out', file, '--by', 'e2e.admin');
      personKeys.set(person, file);
    }
    return file;
  };
  const inputFile = (name: string, text: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'plain-cli-')), `${name}.json`);
    writeFileSync(file, text);
    return file;
  };
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
  let forged: string | undefined;
  /** Explanations sent per reconciliation task (the journal shows when the close has taken them all). */
  const sent = new Map<string, number>();
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
        if (!forged) {
          // The old hole: the gateway's key through the CLI, signing as the accountant. Refused and journaled.
          forged = await finflowHere(
            'task',
            'complete',
            PLAIN_ID,
            t.id,
            '--by',
            PEOPLE.accountant,
            '--signing-key',
            gatewayKey,
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
            forged.trim(),
          );
        }
        // The plan takes signed task actions only: the owner's completion is signed, printed, and sent as-is.
        const signed = await finflow(
          'task',
          'complete',
          PLAIN_ID,
          t.id,
          '--by',
          PEOPLE.accountant,
          '--signing-key',
          await keyOf(PEOPLE.accountant),
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
    // The accountant explains each finished reconciliation's open exceptions, a signed bulk action per category:
    // `finflow exceptions explain --print-update` signs, the stock CLI sends it as the submitExceptionAction update.
    for (const t of s.tasks) {
      if (t.kind !== 'reconciliation' || !['done', 'done_with_exceptions'].includes(t.state)) continue;
      if ((t.result?.openExceptions ?? t.result?.exceptions ?? 0) === 0 || acted.has(`explain:${t.id}`)) continue;
      acted.add(`explain:${t.id}`);
      const listed = JSON.parse(
        await finflow('exceptions', 'list', PLAIN_ID, t.id, '--state', 'open', '--limit', '1000000', '--json'),
      ) as { items: { category: string }[] };
      for (const category of new Set(listed.items.map((x) => x.category))) {
        const how = EXPLANATIONS[category] ?? { reasonCode: 'other', text: 'Reviewed by the preparer.' };
        const update = await finflow(
          'exceptions',
          'explain',
          PLAIN_ID,
          t.id,
          '--category',
          category,
          '--state',
          'open',
          '--reason-code',
          how.reasonCode,
          '--text',
          how.text,
          '--by',
          PEOPLE.accountant,
          '--signing-key',
          await keyOf(PEOPLE.accountant),
          '--print-update',
        );
        // Started, not executed: the CLI cannot decode the answer (the worker's codec encrypts it); the close's
        // journal, read below, shows each action as accepted or refused.
        await temporal(
          'workflow',
          'update',
          'start',
          '--wait-for-stage',
          'accepted',
          '--workflow-id',
          PLAIN_ID,
          '--name',
          'submitExceptionAction',
          '--input-file',
          inputFile('explain', update.trim()),
        );
        sent.set(t.id, (sent.get(t.id) ?? 0) + 1);
      }
    }
    const journaled = (id: string) =>
      (s.journal ?? []).filter((j) => j.taskId === id && j.action.startsWith('exceptions.')).length;
    const reconsWorked = s.tasks
      .filter((t) => t.kind === 'reconciliation')
      .every(
        (t) =>
          ['done', 'done_with_exceptions'].includes(t.state) &&
          ((t.result?.openExceptions ?? t.result?.exceptions ?? 0) === 0 ||
            (sent.has(t.id) && journaled(t.id) >= (sent.get(t.id) as number))),
      );
    // The controller attests the documentation with the text its status shows, signed, as a taskAction signal.
    for (const t of s.tasks)
      if (t.kind === 'documentation' && t.awaitingAttestation && !acted.has(`attest:${t.id}`)) {
        acted.add(`attest:${t.id}`);
        const signed = await finflow(
          'task',
          'attest',
          PLAIN_ID,
          t.id,
          '--statement',
          t.awaitingAttestation.text,
          '--by',
          PEOPLE.controller,
          '--signing-key',
          await keyOf(PEOPLE.controller),
          '--print-signal',
        );
        await temporal(
          'workflow',
          'signal',
          '--workflow-id',
          PLAIN_ID,
          '--name',
          'taskAction',
          '--input-file',
          inputFile('attest', signed.trim()),
        );
      }
    for (const c of s.checkpoints) {
      if (c.state !== 'open' || !c.openLevel) continue;
      if (c.itemType === 'reconciliation' && !reconsWorked) continue;
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
        await keyOf(PEOPLE[c.openLevel.role as keyof typeof PEOPLE]),
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

interface EvidenceDoc {
  allControlsHeld: boolean;
  attestation: { text: string; missingFrom: string[]; given: Record<string, unknown>[] };
  exceptions: {
    open: number;
    items: { reconId: string; category: string; resolution: { status: string; by?: string; note?: string } }[];
  };
}
/** The package's evidence.json, as archived. */
const evidenceDocument = () =>
  JSON.parse(readFileSync(join(outcome.evidence!.path, 'evidence.json'), 'utf8')) as EvidenceDoc;
let dir: string;
let databaseUrl: string;

/** The package's evidence.json opened with the scenario's keys (finflow evidence open): its sealed values in clear. */
async function openedEvidence(): Promise<EvidenceDoc> {
  const out = join(dir, 'opened-evidence.json');
  const program = buildProgram(() => undefined);
  program.exitOverride();
  const saved = { key: process.env.FINFLOW_KEY_FILE, db: process.env.DATABASE_URL };
  process.env.FINFLOW_KEY_FILE = join(dir, 'keys', 'payload-keys.json');
  process.env.DATABASE_URL = databaseUrl;
  try {
    await program.parseAsync(
      ['evidence', 'open', outcome.evidence!.path, '--out', out, '--purpose', 'e2e: the explanations'],
      { from: 'user' },
    );
  } finally {
    for (const [k, v] of [
      ['FINFLOW_KEY_FILE', saved.key],
      ['DATABASE_URL', saved.db],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
  return JSON.parse(readFileSync(out, 'utf8')) as EvidenceDoc;
}
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
    // Its control held (every exception explained, the attestation given): the documentation step is done.
    expect(outcome.status.tasks.find((t) => t.id === 'sox_documentation')?.state).toBe('done');
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
    // Categories that did not occur are not printed (categoryLine); the summary's perCategory still has them at 0.
    for (const [category, n] of Object.entries(truth.categories))
      if (n > 0) expect(text).toContain(`${category} ${group(n)}`);
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

  it("refuses the gateway's key signing as a person through the CLI, and puts every plain-CLI approval in the audit ledger", async () => {
    const refused = (plain?.journal ?? []).filter((j) => j.action === 'complete' && !j.accepted);
    expect(refused).toEqual([
      expect.objectContaining({
        by: PEOPLE.accountant,
        refusal: expect.stringMatching(/^signature refused \(key_not_registered\): .*is not a person's key$/),
      }),
    ]);
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l))
      .exitOverride()
      .parseAsync(['audit', 'show', '--close', PLAIN_ID, '--database-url', databaseUrl], { from: 'user' });
    const decisions = lines.filter((l) => l.includes(' approval.decision approved '));
    const approvals = (plain?.checkpoints ?? []).flatMap((c) => c.decisions);
    expect(approvals.length).toBeGreaterThan(0);
    expect(decisions).toHaveLength(approvals.length);
    for (const d of approvals)
      expect(decisions.some((l) => l.includes(`  ${d.approverId}  `) && l.includes('ACCEPTED'))).toBe(true);
    expect(lines.filter((l) => / exception\.action explain .* ACCEPTED/.test(l)).length).toBeGreaterThan(0);
  });

  it('has the accountant explain every open exception, by category in signed bulk actions, before the supervisor approves the reconciliations', async () => {
    const journal = outcome.status.journal ?? [];
    const explains = journal.filter((j) => j.action === 'exceptions.explain');
    expect(explains.length).toBeGreaterThan(0);
    expect(journal.filter((j) => j.action === 'exceptions.refused')).toEqual([]);
    for (const j of explains) {
      expect([j.by, j.accepted]).toEqual([PEOPLE.accountant, true]);
      expect(j.signed).toEqual({ kid: expect.any(String), nonce: expect.any(String), issuer: expect.any(String) });
    }
    const doc = evidenceDocument();
    const cp = outcome.status.checkpoints.find((c) => c.checkpointId === 'reconciliation-approval');
    expect(cp?.decisions.map((d) => d.approverId)).toEqual([PEOPLE.supervisor]);
    const lastExplained = Math.max(...explains.map((j) => Date.parse(j.at)));
    expect(Date.parse(cp!.decisions[0].at)).toBeGreaterThanOrEqual(lastExplained);
    for (const s of Object.values(outcome.recons)) {
      // Each action echoes its count: together they cover the reconciliation's exceptions in the package, all explained.
      const counted = explains
        .filter((j) => j.note?.includes(` of ${s.reconId}, `))
        .reduce((n, j) => n + Number(/^(\d+) exception/.exec(j.note ?? '')?.[1]), 0);
      expect(counted).toBe(s.openExceptions ?? s.exceptions);
      // The rest of the package's items are the differences a rule accepted (rounding, within tolerance): not open,
      // and not the accountant's.
      const items = doc.exceptions.items.filter((x) => x.reconId === s.reconId);
      expect(items.filter((x) => x.resolution.by === PEOPLE.accountant)).toHaveLength(counted);
      for (const x of items) expect(x.resolution.status).not.toBe('open');
      expect(items.filter((x) => x.resolution.by !== PEOPLE.accountant).map((x) => x.category)).toEqual(
        Array.from({ length: items.length - counted }, () => expect.stringMatching(/^(rounding|within_tolerance)$/)),
      );
      expect(outcome.lines).toContain(`  ${s.reconId.padEnd(16)} explained ${group(items.length)}, open 0`);
    }
    const mismatches = doc.exceptions.items.filter((x) => x.category === 'amount_mismatch');
    // The planted GL mismatches and the bank reconciliations' own, each explained with the adjusting entry proposed.
    expect(mismatches.length).toBe(
      Object.values(outcome.recons).reduce((n, s) => n + (s.perCategory?.amount_mismatch ?? 0), 0),
    );
    expect(mismatches.filter((x) => x.reconId === 'gl-vs-erp')).toHaveLength(outcome.truth.categories.amount_mismatch);
    // In the archive, people's notes are sealed under each reconciliation's data key (or masked for the auditor);
    // a person holding the keys opens them with finflow evidence open.
    for (const x of mismatches) expect(x.resolution.note).not.toMatch(/posting_error/);
    const opened = (await openedEvidence()).exceptions.items.filter((x) => x.category === 'amount_mismatch');
    expect(opened).toHaveLength(mismatches.length);
    for (const x of opened)
      expect(x.resolution.note).toMatch(/\(posting_error\) by ann\.accountant: .*adjusting entry/);
  });

  it("captures the controller's signed attestation of the control's exact text, and the package says every control held", () => {
    const doc = evidenceDocument();
    expect(doc.allControlsHeld).toBe(true);
    expect(doc.exceptions.open).toBe(0);
    const attested = (outcome.status.journal ?? []).filter((j) => j.action === 'attest');
    expect(attested.map((j) => [j.by, j.taskId, j.role, j.accepted])).toEqual([
      [PEOPLE.controller, 'sox_documentation', 'controller', true],
    ]);
    expect(attested[0].signed).toEqual({
      kid: expect.any(String),
      nonce: expect.any(String),
      issuer: expect.any(String),
    });
    expect(doc.attestation.missingFrom).toEqual([]);
    expect(doc.attestation.given).toEqual([
      {
        id: PEOPLE.controller,
        role: 'controller',
        at: attested[0].at,
        statement: doc.attestation.text,
        statementSha256: createHash('sha256').update(doc.attestation.text).digest('hex'),
      },
    ]);
    expect(outcome.lines).toContain(
      `Attestation: sox_documentation by ${PEOPLE.controller} (controller, signed) at ${attested[0].at}`,
    );
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
    // The people's work through the stock CLI too: explanations as submitExceptionAction updates, the attestation as
    // a taskAction signal, each signed by `finflow ... --print-update / --print-signal`.
    expect(plainCommands).toContain('temporal workflow update');
    const explains = plain?.journal?.filter((j) => j.action === 'exceptions.explain') ?? [];
    expect(explains.length).toBeGreaterThan(0);
    for (const j of explains) expect([j.by, j.accepted, !!j.signed]).toEqual([PEOPLE.accountant, true, true]);
    expect(plain?.journal?.filter((j) => j.action === 'attest').map((j) => [j.by, j.role, j.accepted])).toEqual([
      [PEOPLE.controller, 'controller', true],
    ]);
    expect(plain?.tasks.find((t) => t.id === 'sox_documentation')?.state).toBe('done');
    // Accepted ones: the gateway's key signing as ann is refused first (see the key-binding test above).
    expect(plain?.journal?.filter((j) => j.action === 'complete' && j.accepted).map((j) => [j.taskId, j.by])).toEqual([
      ['preliminary_close', 'ann.accountant'],
      ['adjusting_entry', 'ann.accountant'],
    ]);
  });
});

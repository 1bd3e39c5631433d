// `finflow exceptions ...` (issue 15) over real PostgreSQL and real key files: list with filters, paging, --json
// and --csv; a bulk explanation by filter signed with the person's key, verified, applied and in the audit ledger
// (sent as the close's worker applies it);
// show with the history; bad input and unauthorised or empty selections refused and recorded. The close's status
// is handed in as the close's `status` query returns it (this suite runs no Temporal server).
import { decodeJwt } from 'jose';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { addUserKeyToFile, userKeysFromFile } from '../../activities/approval/user-keys';
import { applySignedExceptionAction } from '../../activities/exceptions/signed-action';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { registerExceptionCommands } from '../../client/commands/exceptions';
import type { CloseStatus } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';

const CLOSE = 'close:ACME:2026-10';
const NOW = new Date('2026-11-02T10:00:00Z');
/** People's keys are registered before the actions this suite signs at NOW. */
const KEYS_FROM = '2026-11-01T00:00:00.000Z';

describe('finflow exceptions', () => {
  let pool: Pool;
  let results: ResultStore;
  let ledger: AuditLedger;
  let runId: string;
  let env: NodeJS.ProcessEnv;
  let keyFile: string;
  let samKeyFile: string;
  let userKeysFile: string;

  const status = (): CloseStatus =>
    ({
      closeId: CLOSE,
      company: 'ACME',
      period: '2026-10',
      state: 'running',
      percentDone: 40,
      checkpoints: [],
      tasks: [
        {
          id: 'gl_vs_erp',
          name: 'GL vs ERP',
          kind: 'reconciliation',
          state: 'done_with_exceptions',
          ownerRole: 'accountant',
          result: { reconId: 'gl-vs-erp', runId },
        },
        { id: 'sox_documentation', name: 'SOX', kind: 'documentation', state: 'pending' },
      ],
    }) as unknown as CloseStatus;

  async function run(...args: string[]): Promise<{ out: string; exitCode: number | undefined; error?: string }> {
    const lines: string[] = [];
    const program = new Command().exitOverride();
    registerExceptionCommands(program, (s) => lines.push(s), {
      env,
      now: () => NOW,
      closeStatus: async () => status(),
      open: async () => ({
        store: createExceptionActionStore({ pool, results }),
        ledger,
        close: async () => undefined,
      }),
      // What the close's worker does with the update (test/workflows/close-exception-actions.test.ts sends it
      // through a real close): the same one path, with the close's directory.
      send: async (_closeId, req, target) =>
        applySignedExceptionAction(
          {
            store: createExceptionActionStore({ pool, results }),
            ledger,
            userKeys: userKeysFromFile(userKeysFile),
            directory: {
              users: [
                { userId: 'ann', roles: ['accountant'] },
                { userId: 'sam', roles: ['supervisor'] },
              ],
            },
            now: () => NOW,
          },
          target,
          req.token,
        ),
    });
    process.exitCode = undefined;
    try {
      await program.parseAsync(['node', 'finflow', 'exceptions', ...args]);
      return { out: lines.join('\n'), exitCode: process.exitCode as number | undefined };
    } catch (err) {
      return { out: lines.join('\n'), exitCode: 1, error: (err as Error).message };
    } finally {
      process.exitCode = undefined;
    }
  }

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('exceptions_cli'), max: 4 });
    results = createResultStore({ pool });
    await results.migrate();
    ledger = await AuditLedger.open({ pool });
    ({ runId } = await results.startRun({
      workflowId: 'recon:ACME:2026-10:gl-vs-erp',
      workflowRunId: 'r1',
      reconId: 'gl-vs-erp',
      definitionHash: 'sha256:x',
    }));
    await results.writeExceptions(runId, [
      {
        itemId: 'GL:1',
        side: 'a',
        key: '4000-1',
        category: 'timing_difference',
        currency: 'USD',
        amount: '100.00',
        difference: '100.00',
      },
      {
        itemId: 'GL:2',
        side: 'a',
        key: '4000-2',
        category: 'timing_difference',
        currency: 'USD',
        amount: '20.50',
        difference: '20.50',
      },
      {
        itemId: 'GL:3',
        side: 'both',
        key: '5100-1',
        category: 'amount_mismatch',
        currency: 'USD',
        amount: '75000.00',
        difference: '75000.00',
      },
      {
        itemId: 'GL:4',
        side: 'a',
        key: '=cmd',
        category: 'duplicate',
        currency: 'USD',
        amount: '5.00',
        difference: '5.00',
      },
    ]);
    await pool.query(`UPDATE recon_exceptions SET first_seen = '2026-10-20' WHERE item_id = 'GL:2'`);
    // Each person signs with their own key, registered in the user key directory (finflow keys user add).
    userKeysFile = join(mkdtempSync(join(tmpdir(), 'finflow-exceptions-keys-')), 'user-keys.json');
    keyFile = (await addUserKeyToFile(userKeysFile, { personId: 'ann', addedBy: 'ivy.admin', validFrom: KEYS_FROM })).privateKeyFile;
    samKeyFile = (await addUserKeyToFile(userKeysFile, { personId: 'sam', addedBy: 'ivy.admin', validFrom: KEYS_FROM })).privateKeyFile;
    env = {};
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('lists the exceptions with their state and age, filtered and paged, with count and total', async () => {
    const all = await run('list', CLOSE, 'gl_vs_erp');
    expect(all.out).toContain(
      '4 exception(s) of gl-vs-erp match (every exception), totalling USD 75125.50; showing 1-4',
    );
    const paged = await run(
      'list',
      CLOSE,
      'gl-vs-erp',
      '--category',
      'timing_difference',
      '--limit',
      '1',
      '--offset',
      '1',
      '--json',
    );
    const j = JSON.parse(paged.out) as {
      count: number;
      items: { itemId: string; firstSeen: string }[];
      totals: unknown;
    };
    expect(j).toMatchObject({ reconId: 'gl-vs-erp', runId, count: 2, totals: [{ currency: 'USD', total: '120.50' }] });
    expect(j.items.map((x) => x.itemId)).toEqual(['GL:2']);
    const csv = await run('list', CLOSE, 'gl_vs_erp', '--csv', '--key', '=*');
    const [header, row] = csv.out.split('\n');
    expect(header.split(',').slice(0, 8)).toEqual([
      'item',
      'state',
      'category',
      'currency',
      'amount',
      'key',
      'first_seen',
      'age_days',
    ]);
    // A key that looks like a formula is neutralised for spreadsheets.
    expect(row.split(',').slice(0, 6)).toEqual(['GL:4', 'open', 'duplicate', 'USD', '5.00', "'=cmd"]);
    const old = await run('list', CLOSE, 'gl_vs_erp', '--min-age-days', '10', '--json');
    expect((JSON.parse(old.out) as { items: { itemId: string }[] }).items.map((x) => x.itemId)).toEqual(['GL:2']);
  });

  it('prints the signed explanation as the submitExceptionAction update input with --print-update, and sends nothing', async () => {
    const r = await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      '--category',
      'timing_difference',
      '--reason-code',
      'timing',
      '--text',
      'cleared on 2 Nov',
      '--by',
      'ann',
      '--signing-key',
      keyFile,
      '--print-update',
    );
    expect(r.exitCode).toBeUndefined();
    const req = JSON.parse(r.out) as { task: string; token: string };
    expect(req.task).toBe('gl_vs_erp');
    expect(decodeJwt(req.token)).toMatchObject({ sub: 'ann', itemIds: ['GL:1', 'GL:2'], count: 2 });
    const shown = JSON.parse((await run('show', CLOSE, 'gl_vs_erp', 'GL:1', '--json')).out) as {
      item: { state: string };
      history: unknown[];
    };
    expect(shown.item.state).toBe('open');
    expect(shown.history).toEqual([]);
  });

  it('explains every timing difference by filter as one signed action, echoing count and total, and shows it in the history', async () => {
    const r = await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      '--category',
      'timing_difference',
      '--reason-code',
      'timing',
      '--text',
      'cleared on 2 Nov',
      '--by',
      'ann',
      '--signing-key',
      keyFile,
    );
    expect(r.exitCode).toBeUndefined();
    expect(r.out.split('\n')[0]).toBe(
      'explain 2 exception(s) of gl-vs-erp totalling USD 120.50 (category timing_difference)',
    );
    expect(r.out.split('\n')[1]).toMatch(
      /^accepted: ann explain 2 exception\(s\) totalling USD 120\.50 \(action \d+, audit ledger \d+\)$/,
    );
    const show = await run('show', CLOSE, 'gl_vs_erp', 'GL:2', '--json');
    const s = JSON.parse(show.out) as { item: Record<string, unknown>; history: Record<string, unknown>[] };
    expect(s.item).toMatchObject({
      state: 'explained',
      reasonCode: 'timing',
      explanation: 'cleared on 2 Nov',
      explainedBy: 'ann',
    });
    expect(s.history).toEqual([
      expect.objectContaining({ action: 'explain', by: 'ann', accepted: true, count: 2, itemIds: ['GL:1', 'GL:2'] }),
    ]);
    const text = await run('show', CLOSE, 'gl_vs_erp', 'GL:2');
    expect(text.out).toMatch(
      /history:\n {2}#\d+ 2026-11-02T10:00:00.000Z ann explain accepted .*"reasonCode":"timing".* \(one of 2\)/,
    );
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('resolves by id with an adjusting entry, and refuses one without its reference before signing anything', async () => {
    await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      'GL:3',
      '--reason-code',
      'posting_error',
      '--text',
      'posted twice',
      '--by',
      'ann',
      '--signing-key',
      keyFile,
    );
    const bad = await run(
      'resolve',
      CLOSE,
      'gl_vs_erp',
      'GL:3',
      '--kind',
      'adjusting_entry',
      '--text',
      'reversed',
      '--amount',
      '75000',
      '--by',
      'ann',
      '--signing-key',
      keyFile,
    );
    expect(bad.error).toBe("resolve: an adjusting_entry resolution needs reference (the entry's number and amount)");
    const ok = await run(
      'resolve',
      CLOSE,
      'gl_vs_erp',
      'GL:3',
      '--kind',
      'adjusting_entry',
      '--text',
      'reversed',
      '--amount',
      '75000',
      '--reference',
      'JE-2026-10-ADJ-001',
      '--by',
      'ann',
      '--signing-key',
      keyFile,
      '--json',
    );
    expect(JSON.parse(ok.out)).toMatchObject({
      accepted: true,
      action: 'resolve',
      count: 1,
      totals: [{ currency: 'USD', total: '75000.00' }],
    });
  });

  it('refuses and records a filter that matches nothing, someone without the owner role, and an unsigned action', async () => {
    const none = await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      '--currency',
      'GBP',
      '--reason-code',
      'fx',
      '--text',
      'x',
      '--by',
      'ann',
      '--signing-key',
      keyFile,
    );
    expect(none.exitCode).toBe(2);
    expect(none.out).toMatch(
      /^refused \(ExceptionFilterMatchedNothing\): the filter \(currency GBP\) matches no exception: nothing was changed \(audit ledger \d+\)$/,
    );
    const sam = await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      'GL:4',
      '--reason-code',
      'other',
      '--text',
      'dup',
      '--by',
      'sam',
      '--signing-key',
      samKeyFile,
    );
    expect(sam.exitCode).toBe(2);
    expect(sam.out).toContain(
      'refused (ExceptionActionUnauthorised): sam (supervisor) may not work the exceptions of gl-vs-erp',
    );
    const unsigned = await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      'GL:4',
      '--reason-code',
      'other',
      '--text',
      'dup',
      '--by',
      'ann',
    );
    expect(unsigned.error).toBe(
      'exceptions explain is signed: give --signing-key (or FINFLOW_APPROVAL_SIGNING_KEY_FILE)',
    );
    const both = await run(
      'explain',
      CLOSE,
      'gl_vs_erp',
      'GL:4',
      '--category',
      'duplicate',
      '--reason-code',
      'other',
      '--text',
      'd',
      '--signing-key',
      keyFile,
    );
    expect(both.error).toBe('exceptions explain: name the exceptions either by id or by filter options, not both');
    const history = await createExceptionActionStore({ pool, results }).history(runId);
    expect(history.filter((h) => !h.accepted).map((h) => [h.by, h.refusalType])).toEqual([
      ['unverified:ann', 'ExceptionFilterMatchedNothing'],
      ['sam', 'ExceptionActionUnauthorised'],
    ]);
    const open = (await createExceptionActionStore({ pool, results }).rows(runId)).filter((r) => r.state === 'open');
    expect(open.map((r) => r.itemId)).toEqual(['GL:4']);
  });

  it('ages the unresolved exceptions per category and currency', async () => {
    const j = JSON.parse((await run('ageing', CLOSE, 'gl_vs_erp', '--as-of', '2026-12-01', '--json')).out) as {
      rows: { category: string; buckets: Record<string, { count: number; total: string }>; count: number }[];
    };
    // GL:2 was first seen on 20 Oct (42 days); GL:3 is resolved by now and not aged.
    expect(j.rows.map((r) => [r.category, r.count])).toEqual([
      ['duplicate', 1],
      ['timing_difference', 2],
    ]);
    expect(j.rows[1].buckets['31-60']).toEqual({ count: 1, total: '20.50' });
    const text = await run('ageing', CLOSE, 'gl_vs_erp', '--as-of', '2026-12-01');
    expect(text.out.split('\n')[0]).toMatch(
      /^category +currency +0-30 days +31-60 days +61-90 days +over_90 days +unresolved$/,
    );
  });

  it('says which task is not a reconciliation, and which has no run yet', async () => {
    expect((await run('list', CLOSE, 'sox_documentation')).error).toBe(
      `task sox_documentation of ${CLOSE} is not a reconciliation`,
    );
    expect((await run('list', CLOSE, 'nope')).error).toBe(`${CLOSE} has no task or reconciliation nope`);
  });
});

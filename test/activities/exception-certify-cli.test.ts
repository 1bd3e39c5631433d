// `finflow exceptions certify` (issue 15) over real PostgreSQL and real key files: the preparer certifies the
// reconciliation complete with their own key (the count, totals and states echoed, the certification in the action
// history with the states then and in the audit ledger); someone without the owner role is refused (exit 2,
// recorded); a certification signed for totals the run no longer has is refused; nothing is sent unsigned. The
// close's status is handed in as its `status` query returns it; the send applies the action as the close's worker
// does (this suite runs no Temporal server; test/workflows/close-certification.test.ts sends it through a close).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { addUserKeyToFile, userKeysFromFile } from '../../activities/approval/user-keys';
import { applySignedExceptionAction } from '../../activities/exceptions/signed-action';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { createCertificationStore } from '../../activities/result-store/certification';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { registerExceptionCommands } from '../../client/commands/exceptions';
import type { CloseStatus } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';

const CLOSE = 'close:ACME:2026-10';
const NOW = new Date('2026-11-02T10:00:00Z');

describe('finflow exceptions certify', () => {
  let pool: Pool;
  let results: ResultStore;
  let ledger: AuditLedger;
  let runId: string;
  let annKey: string;
  let samKey: string;
  let userKeysFile: string;

  const status = (): CloseStatus =>
    ({
      closeId: CLOSE,
      tasks: [
        {
          id: 'gl_vs_erp',
          name: 'GL vs ERP',
          kind: 'reconciliation',
          state: 'done_with_exceptions',
          ownerRole: 'accountant',
          result: { reconId: 'gl-vs-erp', runId },
        },
      ],
    }) as unknown as CloseStatus;

  async function run(...args: string[]): Promise<{ out: string; exitCode: number | undefined; error?: string }> {
    const lines: string[] = [];
    const program = new Command().exitOverride();
    registerExceptionCommands(program, (s) => lines.push(s), {
      env: {},
      now: () => NOW,
      closeStatus: async () => status(),
      open: async () => ({
        store: createExceptionActionStore({ pool, results }),
        ledger,
        close: async () => undefined,
      }),
      send: async (_closeId, req, target) =>
        applySignedExceptionAction(
          {
            store: createExceptionActionStore({ pool, results }),
            certifications: createCertificationStore({ pool }),
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
    pool = new Pool({ connectionString: await freshDatabase('exception_certify_cli'), max: 4 });
    results = createResultStore({ pool });
    await results.migrate();
    ledger = await AuditLedger.open({ pool });
    ({ runId } = await results.startRun({
      workflowId: 'recon:ACME:2026-10:gl-vs-erp',
      workflowRunId: 'r1',
      reconId: 'gl-vs-erp',
      definitionHash: 'sha256:x',
    }));
    const item = (itemId: string, amount: string) => ({
      itemId,
      side: 'a' as const,
      key: itemId,
      category: 'timing_difference',
      currency: 'USD',
      amount,
      difference: amount,
    });
    await results.writeExceptions(runId, [item('GL:1', '100.00'), item('GL:2', '20.50')]);
    await pool.query(
      `UPDATE recon_exceptions SET status = 'explained', explanation = 'in transit', explained_by = 'ann',
              explained_at = now() WHERE item_id = 'GL:1'`,
    );
    userKeysFile = join(mkdtempSync(join(tmpdir(), 'finflow-certify-keys-')), 'user-keys.json');
    const from = '2026-11-01T00:00:00.000Z';
    annKey = (await addUserKeyToFile(userKeysFile, { personId: 'ann', addedBy: 'ivy.admin', validFrom: from }))
      .privateKeyFile;
    samKey = (await addUserKeyToFile(userKeysFile, { personId: 'sam', addedBy: 'ivy.admin', validFrom: from }))
      .privateKeyFile;
  });
  afterAll(async () => {
    await pool?.end();
  });

  it("certifies the reconciliation complete with the preparer's key, echoing count, totals and states, recorded", async () => {
    const r = await run('certify', CLOSE, 'gl_vs_erp', '--text', 'complete', '--by', 'ann', '--signing-key', annKey);
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBeUndefined();
    expect(r.out.split('\n')[0]).toBe(
      'certify gl-vs-erp complete: 2 exception(s) totalling USD 120.50 (1 explained, 1 open)',
    );
    expect(r.out.split('\n')[1]).toMatch(
      /^accepted: ann certified gl-vs-erp complete \(2 exception\(s\) totalling USD 120\.50; action \d+, audit ledger \d+\)$/,
    );
    const history = await createExceptionActionStore({ pool, results }).history(runId);
    expect(history.at(-1)).toMatchObject({
      action: 'certify',
      by: 'ann',
      accepted: true,
      itemIds: [],
      count: 2,
      totals: [{ currency: 'USD', total: '120.50' }],
      detail: { action: 'certify', text: 'complete', states: { explained: 1, open: 1 } },
    });
    expect(await createCertificationStore({ pool }).status(runId)).toMatchObject({ certified: true, by: 'ann' });
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('refuses and records a certification by someone without the owner role, and one whose totals changed', async () => {
    const sam = await run('certify', CLOSE, 'gl_vs_erp', '--text', 'complete', '--by', 'sam', '--signing-key', samKey);
    expect(sam.exitCode).toBe(2);
    expect(sam.out.split('\n')[1]).toMatch(
      /^refused \(ExceptionActionUnauthorised\): sam \(supervisor\) may not certify gl-vs-erp: only its owner role \(accountant\) may \(refusal recorded as action \d+\)/,
    );
    // A certification signed (printed) now, applied after the run gained an exception: refused, nothing certified.
    const printed = await run(
      'certify',
      CLOSE,
      'gl_vs_erp',
      '--text',
      'complete',
      '--by',
      'ann',
      '--signing-key',
      annKey,
      '--print-update',
    );
    const { token } = JSON.parse(printed.out) as { token: string };
    await results.writeExceptions(runId, [
      {
        itemId: 'GL:3',
        side: 'a',
        key: 'GL:3',
        category: 'duplicate',
        currency: 'USD',
        amount: '5.00',
        difference: '5.00',
      },
    ]);
    const late = await applySignedExceptionAction(
      {
        store: createExceptionActionStore({ pool, results }),
        certifications: createCertificationStore({ pool }),
        ledger,
        userKeys: userKeysFromFile(userKeysFile),
        directory: { users: [{ userId: 'ann', roles: ['accountant'] }] },
        now: () => NOW,
      },
      { closeId: CLOSE, reconId: 'gl-vs-erp', runId, ownerRoles: ['accountant'] },
      token,
    );
    expect(late).toMatchObject({ accepted: false, type: 'ExceptionSelectionChanged', by: 'ann' });
    const refused = (await createExceptionActionStore({ pool, results }).history(runId)).filter((h) => !h.accepted);
    expect(refused.map((h) => [h.action, h.by, h.refusalType])).toEqual([
      ['certify', 'sam', 'ExceptionActionUnauthorised'],
      ['certify', 'ann', 'ExceptionSelectionChanged'],
    ]);
  });

  it('signs nothing without a key, and refuses a certification without its statement', async () => {
    expect((await run('certify', CLOSE, 'gl_vs_erp', '--text', 'complete', '--by', 'ann')).error).toBe(
      'exceptions certify is signed: give --signing-key (or FINFLOW_APPROVAL_SIGNING_KEY_FILE)',
    );
    expect((await run('certify', CLOSE, 'gl_vs_erp', '--text', ' ', '--signing-key', annKey)).error).toBe(
      'certify.text: a certification states what is certified (a non-empty text)',
    );
  });
});

// `finflow exceptions suggestions|confirm|reject` (issue 15) over real PostgreSQL and real key files: the engine's
// suggestions (an ambiguous exact match, a manual rule's pair) written to the result store, listed with their
// candidates (text, --json, --csv, filters); a confirm of candidate 2 and a reject with its reason signed with the
// person's key and applied as the close's worker applies them; a supervisor's confirm refused and recorded; bad
// input answered before anything is signed. The close's status is handed in as the `status` query returns it.
import { decodeJwt } from 'jose';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { addUserKeyToFile, userKeysFromFile } from '../../activities/approval/user-keys';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { applySignedExceptionAction } from '../../activities/exceptions/signed-action';
import { createResultStore, exceptionFromRecon, type ResultStore } from '../../activities/result-store';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { createSuggestionStore } from '../../activities/result-store/suggestions';
import { registerExceptionCommands } from '../../client/commands/exceptions';
import type { CloseStatus } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';
import { run as reconcileRows } from '../unit/recon-fixtures';

const CLOSE = 'close:ACME:2026-10';
const NOW = new Date('2026-11-02T10:00:00Z');
/** People's keys are registered before the actions this suite signs at NOW. */
const KEYS_FROM = '2026-11-01T00:00:00.000Z';

describe('finflow exceptions suggestions, confirm and reject', () => {
  let pool: Pool;
  let results: ResultStore;
  let ledger: AuditLedger;
  let runId: string;
  let keyFile: string;
  let samKeyFile: string;
  let userKeysFile: string;

  const status = (): CloseStatus =>
    ({
      closeId: CLOSE,
      company: 'ACME',
      period: '2026-10',
      state: 'running',
      tasks: [
        {
          id: 'bank',
          name: 'Bank',
          kind: 'reconciliation',
          state: 'done_with_exceptions',
          ownerRole: 'accountant',
          result: { reconId: 'bank', runId },
        },
      ],
    }) as unknown as CloseStatus;

  const stores = () => ({
    store: createExceptionActionStore({ pool, results }),
    suggestions: createSuggestionStore({ pool, results }),
  });

  async function run(...args: string[]): Promise<{ out: string; exitCode: number | undefined; error?: string }> {
    const lines: string[] = [];
    const program = new Command().exitOverride();
    registerExceptionCommands(program, (s) => lines.push(s), {
      env: {},
      now: () => NOW,
      closeStatus: async () => status(),
      open: async () => ({ ...stores(), ledger, close: async () => undefined }),
      send: async (_closeId, req, target) =>
        applySignedExceptionAction(
          {
            ...stores(),
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
    pool = new Pool({ connectionString: await freshDatabase('exception_suggestions_cli'), max: 4 });
    results = createResultStore({ pool });
    await results.migrate();
    ledger = await AuditLedger.open({ pool });
    ({ runId } = await results.startRun({
      workflowId: 'recon:ACME:2026-10:bank',
      workflowRunId: 'r1',
      reconId: 'bank',
      definitionHash: 'sha256:x',
    }));
    // K1: one a record and two equal b records (ambiguous); K2: the manual rule's pair, 0.40 apart.
    const r = reconcileRows(
      [
        { id: 'exact', type: 'exact' },
        { id: 'near', type: 'tolerance', absolute: '1.00', auto: false },
      ],
      [
        ['K1', '10.00'],
        ['K2', '20.00'],
      ],
      [
        ['K1', '10.00'],
        ['K1', '10.00'],
        ['K2', '20.40'],
      ],
    );
    await results.writeExceptions(
      runId,
      r.exceptions.map((x) => exceptionFromRecon(x)),
    );
    await results.finishRun(runId, { status: 'exceptions', summary: r.summary });
    // Each person signs with their own key, registered in the user key directory (finflow keys user add).
    userKeysFile = join(mkdtempSync(join(tmpdir(), 'finflow-exceptions-keys-')), 'user-keys.json');
    keyFile = (await addUserKeyToFile(userKeysFile, { personId: 'ann', addedBy: 'ivy.admin', validFrom: KEYS_FROM })).privateKeyFile;
    samKeyFile = (await addUserKeyToFile(userKeysFile, { personId: 'sam', addedBy: 'ivy.admin', validFrom: KEYS_FROM })).privateKeyFile;
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('lists the pending suggestions with their numbered candidates, as text, JSON and CSV, filtered', async () => {
    const text = await run('suggestions', CLOSE, 'bank');
    expect(text.out).toContain(
      'A:1  rule exact (several equally good candidates), open, EUR difference -10.00, key K1',
    );
    expect(text.out).toContain('  candidate 2: A:1 = B:2  (10.00 / 10.00, difference 0.00)');
    expect(text.out).toContain('A:2  rule near (rule not automatic)');
    expect(text.out).toContain('2 suggestion(s) of bank pending (every exception); showing 1-2');
    const json = JSON.parse((await run('suggestions', CLOSE, 'bank', '--key', 'K2', '--json')).out) as {
      count: number;
      items: { itemId: string; candidates: unknown[] }[];
    };
    expect(json.count).toBe(1);
    expect(json.items[0]).toMatchObject({
      itemId: 'A:2',
      rule: 'near',
      candidates: [{ number: 1, a: ['A:2'], b: ['B:3'], amountA: '20.00', amountB: '20.40', difference: '-0.40' }],
    });
    const csv = (await run('suggestions', CLOSE, 'bank', '--csv')).out.split('\n');
    expect(csv[0]).toBe(
      'item,rule,because,state,currency,difference,key,first_seen,age_days,candidate,a,b,amount_a,amount_b,candidate_difference',
    );
    expect(csv).toHaveLength(4);
  });

  it('answers bad input before signing: no reason, several candidates and none named, no key', async () => {
    expect((await run('reject', CLOSE, 'bank', 'A:2', '--signing-key', keyFile, '--by', 'ann')).error).toMatch(
      /--reason/,
    );
    expect((await run('confirm', CLOSE, 'bank', 'A:1', '--signing-key', keyFile, '--by', 'ann')).error).toMatch(
      /lists 2 candidates: name one with --candidate/,
    );
    expect((await run('confirm', CLOSE, 'bank', 'A:2', '--by', 'ann')).error).toMatch(/is signed: give --signing-key/);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM recon_exception_actions WHERE run_id = $1`, [
      runId,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('prints the signed confirm as the update input with --print-update, and sends nothing', async () => {
    const r = await run(
      'confirm',
      CLOSE,
      'bank',
      'A:1',
      '--candidate',
      '2',
      '--signing-key',
      keyFile,
      '--by',
      'ann',
      '--print-update',
    );
    const req = JSON.parse(r.out) as { task: string; token: string };
    expect(req.task).toBe('bank');
    expect(decodeJwt(req.token)).toMatchObject({
      sub: 'ann',
      exceptionAction: { action: 'confirm', candidate: 2 },
      itemIds: ['A:1'],
      totals: [{ currency: 'EUR', total: '-10.00' }],
    });
  });

  it('refuses a supervisor’s confirm and records it; applies the owner’s confirm and reject', async () => {
    const sam = await run('confirm', CLOSE, 'bank', 'A:2', '--signing-key', samKeyFile, '--by', 'sam');
    // sam's own key: verified, and sam holds no owner role.
    expect(sam.exitCode).toBe(2);
    expect(sam.out).toMatch(/refused \(ExceptionActionUnauthorised\): sam \(supervisor\) may not work the exceptions/);

    const confirmed = await run(
      'confirm',
      CLOSE,
      'bank',
      'A:1',
      '--candidate',
      '2',
      '--text',
      'same payment',
      '--signing-key',
      keyFile,
      '--by',
      'ann',
    );
    expect(confirmed.exitCode).toBeUndefined();
    expect(confirmed.out).toMatch(/^confirm suggestion A:1 of bank \(EUR -10\.00\)\naccepted: ann confirm 1 exception/);
    const rejected = await run(
      'reject',
      CLOSE,
      'bank',
      'A:2',
      '--reason',
      'two invoices',
      '--signing-key',
      keyFile,
      '--by',
      'ann',
      '--json',
    );
    expect(JSON.parse(rejected.out)).toMatchObject({ accepted: true, by: 'ann', action: 'reject', count: 1 });

    expect((await run('suggestions', CLOSE, 'bank')).out).toContain('0 suggestion(s) of bank pending');
    const list = JSON.parse((await run('list', CLOSE, 'bank', '--json', '--limit', '10')).out) as {
      items: { itemId: string; state: string; category: string; resolvedBy: string | null }[];
    };
    expect(list.items.map((x) => [x.itemId, x.category, x.state, x.resolvedBy]).sort()).toEqual(
      [
        ['A:1', 'suggested_match', 'confirmed', 'ann'],
        ['A:2', 'suggested_match', 'rejected', 'ann'],
        ['returned:A:1:B:1', 'missing_in_a', 'open', null],
        ['returned:A:2:A:2', 'amount_mismatch', 'open', null],
      ].sort(),
    );
    const again = await run(
      'reject',
      CLOSE,
      'bank',
      'A:1',
      '--reason',
      'changed my mind',
      '--signing-key',
      keyFile,
      '--by',
      'ann',
    );
    expect(again.exitCode).toBe(2);
    expect(again.out).toMatch(/ExceptionTransitionRefused/);
    const history = await createExceptionActionStore({ pool, results }).history(runId);
    expect(history.map((h) => [h.action, h.by, h.accepted, h.refusalType])).toEqual([
      ['confirm', 'sam', false, 'ExceptionActionUnauthorised'],
      ['confirm', 'ann', true, null],
      ['reject', 'ann', true, null],
      ['reject', 'ann', false, 'ExceptionTransitionRefused'],
    ]);
    const counts = await createSuggestionStore({ pool, results }).ruleCounts(runId);
    expect(counts).toEqual([
      { rule: 'exact', matchedAuto: 0, matchedConfirmed: 1, suggestedPending: 0, rejected: 0 },
      { rule: 'near', matchedAuto: 0, matchedConfirmed: 0, suggestedPending: 0, rejected: 1 },
    ]);
  });
});

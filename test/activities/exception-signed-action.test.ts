// A person's signed action on exceptions, end to end below the CLI (issue 15): token verified against the key set
// the workers trust, roles from the approval policy's directory, applied in the result store with its history row,
// and appended to the hash-chained audit ledger; forged, replayed and unauthorised actions refused and recorded in
// both, nothing changed. Real PostgreSQL.
import { Pool } from 'pg';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { signExceptionAction, type ExceptionActionClaimsInput } from '../../activities/approval/exception-action-token';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { approvalKeySet, generateApprovalKeyPair, type ApprovalKeyPair } from '../../activities/approval/signing';
import { applySignedExceptionAction, type ExceptionActionServiceDeps } from '../../activities/exceptions/signed-action';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { createExceptionActionStore, type ExceptionActionStore } from '../../activities/result-store/exception-actions';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';

const CLOSE = 'close:ACME:2026-10';
const NOW = new Date('2026-11-02T10:00:00Z');
const directory = {
  users: [
    { userId: 'ann', roles: ['accountant'] },
    { userId: 'sam', roles: ['supervisor'] },
  ],
};

describe('signed exception actions', () => {
  let pool: Pool;
  let results: ResultStore;
  let store: ExceptionActionStore;
  let ledger: AuditLedger;
  /** ann's and sam's own keys, in the user key directory the service judges CLI tokens by. */
  let people: PeopleKeys;
  let deps: ExceptionActionServiceDeps;
  let n = 0;

  const newRun = async () => {
    const { runId } = await results.startRun({
      workflowId: 'recon:ACME:2026-10:gl-vs-erp',
      workflowRunId: `r-${++n}`,
      reconId: 'gl-vs-erp',
      definitionHash: 'sha256:x',
    });
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
    ]);
    return { closeId: CLOSE, reconId: 'gl-vs-erp', runId, ownerRoles: ['accountant'] };
  };
  const claims = (runId: string, over: Partial<ExceptionActionClaimsInput> = {}): ExceptionActionClaimsInput => ({
    workflowId: CLOSE,
    reconId: 'gl-vs-erp',
    runId,
    by: 'ann',
    exceptionAction: { action: 'explain', reasonCode: 'timing', text: 'cleared on 2 Nov' },
    itemIds: ['GL:1', 'GL:2'],
    count: 2,
    totals: [{ currency: 'USD', total: '120.50' }],
    filter: { categories: ['timing_difference'] },
    ...over,
  });
  const sign = async (c: ExceptionActionClaimsInput, k: ApprovalKeyPair = people.keyOf(c.by)) =>
    (await signExceptionAction(c, k, { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: NOW })).token;

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('exception_signed'), max: 4 });
    results = createResultStore({ pool });
    await results.migrate();
    store = createExceptionActionStore({ pool, results });
    ledger = await AuditLedger.open({ pool });
    people = await PeopleKeys.of(['ann', 'sam']);
    deps = { store, ledger, userKeys: people, directory, now: () => NOW };
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('applies a verified bulk explanation, records it with its key and nonce, and appends it to the audit ledger', async () => {
    const target = await newRun();
    const out = await applySignedExceptionAction(deps, target, await sign(claims(target.runId)));
    expect(out).toMatchObject({
      accepted: true,
      by: 'ann',
      action: 'explain',
      count: 2,
      totals: [{ currency: 'USD', total: '120.50' }],
    });
    const [h] = await store.history(target.runId);
    expect(h).toMatchObject({
      accepted: true,
      by: 'ann',
      keyId: people.keyOf('ann').kid,
      issuer: CLI_ISSUER,
      itemIds: ['GL:1', 'GL:2'],
    });
    expect((await store.rows(target.runId)).map((r) => r.state)).toEqual(['explained', 'explained']);
    const entries = await ledger.entries();
    const e = entries.find((x) => x.seq === (out as { ledgerSeq: number }).ledgerSeq);
    expect(e).toMatchObject({ actor: 'ann', action: 'exception.action', subject: `${CLOSE}/gl-vs-erp` });
    expect(e?.payload).toMatchObject({ action: 'explain', count: 2, itemIds: ['GL:1', 'GL:2'], kid: people.keyOf('ann').kid });
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('refuses a forged token (a key the workers do not trust), records it as unverified, and changes nothing', async () => {
    const target = await newRun();
    const mallory = await generateApprovalKeyPair();
    const out = await applySignedExceptionAction(deps, target, await sign(claims(target.runId), mallory));
    expect(out).toMatchObject({ accepted: false, type: 'ExceptionActionToken_unknown_key', by: 'unverified:ann' });
    expect((await store.rows(target.runId)).map((r) => r.state)).toEqual(['open', 'open']);
    expect(await store.history(target.runId)).toEqual([
      expect.objectContaining({
        accepted: false,
        by: 'unverified:ann',
        refusalType: 'ExceptionActionToken_unknown_key',
      }),
    ]);
    const e = (await ledger.entries()).find((x) => x.seq === (out as { ledgerSeq: number }).ledgerSeq);
    expect(e).toMatchObject({ actor: 'unverified:ann', action: 'exception.action.refused' });
  });

  it('refuses a CLI-signed action on a service given no user key directory, records why and how to register a key, and changes nothing', async () => {
    const target = await newRun();
    const gateway = await generateApprovalKeyPair();
    const out = await applySignedExceptionAction(
      { store, ledger, keys: approvalKeySet([gateway]), directory, now: () => NOW },
      target,
      await sign(claims(target.runId), gateway),
    );
    expect(out).toMatchObject({
      accepted: false,
      type: 'ExceptionActionToken_key_not_registered',
      by: 'unverified:ann',
      message: expect.stringContaining('finflow keys user add <person>'),
    });
    expect((await store.rows(target.runId)).map((r) => r.state)).toEqual(['open', 'open']);
    const e = (await ledger.entries()).find((x) => x.seq === (out as { ledgerSeq: number }).ledgerSeq);
    expect(e).toMatchObject({
      actor: 'unverified:ann',
      action: 'exception.action.refused',
      payload: { reason: 'key_not_registered', message: expect.stringContaining('FINFLOW_USER_KEYS_FILE') },
    });
  });

  it('refuses a replayed token: the same signed action counts once', async () => {
    const target = await newRun();
    const token = await sign(
      claims(target.runId, { itemIds: ['GL:1'], count: 1, totals: [{ currency: 'USD', total: '100.00' }] }),
    );
    expect((await applySignedExceptionAction(deps, target, token)).accepted).toBe(true);
    const again = await applySignedExceptionAction(deps, target, token);
    expect(again).toMatchObject({ accepted: false, type: 'ExceptionActionReplayed', by: 'ann' });
    expect((await store.history(target.runId)).map((h) => h.accepted)).toEqual([true, false]);
  });

  it('refuses someone who does not hold the reconciliation’s owner role, whatever the token says', async () => {
    const target = await newRun();
    const out = await applySignedExceptionAction(deps, target, await sign(claims(target.runId, { by: 'sam' })));
    expect(out).toMatchObject({ accepted: false, type: 'ExceptionActionUnauthorised', by: 'sam' });
    expect(out.accepted === false && out.message).toContain(
      'sam (supervisor) may not work the exceptions of gl-vs-erp',
    );
    const refusedInLedger = (await ledger.entries()).filter(
      (x) => x.action === 'exception.action.refused' && x.actor === 'sam',
    );
    expect(refusedInLedger.length).toBeGreaterThan(0);
  });

  it('refuses an action on another run’s exceptions, another close’s, and an unknown reason code', async () => {
    const target = await newRun();
    const earlier = await newRun();
    const other = await applySignedExceptionAction(deps, target, await sign(claims(earlier.runId)));
    expect(other).toMatchObject({ accepted: false, type: 'ExceptionOfAnotherRun' });
    const wrongClose = await applySignedExceptionAction(
      deps,
      target,
      await sign(claims(target.runId, { workflowId: 'close:ACME:2026-09' })),
    );
    expect(wrongClose).toMatchObject({ accepted: false, type: 'ExceptionActionToken_wrong_workflow' });
    const badCode = await applySignedExceptionAction(
      deps,
      target,
      await sign(claims(target.runId, { exceptionAction: { action: 'explain', reasonCode: 'weather', text: 'x' } })),
    );
    expect(badCode).toMatchObject({ accepted: false, type: 'ExceptionActionToken_invalid_claims' });
    expect(badCode.accepted === false && badCode.message).toContain(
      'exceptionAction.reasonCode: "weather" is not a reason code',
    );
    const otherRecon = await applySignedExceptionAction(
      deps,
      target,
      await sign(claims(target.runId, { reconId: 'bank-vs-gl' })),
    );
    expect(otherRecon).toMatchObject({ accepted: false, type: 'ExceptionOfAnotherRun' });
    expect((await store.rows(target.runId)).map((r) => r.state)).toEqual(['open', 'open']);
    expect((await store.history(target.runId)).map((h) => h.refusalType)).toEqual([
      'ExceptionOfAnotherRun',
      'ExceptionActionToken_wrong_workflow',
      'ExceptionActionToken_invalid_claims',
      'ExceptionOfAnotherRun',
    ]);
  });

  it('refuses to sign a token whose count is not the number of items', async () => {
    await expect(sign(claims('r', { count: 3 }))).rejects.toThrow('count must be the number of itemIds');
  });
});

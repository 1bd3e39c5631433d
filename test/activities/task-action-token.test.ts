// Signed task actions: what a token proves, and every way one is refused.
import { APPROVAL_AUDIENCE, CLI_ISSUER, GATEWAY_ISSUER } from '../../activities/approval/keys';
import { approvalKeySet, generateApprovalKeyPair, signApprovalDecision } from '../../activities/approval/signing';
import { signTaskAction, verifyTaskActionToken } from '../../activities/approval/task-action-token';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { createApprovalActivities } from '../../activities/approval';
import { registerTaskCommands } from '../../client/commands/close';
import { PeopleKeys } from '../helpers/people-keys';

const NOW = new Date('2026-11-03T09:00:00Z');
const WF = 'close:ACME:2026-10';
const opts = { issuer: [GATEWAY_ISSUER, CLI_ISSUER], audience: APPROVAL_AUDIENCE, now: NOW, expectedWorkflowId: WF };

describe('task-action tokens', () => {
  it('prove who took which action on which task of which close, with the key and nonce', async () => {
    const key = await generateApprovalKeyPair();
    const { token, nonce } = await signTaskAction(
      { workflowId: WF, action: 'skip', taskId: 'fx_reval', by: 'ann', reason: 'no FX exposure this month' },
      key,
      { issuer: GATEWAY_ISSUER, audience: APPROVAL_AUDIENCE, now: NOW },
    );
    const v = await verifyTaskActionToken(token, approvalKeySet([key]), opts);
    expect(v).toEqual({
      ok: true,
      action: {
        action: 'skip',
        taskId: 'fx_reval',
        by: 'ann',
        reason: 'no FX exposure this month',
        proof: {
          kid: key.kid,
          nonce,
          issuer: GATEWAY_ISSUER,
          issuedAt: '2026-11-03T09:00:00.000Z',
          expiresAt: '2026-11-03T09:15:00.000Z',
        },
      },
    });
  });

  it('refuses another key, another close, an expired token, an approval token and a tampered one, naming who it claimed', async () => {
    const key = await generateApprovalKeyPair();
    const other = await generateApprovalKeyPair();
    const keys = approvalKeySet([key]);
    const sign = async (workflowId: string, k = key, now = NOW) =>
      (
        await signTaskAction({ workflowId, action: 'complete', taskId: 'prelim', by: 'ann' }, k, {
          issuer: CLI_ISSUER,
          audience: APPROVAL_AUDIENCE,
          now,
        })
      ).token;
    expect(await verifyTaskActionToken(await sign(WF, other), keys, opts)).toMatchObject({
      ok: false,
      reason: 'unknown_key',
      claimedBy: 'ann',
    });
    expect(await verifyTaskActionToken(await sign('close:ACME:2026-09'), keys, opts)).toMatchObject({
      ok: false,
      reason: 'wrong_workflow',
      message: 'the action is for workflow close:ACME:2026-09, not close:ACME:2026-10',
    });
    expect(
      await verifyTaskActionToken(await sign(WF, key, new Date('2026-11-03T08:00:00Z')), keys, opts),
    ).toMatchObject({ ok: false, reason: 'expired' });
    const approval = await signApprovalDecision(
      { workflowId: WF, checkpointId: 'je', round: 1, decision: 'approved', approverId: 'ann', roles: ['supervisor'] },
      key,
      { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: NOW },
    );
    expect(await verifyTaskActionToken(approval.token, keys, opts)).toMatchObject({ ok: false, reason: 'wrong_type' });
    const [h, p, sig] = (await sign(WF)).split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, sub: 'boss' })).toString('base64url'), sig].join('.');
    expect(await verifyTaskActionToken(forged, keys, opts)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
      claimedBy: 'boss',
    });
    expect(await verifyTaskActionToken('not.a-token', keys, opts)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('signs only a well-formed action', async () => {
    const key = await generateApprovalKeyPair();
    const o = { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: NOW };
    await expect(
      signTaskAction({ workflowId: WF, action: 'approve' as 'complete', by: 'ann' }, key, o),
    ).rejects.toThrow(/task action not signed: action/);
    await expect(signTaskAction({ workflowId: WF, action: 'complete', by: ' ' }, key, o)).rejects.toThrow(/by/);
  });

  it("is verified by the worker with its keys: a gateway's token with the approval key set, a person's CLI token only under their own key", async () => {
    const key = await generateApprovalKeyPair();
    const sign = (issuer: string, k = key) =>
      signTaskAction({ workflowId: WF, action: 'complete', taskId: 'prelim', by: 'ann' }, k, {
        issuer,
        audience: APPROVAL_AUDIENCE,
        now: NOW,
      });
    const { token } = await sign(CLI_ISSUER);
    const at = NOW.toISOString();
    const keyless = createApprovalActivities({});
    expect(await keyless.verifyTaskActionSignal({ token, workflowId: WF, at })).toMatchObject({
      ok: false,
      reason: 'unknown_key',
      message: expect.stringContaining('FINFLOW_APPROVAL_JWKS_FILE'),
    });
    const worker = createApprovalActivities({ approval: { keys: approvalKeySet([key]) } });
    // Without a user key directory the approval key set signs for the gateway only: a CLI token signed with it
    // is refused, saying how to register a person's key (issue 18: a worker trusts no CLI key it was not given).
    expect(await worker.verifyTaskActionSignal({ token, workflowId: WF, at })).toMatchObject({
      ok: false,
      reason: 'key_not_registered',
      message: expect.stringContaining('finflow keys user add'),
    });
    expect(
      await worker.verifyTaskActionSignal({ token: (await sign(GATEWAY_ISSUER)).token, workflowId: WF, at }),
    ).toMatchObject({ ok: true, action: { action: 'complete', taskId: 'prelim', by: 'ann' } });
    // With ann's own key in the directory, her CLI token counts.
    const people = await PeopleKeys.of(['ann']);
    const withPeople = createApprovalActivities({ approval: { userKeys: people } });
    const own = (await sign(CLI_ISSUER, people.keyOf('ann'))).token;
    expect(await withPeople.verifyTaskActionSignal({ token: own, workflowId: WF, at })).toMatchObject({
      ok: true,
      action: { action: 'complete', taskId: 'prelim', by: 'ann' },
    });
    expect(await worker.verifyTaskActionSignal({ token: 'x'.repeat(20_000), workflowId: WF, at })).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('is what finflow task complete --signing-key --print-signal prints for the plain temporal CLI', async () => {
    const key = await generateApprovalKeyPair();
    const file = join(mkdtempSync(join(tmpdir(), 'finflow-task-sign-')), 'signer.jwk.json');
    writeFileSync(file, JSON.stringify(key.privateJwk), { mode: 0o600 });
    const lines: string[] = [];
    const program = new Command('finflow').exitOverride();
    registerTaskCommands(program, (l) => lines.push(l), { FINFLOW_ACTOR: 'ann' });
    await program.parseAsync([
      'node',
      'finflow',
      'task',
      'skip',
      WF,
      'fx_reval',
      '--reason',
      'no FX exposure',
      '--signing-key',
      file,
      '--print-signal',
    ]);
    const signal = JSON.parse(lines[0]) as { action: string; taskId: string; by: string; token: string };
    expect(signal).toMatchObject({ action: 'skip', taskId: 'fx_reval', by: 'ann', reason: 'no FX exposure' });
    const v = await verifyTaskActionToken(signal.token, approvalKeySet([key]), { ...opts, now: new Date() });
    expect(v).toMatchObject({
      ok: true,
      action: { action: 'skip', taskId: 'fx_reval', by: 'ann', reason: 'no FX exposure' },
    });
  });
});

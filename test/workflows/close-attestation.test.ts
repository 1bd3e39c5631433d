// Captured attestation (issue 15): a documentation task whose config says awaitAttestation waits, its status showing
// the exact text to attest, until a holder of the control's required role attests it with a signed `attest` task
// action; wrong text, the wrong role, and an unsigned claim are refused and journaled; the evidence activity then
// gets the accepted attestation in the journal, and the statement's SHA-256 is what the package records.
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { signTaskAction } from '../../activities/approval/task-action-token';
import { capturedAttestations } from '../../activities/compliance/close-evidence';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { SEED_CONTROLS } from '../../domain/compliance/close-evidence';
import { submitTaskActionUpdate } from '../../workflows/definitions';
import type { CloseEvidenceInput, TaskAction } from '../../contracts';
import { PeopleKeys } from '../helpers/people-keys';
import { freshTimeSkippingServerPerTest, uniqueId, workflowBundle } from '../helpers/temporal';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { closeWorker, companyId, startClose, task, terminateLeftovers, waitFor, type Harness } from './close-harness';

const TEXT = SEED_CONTROLS['SOX/F-R3-GL-15'].attestationText as string;

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
/** Each person's own key, in the user key directory the worker reads (no CLI key is trusted otherwise). */
let people: PeopleKeys;
const h: Harness = { env: () => env, started: [] };

beforeAll(async () => {
  systems = systemsFromEnv({});
  people = await PeopleKeys.of(['ann', 'sam', 'carla']);
  await workflowBundle();
}, 120_000);

afterEach(() => terminateLeftovers(h));
freshTimeSkippingServerPerTest((e) => (env = e));
afterAll(async () => {
  await systems?.close();
});

function policy() {
  const p = seedPolicyInput();
  return {
    ...p,
    roles: [...p.roles, { name: 'controller', can_prepare: ['close_review'] }],
    users: [...p.users, { userId: 'carla', roles: ['controller'] }],
  };
}

describe('a documentation task that awaits its attestation', () => {
  it('waits showing the text to attest, refuses wrong text, wrong role and unsigned claims, and builds the evidence once the controller attests, signed', async () => {
    const taskQueue = uniqueId('tq');
    const company = companyId();
    const evidence: CloseEvidenceInput[] = [];
    const worker = await closeWorker(
      env,
      taskQueue,
      { systems, userKeys: people },
      {
        produceCloseEvidence: async (input: CloseEvidenceInput) => {
          evidence.push(input);
          return { packageId: 'pkg', path: '/evidence/pkg', manifestSha256: 'ab'.repeat(32), files: 1 };
        },
      },
    );
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, {
        company,
        period: '2026-10',
        owner: 'dora',
        requireSignedTaskActions: true,
        approvalPolicy: policy(),
        tasks: [
          { id: 'prep', name: 'Preliminary close', kind: 'journal_entry', ownerRole: 'accountant' },
          {
            id: 'sox',
            name: 'SOX documentation',
            kind: 'documentation',
            ownerRole: 'controller',
            predecessors: ['prep'],
            config: { regulation: 'SOX', controlId: 'F-R3-GL-15', awaitAttestation: true },
          },
        ],
      });
      const signed = async (a: Omit<TaskAction, 'token'>) =>
        handle.executeUpdate(submitTaskActionUpdate, {
          args: [
            {
              ...a,
              token: (
                await signTaskAction(
                  { ...a, workflowId: handle.workflowId } as Parameters<typeof signTaskAction>[0],
                  people.keyOf(a.by),
                  { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: new Date(await env.currentTimeMs()) },
                )
              ).token,
            },
          ],
        });

      await waitFor(handle, (s) => task(s, 'prep').state === 'running');
      // Before the task waits, there is nothing to attest.
      expect(await signed({ action: 'attest', taskId: 'sox', by: 'carla', statement: TEXT })).toMatchObject({
        accepted: false,
        message: expect.stringContaining('waits for no attestation'),
      });
      expect(await signed({ action: 'complete', taskId: 'prep', by: 'ann' })).toMatchObject({ accepted: true });

      const waiting = await waitFor(handle, (s) => task(s, 'sox').awaitingAttestation !== undefined, 'sox waiting');
      expect(task(waiting, 'sox')).toMatchObject({
        state: 'running',
        awaitingAttestation: { text: TEXT, requiredFrom: ['controller'] },
      });
      expect(evidence).toHaveLength(0);

      expect(await signed({ action: 'attest', taskId: 'sox', by: 'sam', statement: TEXT })).toMatchObject({
        accepted: false,
        message: expect.stringContaining('sam may not attest sox: the attestation is required from controller'),
      });
      expect(
        await signed({ action: 'attest', taskId: 'sox', by: 'carla', statement: TEXT.replace('accurate', 'fine') }),
      ).toMatchObject({ accepted: false, message: expect.stringContaining('the statement differs') });
      expect(await signed({ action: 'attest', taskId: 'prep', by: 'carla', statement: TEXT })).toMatchObject({
        accepted: false,
      });
      const unsigned = await handle.executeUpdate(submitTaskActionUpdate, {
        args: [{ action: 'attest', taskId: 'sox', by: 'carla', statement: TEXT }],
      });
      expect(unsigned).toMatchObject({ accepted: false, message: expect.stringContaining('unsigned') });
      expect(task(await waitFor(handle, () => true), 'sox').state).toBe('running');
      expect(evidence).toHaveLength(0);

      expect(await signed({ action: 'attest', taskId: 'sox', by: 'carla', statement: TEXT })).toMatchObject({
        accepted: true,
        message: 'sox is attested by carla (controller)',
      });
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(task(result, 'sox').state).toBe('done');
      expect(task(result, 'sox').awaitingAttestation).toBeUndefined();

      const attests = result.journal?.filter((j) => j.action === 'attest') ?? [];
      expect(attests.map((j) => [j.by, j.taskId, j.accepted, j.role ?? null, !!j.signed])).toEqual([
        ['carla', 'sox', false, null, true],
        ['sam', 'sox', false, null, true],
        ['carla', 'sox', false, null, true],
        ['carla', 'prep', false, null, true],
        ['carla', 'sox', false, null, false],
        ['carla', 'sox', true, 'controller', true],
      ]);

      expect(evidence).toHaveLength(1);
      const captured = capturedAttestations(evidence[0]);
      expect(captured).toEqual([
        {
          id: 'carla',
          role: 'controller',
          at: attests[5].at,
          statement: TEXT,
          statementSha256: createHash('sha256').update(TEXT).digest('hex'),
        },
      ]);
    });
  });
});

import {
  attestationMissing,
  attestationRequirement,
  attestationsOf,
  judgeAttestation,
  type AttestAttempt,
} from '../../domain/compliance/attestation';
import { SEED_CONTROLS } from '../../domain/compliance/close-evidence';

const TEXT = SEED_CONTROLS['SOX/F-R3-GL-15'].attestationText as string;
const requirement = attestationRequirement({ regulation: 'SOX', controlId: 'F-R3-GL-15', awaitAttestation: true });

const attempt = (over: Partial<AttestAttempt> = {}): AttestAttempt => ({
  taskId: 'sox_documentation',
  taskKind: 'documentation',
  by: 'carla.controller',
  roles: ['controller'],
  statement: TEXT,
  signed: true,
  requirement,
  attestedRoles: [],
  ...over,
});

describe('attestation requirement of a documentation task', () => {
  it("takes the seed control's exact text and required role, and whether the task waits for it", () => {
    expect(requirement).toEqual({ text: TEXT, requiredFrom: ['controller'], awaits: true });
    expect(attestationRequirement({ regulation: 'SOX', controlId: 'F-R3-GL-15' })?.awaits).toBe(false);
  });

  it('is undefined for a config that names no control finflow knows or describes', () => {
    expect(attestationRequirement({ regulation: 'SOX', controlId: 'NOPE-1' })).toBeUndefined();
    expect(attestationRequirement({ nonsense: true })).toBeUndefined();
  });

  it('names the roles still to attest', () => {
    expect(attestationMissing(requirement!, [])).toEqual(['controller']);
    expect(attestationMissing(requirement!, ['controller'])).toEqual([]);
  });
});

describe('judging an attest action', () => {
  it('accepts the exact text, signed, from a holder of the required role, in that role', () => {
    expect(judgeAttestation(attempt())).toEqual({ ok: true, role: 'controller' });
  });

  it('refuses a statement that differs from the control text by one character, and says where', () => {
    const r = judgeAttestation(attempt({ statement: TEXT.replace('complete', 'compleet') }));
    expect(r).toEqual({ ok: false, refusal: expect.stringMatching(/differs .*\(first difference at character 60/) });
    expect(judgeAttestation(attempt({ statement: `${TEXT} ` })).ok).toBe(false);
    expect(judgeAttestation(attempt({ statement: undefined }))).toEqual({
      ok: false,
      refusal: expect.stringContaining('attest needs "statement"'),
    });
  });

  it('refuses an actor who does not hold a required role, naming the roles they hold', () => {
    expect(judgeAttestation(attempt({ by: 'sam.supervisor', roles: ['supervisor'] }))).toEqual({
      ok: false,
      refusal:
        'sam.supervisor may not attest sox_documentation: the attestation is required from controller, and the directory gives sam.supervisor supervisor',
    });
  });

  it('refuses an unsigned attestation: a claimed identity never attests', () => {
    expect(judgeAttestation(attempt({ signed: false }))).toEqual({
      ok: false,
      refusal: expect.stringContaining('unsigned'),
    });
  });

  it('refuses when the close has no directory to prove the role, a second attestation in the same role, and any task but documentation', () => {
    expect(judgeAttestation(attempt({ roles: undefined })).ok).toBe(false);
    expect(judgeAttestation(attempt({ attestedRoles: ['controller'] }))).toEqual({
      ok: false,
      refusal: 'sox_documentation is already attested in role controller',
    });
    expect(judgeAttestation(attempt({ taskKind: 'report' }))).toEqual({
      ok: false,
      refusal: 'sox_documentation is a task of kind report: only a documentation task is attested',
    });
    expect(judgeAttestation(attempt({ requirement: undefined })).ok).toBe(false);
  });
});

describe('attestations of a task from the close journal', () => {
  const signed = { kid: 'gw', nonce: 'n-123456789', issuer: 'finflow-approval-gateway' };
  it('lists only accepted, signed attest entries of that task, with who, role, when and statement', () => {
    const journal = [
      {
        at: '2026-11-04T10:00:00Z',
        by: 'sam.supervisor',
        action: 'attest',
        taskId: 'sox_documentation',
        accepted: false,
        statement: TEXT,
        signed,
      },
      {
        at: '2026-11-04T11:00:00Z',
        by: 'carla.controller',
        action: 'attest',
        taskId: 'sox_documentation',
        accepted: true,
        role: 'controller',
        statement: TEXT,
        signed,
      },
      {
        at: '2026-11-04T11:30:00Z',
        by: 'carla.controller',
        action: 'attest',
        taskId: 'other_doc',
        accepted: true,
        role: 'controller',
        statement: TEXT,
        signed,
      },
      {
        at: '2026-11-04T12:00:00Z',
        by: 'eve',
        action: 'attest',
        taskId: 'sox_documentation',
        accepted: true,
        role: 'controller',
        statement: TEXT,
      },
      {
        at: '2026-11-04T12:30:00Z',
        by: 'carla.controller',
        action: 'complete',
        taskId: 'sox_documentation',
        accepted: true,
        signed,
      },
    ];
    expect(attestationsOf(journal, 'sox_documentation')).toEqual([
      { id: 'carla.controller', role: 'controller', at: '2026-11-04T11:00:00Z', statement: TEXT, signed },
    ]);
  });
});

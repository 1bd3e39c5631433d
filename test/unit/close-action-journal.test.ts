import type { CloseJournalEntry, TaskAction } from '../../contracts/close';
import {
  MAX_REFUSALS_KEPT,
  actionAnswer,
  journalEntryOf,
  refusalsFull,
  unsignedDifference,
} from '../../domain/close/action-journal';

const at = '2026-11-03T10:00:00.000Z';

describe('the journal entry of a task action', () => {
  it('records who, what, which task and why, in that order', () => {
    const e = journalEntryOf({ action: 'skip', by: 'olga', taskId: 'fx', reason: 'no exposure' }, true, at);
    expect(e).toEqual({ at, by: 'olga', action: 'skip', accepted: true, taskId: 'fx', reason: 'no exposure' });
    expect(Object.keys(e)).toEqual(['at', 'by', 'action', 'accepted', 'taskId', 'reason']);
  });

  it('keeps the note, the new owner, the refusal and the proof of a signed action', () => {
    const signed = { kid: 'k1', nonce: 'n1', issuer: 'gateway' };
    const e = journalEntryOf({ action: 'reassign', by: 'olga', taskId: 'je', to: 'bob', note: 'leave' }, false, at, {
      refusal: 'no',
      signed,
    });
    expect(e).toEqual({
      at,
      by: 'olga',
      action: 'reassign',
      accepted: false,
      taskId: 'je',
      note: 'leave',
      to: 'bob',
      refusal: 'no',
      signed,
    });
  });

  it('names an added task by its id, and keeps an attestation statement and role', () => {
    const add = { action: 'add', by: 'olga', task: { id: 'fx' } } as TaskAction;
    expect(journalEntryOf(add, true, at).taskId).toBe('fx');
    expect(journalEntryOf({ action: 'add', by: 'olga' }, false, at).taskId).toBeUndefined();
    const attest = { action: 'attest', by: 'cara', taskId: 'doc', statement: 'I attest' } as TaskAction;
    expect(journalEntryOf(attest, true, at, { role: 'controller' })).toMatchObject({
      statement: 'I attest',
      role: 'controller',
    });
    expect(
      journalEntryOf({ action: 'skip', by: 'o', taskId: 't', statement: 'x' }, true, at).statement,
    ).toBeUndefined();
  });

  it('writes a malformed action down as such instead of dropping it', () => {
    expect(journalEntryOf(null as unknown as TaskAction, false, at, { refusal: 'bad' })).toEqual({
      at,
      by: '(unknown)',
      action: '(malformed)',
      accepted: false,
      refusal: 'bad',
    });
    expect(journalEntryOf({ action: 7, by: 3 } as unknown as TaskAction, false, at)).toMatchObject({
      by: '(unknown)',
      action: '(malformed)',
    });
  });
});

describe('refusals the journal keeps', () => {
  it('is full once it holds the maximum of refused entries, accepted ones not counted', () => {
    const refused: CloseJournalEntry = { at, by: 'x', action: 'skip', accepted: false };
    const accepted: CloseJournalEntry = { at, by: 'x', action: 'skip', accepted: true };
    const almost = Array.from({ length: MAX_REFUSALS_KEPT - 1 }, () => refused);
    expect(refusalsFull([...almost, accepted, accepted])).toBe(false);
    expect(refusalsFull([...almost, refused])).toBe(true);
  });
});

describe('the answer of the update', () => {
  it('says whether the action was accepted, which action and task, and the message', () => {
    expect(actionAnswer({ action: 'complete', by: 'ann', taskId: 'je' }, true, 'je is done')).toEqual({
      accepted: true,
      action: 'complete',
      taskId: 'je',
      message: 'je is done',
    });
    expect(actionAnswer({ action: 'pause', by: 'olga' }, false, 'no')).toEqual({
      accepted: false,
      action: 'pause',
      message: 'no',
    });
    expect(actionAnswer(undefined as unknown as TaskAction, false, 'bad').action).toBe('undefined');
  });
});

describe('plain fields beside a signed action', () => {
  const signed: TaskAction = { action: 'skip', by: 'olga', taskId: 'fx', reason: 'no exposure' };

  it('accepts plain fields that are absent or say what the token says', () => {
    expect(unsignedDifference({ token: 't' } as TaskAction, signed)).toBeUndefined();
    expect(unsignedDifference({ ...signed, token: 't' }, signed)).toBeUndefined();
  });

  it('names the first plain field that says otherwise', () => {
    expect(unsignedDifference({ by: 'mallory', taskId: 'other' } as TaskAction, signed)).toBe('taskId');
    expect(unsignedDifference({ note: 'extra' } as TaskAction, signed)).toBe('note');
  });
});

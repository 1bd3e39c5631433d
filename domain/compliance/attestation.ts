// Captured attestations (issue 15): a documentation task's control names the exact text to attest and the roles it
// is required from; a person attests with a signed `attest` task action carrying that text. These rules decide
// whether one such action counts, and what the documentation step waits for. Pure: the close (workflows/) asks, the
// evidence (close-evidence.ts) reads the journal entries that were accepted.
import { parseCloseEvidenceConfig, resolveControl } from './close-evidence';

/** What a documentation task's control asks to be attested, and by whom; undefined when it asks nothing. */
export interface AttestationRequirement {
  text: string;
  requiredFrom: string[];
  /** The task holds its evidence until the attestation is given (config `awaitAttestation`). */
  awaits: boolean;
}

/** The requirement of a documentation task's config; undefined for a config that names no usable control. */
export function attestationRequirement(config: unknown): AttestationRequirement | undefined {
  try {
    const parsed = parseCloseEvidenceConfig(config);
    const control = resolveControl(parsed);
    return {
      text: control.attestationText,
      requiredFrom: [...control.attestationRequiredFrom],
      awaits: parsed.awaitAttestation === true,
    };
  } catch {
    // A bad config is refused by the evidence activity itself, with the field named; nothing to attest here.
    return undefined;
  }
}

export interface AttestAttempt {
  taskId: string;
  taskKind: string;
  by: string;
  /** The actor's roles in the close's directory; undefined when the close has no directory. */
  roles: readonly string[] | undefined;
  statement: unknown;
  /** The action came as a verified token (an unsigned attestation is a claim, never counted). */
  signed: boolean;
  requirement: AttestationRequirement | undefined;
  /** Roles already attested for this task by accepted actions. */
  attestedRoles: readonly string[];
}

/**
 * May this actor attest this task with this text? Returns the role the attestation is given in, or the refusal.
 * The text must be the control's, character for character: an attestation is a statement signed as written.
 */
export function judgeAttestation(a: AttestAttempt): { ok: true; role: string } | { ok: false; refusal: string } {
  const no = (refusal: string) => ({ ok: false as const, refusal });
  if (a.taskKind !== 'documentation')
    return no(`${a.taskId} is a task of kind ${a.taskKind}: only a documentation task is attested`);
  if (!a.requirement) return no(`${a.taskId} documents no control that asks for an attestation`);
  if (!a.signed)
    return no(
      'unsigned: an attestation counts only when signed (the approval gateway, or finflow task attest --signing-key)',
    );
  if (typeof a.statement !== 'string' || a.statement === '')
    return no(`attest needs "statement": the exact attestation text of ${a.taskId}`);
  if (a.statement !== a.requirement.text)
    return no(
      `the statement differs from the attestation text of ${a.taskId}'s control (${firstDifference(a.statement, a.requirement.text)})`,
    );
  if (a.roles === undefined)
    return no(
      `the close has no user directory, so ${a.by}'s role (${a.requirement.requiredFrom.join(' or ')}) is not proven`,
    );
  const role = a.requirement.requiredFrom.find((r) => a.roles?.includes(r) && !a.attestedRoles.includes(r));
  if (!role) {
    const held = a.requirement.requiredFrom.filter((r) => a.roles?.includes(r));
    if (held.length) return no(`${a.taskId} is already attested in role ${held.join(', ')}`);
    return no(
      `${a.by} may not attest ${a.taskId}: the attestation is required from ${a.requirement.requiredFrom.join(', ')}, ` +
        `and the directory gives ${a.by} ${a.roles.length ? a.roles.join(', ') : 'no role'}`,
    );
  }
  return { ok: true, role };
}

/** Roles still to attest, given the roles attested so far. */
export function attestationMissing(req: AttestationRequirement, attestedRoles: readonly string[]): string[] {
  return req.requiredFrom.filter((r) => !attestedRoles.includes(r));
}

function firstDifference(given: string, expected: string): string {
  let i = 0;
  while (i < given.length && i < expected.length && given[i] === expected[i]) i++;
  return `first difference at character ${i + 1}`;
}

/** A journal entry as far as attestation needs it (contracts/close.ts CloseJournalEntry). */
export interface AttestEntryLike {
  at: string;
  by: string;
  action: string;
  taskId?: string;
  accepted?: boolean;
  role?: string;
  statement?: string;
  signed?: { kid: string; nonce: string; issuer: string };
}

/** The accepted, signed attestations of a task, as the evidence lists them (who, role, when, the statement). */
export function attestationsOf(
  journal: readonly AttestEntryLike[],
  taskId: string,
): {
  id: string;
  role: string;
  at: string;
  statement: string;
  signed: { kid: string; nonce: string; issuer: string };
}[] {
  return journal
    .filter(
      (j) =>
        j.action === 'attest' &&
        j.taskId === taskId &&
        j.accepted === true &&
        j.signed !== undefined &&
        typeof j.role === 'string' &&
        typeof j.statement === 'string',
    )
    .map((j) => ({
      id: j.by,
      role: j.role as string,
      at: j.at,
      statement: j.statement as string,
      signed: j.signed as NonNullable<AttestEntryLike['signed']>,
    }));
}

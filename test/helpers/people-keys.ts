// Each person's own signing key for tests (issue 18): a worker trusts no CLI key it was not given, so a test that
// signs as ann and as sam through the CLI path gives each their own key, registered in a user key directory the
// worker reads. `PeopleKeys.of(['ann', 'sam'])` makes the keys; hand the object to the worker as `userKeys`.
import type { UserKeySource } from '../../activities/approval/user-keys';
import { generateApprovalKeyPair, type ApprovalKeyPair } from '../../activities/approval/signing';
import {
  addUserKey,
  emptyUserKeyDirectory,
  type UserKeyDirectory,
  type UserKeyRecord,
} from '../../domain/approval/person-keys';

/** Far enough back that any test clock (the time-skipping server's included) signs inside the window. */
const SINCE = '2000-01-01T00:00:00.000Z';

export class PeopleKeys implements UserKeySource {
  readonly where = 'the test user key directory';
  #dir: UserKeyDirectory = emptyUserKeyDirectory();
  readonly #keys = new Map<string, ApprovalKeyPair>();

  /** A directory holding one fresh key for each of `people`. */
  static async of(people: string[]): Promise<PeopleKeys> {
    const p = new PeopleKeys();
    for (const person of people) await p.add(person);
    return p;
  }

  directory(): UserKeyDirectory {
    return this.#dir;
  }

  /** Registers a fresh key for `person` (replacing the one `keyOf` returns; the old one stays registered). */
  async add(person: string, extra: Partial<UserKeyRecord> = {}): Promise<ApprovalKeyPair> {
    const pair = await generateApprovalKeyPair();
    this.#dir = addUserKey(this.#dir, {
      kid: pair.kid,
      personId: person,
      publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
      validFrom: SINCE,
      addedAt: SINCE,
      addedBy: 'test-setup',
      ...extra,
    });
    this.#keys.set(person, pair);
    return pair;
  }

  /** The person's own key; a person the test never registered is a mistake in the test. */
  keyOf(person: string): ApprovalKeyPair {
    const k = this.#keys.get(person);
    if (!k) throw new Error(`no test key for ${person}: add them to PeopleKeys.of([...])`);
    return k;
  }
}

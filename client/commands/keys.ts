// `finflow keys user add|revoke|list` (issue 18): the user key directory that binds each person's signing key to
// them (activities/approval/user-keys.ts). Workers and the gateway read the same file, FINFLOW_USER_KEYS_FILE.
// Adding and revoking are also written to the audit ledger when one is configured (FINFLOW_AUDIT_DATABASE_URL).
import { userInfo } from 'node:os';
import { type Command } from 'commander';
import { Pool } from 'pg';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { addUserKeyToFile, readUserKeyDirectoryFile, revokeUserKeyInFile } from '../../activities/approval/user-keys';
import type { UserKeyRecord } from '../../domain/approval/person-keys';

type Out = (s: string) => void;

function directoryFile(o: { directory?: string }, env: NodeJS.ProcessEnv): string {
  const file = o.directory ?? env.FINFLOW_USER_KEYS_FILE?.trim();
  if (!file) throw new Error('name the user key directory: --directory <file> or FINFLOW_USER_KEYS_FILE');
  return file;
}

/** An instant from the command line: a date (midnight UTC) or an ISO 8601 instant with its offset. */
export function instantOption(value: string, flag: string): string {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00.000Z` : value;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms))
    throw new Error(
      `${flag} must be a date (2026-12-31) or an ISO 8601 instant with offset, got ${JSON.stringify(value)}`,
    );
  return new Date(ms).toISOString();
}

async function toLedger(
  env: NodeJS.ProcessEnv,
  url: string | undefined,
  entry: { actor: string; action: string; subject: string; payload: Record<string, unknown> },
): Promise<number | undefined> {
  const at = url ?? env.FINFLOW_AUDIT_DATABASE_URL;
  if (!at) return undefined;
  const pool = new Pool({ connectionString: at, max: 1 });
  try {
    return (await (await AuditLedger.open({ pool })).append(entry)).seq;
  } finally {
    await pool.end();
  }
}

function state(k: UserKeyRecord, now: number): string {
  if (k.revokedAt !== undefined) return `revoked ${k.revokedAt} by ${k.revokedBy}: ${k.revocationReason}`;
  if (Date.parse(k.validFrom) > now) return `valid from ${k.validFrom}`;
  if (k.validUntil !== undefined && Date.parse(k.validUntil) <= now) return `expired ${k.validUntil}`;
  return k.validUntil ? `valid until ${k.validUntil}` : 'valid';
}

export function registerKeyCommands(program: Command, out: Out = (s) => console.log(s), env = process.env): void {
  // `finflow keys` also holds the master key file's commands (security.ts): `user` joins them.
  const keys = program.commands.find((c) => c.name() === 'keys') ?? program.command('keys').description('keys');
  const user = keys
    .command('user')
    .description("people's own signing keys: the user key directory workers judge CLI-signed tokens by");
  const actorOf = (o: { by?: string }) => o.by ?? env.FINFLOW_ACTOR ?? env.USER ?? userInfo().username;

  user
    .command('add <person>')
    .description(
      'make a key pair for <person>: the private JWK to a file only its owner can read (0600), the public half into the directory',
    )
    .option('--directory <file>', 'the user key directory (default $FINFLOW_USER_KEYS_FILE)')
    .option(
      '--out <file>',
      'where the private key goes (default users/<person>.<kid>.private.jwk.json beside the directory)',
    )
    .option('--valid-from <date>', 'first instant the key may sign (default now)')
    .option('--valid-until <date>', 'the key signs nothing from this instant on')
    .option('--alg <alg>', 'EdDSA or ES256', 'EdDSA')
    .option('--by <who>', 'who registers the key (default $FINFLOW_ACTOR or the OS user)')
    .option('--database-url <url>', 'audit ledger to record it in (default $FINFLOW_AUDIT_DATABASE_URL)')
    .option('--json')
    .action(
      async (
        person: string,
        o: {
          directory?: string;
          out?: string;
          validFrom?: string;
          validUntil?: string;
          alg: string;
          by?: string;
          databaseUrl?: string;
          json?: boolean;
        },
      ) => {
        if (o.alg !== 'EdDSA' && o.alg !== 'ES256') throw new Error(`--alg must be EdDSA or ES256, got ${o.alg}`);
        const file = directoryFile(o, env);
        const by = actorOf(o);
        const r = await addUserKeyToFile(file, {
          personId: person,
          addedBy: by,
          alg: o.alg,
          ...(o.out ? { privateKeyFile: o.out } : {}),
          ...(o.validFrom ? { validFrom: instantOption(o.validFrom, '--valid-from') } : {}),
          ...(o.validUntil ? { validUntil: instantOption(o.validUntil, '--valid-until') } : {}),
        });
        const { publicJwk: _jwk, ...record } = r.record;
        const ledgerSeq = await toLedger(env, o.databaseUrl, {
          actor: by,
          action: 'user-key.added',
          subject: `user-key/${r.record.kid}`,
          payload: { ...record, directory: file },
        });
        if (o.json) out(JSON.stringify({ ...r, ...(ledgerSeq ? { ledgerSeq } : {}) }, null, 2));
        else
          out(
            `key ${r.record.kid} of ${person} (${state(r.record, Date.now())})\n` +
              `  private: ${r.privateKeyFile} (mode 0600: give it to ${person} alone; sign with --signing-key)\n` +
              `  public:  ${file}${ledgerSeq ? `\n  ledger:  seq ${ledgerSeq}` : ''}`,
          );
      },
    );

  user
    .command('revoke <kid>')
    .description('revoke a key: nothing it signed counts from now on')
    .requiredOption('--reason <text>', 'why (kept in the directory and the ledger)')
    .option('--directory <file>', 'the user key directory (default $FINFLOW_USER_KEYS_FILE)')
    .option('--by <who>', 'who revokes (default $FINFLOW_ACTOR or the OS user)')
    .option('--database-url <url>', 'audit ledger to record it in (default $FINFLOW_AUDIT_DATABASE_URL)')
    .action(async (kid: string, o: { reason: string; directory?: string; by?: string; databaseUrl?: string }) => {
      const file = directoryFile(o, env);
      const by = actorOf(o);
      const k = await revokeUserKeyInFile(file, { kid, by, reason: o.reason });
      const ledgerSeq = await toLedger(env, o.databaseUrl, {
        actor: by,
        action: 'user-key.revoked',
        subject: `user-key/${kid}`,
        payload: { kid, personId: k.personId, revokedAt: k.revokedAt, reason: k.revocationReason, directory: file },
      });
      out(
        `key ${kid} of ${k.personId} revoked at ${k.revokedAt} by ${by}${ledgerSeq ? ` (ledger seq ${ledgerSeq})` : ''}`,
      );
    });

  user
    .command('list')
    .description("every person's keys: kid, person, window, revocation")
    .option('--directory <file>', 'the user key directory (default $FINFLOW_USER_KEYS_FILE)')
    .option('--person <id>', 'only this person')
    .option('--json')
    .action(async (o: { directory?: string; person?: string; json?: boolean }) => {
      const dir = await readUserKeyDirectoryFile(directoryFile(o, env));
      const rows = dir.keys.filter((k) => !o.person || k.personId === o.person);
      if (o.json) {
        out(JSON.stringify(rows, null, 2));
        return;
      }
      if (!rows.length) {
        out('no keys');
        return;
      }
      const now = Date.now();
      for (const k of rows)
        out(
          `${k.kid}  ${k.personId}  ${k.publicJwk.alg}  from ${k.validFrom}  ${state(k, now)}  (added by ${k.addedBy})`,
        );
    });
}

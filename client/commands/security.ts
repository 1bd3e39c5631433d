// `finflow data shred`, `finflow report open`, `finflow keys` and `finflow codec-server` (commands/codec-server.ts):
// the operator's side of data security.
// Shredding and re-wrapping work on the data-key store and access log in PostgreSQL; key commands on the key file
// (FINFLOW_KEY_FILE), whose material they never print.
import { existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Pool } from 'pg';
import { readSigningKeyFile } from '../../activities/approval/keys';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { FileSystemArchiveStore } from '../../activities/compliance/archive';
import {
  assertShreddable,
  recordShredding,
  signShredding,
  SHRED_RECORD_FILE,
} from '../../activities/compliance/shred-record';
import { PgAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { roleView, viewFormatOf, type RoleView } from '../../activities/reports/role-view';
import { openSealedFile, readSealedHeader, SEALED_FILE_SUFFIX, unsealFile } from '../../activities/security/file-seal';
import {
  generateMasterKey,
  KeyConfigError,
  KeyFileProvider,
  KeyRing,
  readKeyFile,
  rotateKeyFile,
  setCurrentKeyInFile,
  writeKeyFile,
  type KeyProvider,
} from '../../activities/security/key-ring';
import { keyProviderFromEnvIfConfigured, securityPolicyFromEnv } from '../../platform/security-setup';
import { personCodecVerifierFromEnv, signCodecPersonToken } from '../codec-identity';
import { registerCodecServerCommand } from './codec-server';

type Out = (line: string) => void;

interface ShredOptions {
  reason: string;
  databaseUrl?: string;
  actor?: string;
  signingKey?: string;
  archive?: string;
  json?: boolean;
}

async function withLedgerPool<T>(url: string, fn: (ledger: AuditLedger) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    return await fn(await AuditLedger.open({ pool }));
  } finally {
    await pool.end();
  }
}

function databaseUrl(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = given ?? env.DATABASE_URL;
  if (!url) throw new Error('name the database of the data keys and access log: --database-url or DATABASE_URL');
  return url;
}

function keyFile(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const path = given ?? env.FINFLOW_KEY_FILE;
  if (!path) throw new Error('name the key file: --key-file or FINFLOW_KEY_FILE');
  return path;
}

function defaultActor(env: NodeJS.ProcessEnv): string {
  return env.FINFLOW_ACTOR ?? env.USER ?? userInfo().username;
}

/** Shredding destroys keys and needs none: without configured keys, any attempt to use one is refused. */
const NO_KEYS: KeyProvider = {
  getCurrentKey: () => Promise.reject(new KeyConfigError('no master keys configured (FINFLOW_KEY_FILE/FINFLOW_KEYS)')),
  getKey: () => Promise.reject(new KeyConfigError('no master keys configured (FINFLOW_KEY_FILE/FINFLOW_KEYS)')),
};

async function withEnvelope<T>(
  url: string,
  keys: KeyProvider,
  fn: (envelope: EnvelopeEncryption, store: PgDataKeyStore, accessLog: PgAccessLog) => Promise<T>,
): Promise<T> {
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    const store = new PgDataKeyStore(pool);
    const accessLog = new PgAccessLog(pool);
    await store.ensureSchema();
    await accessLog.ensureSchema();
    return await fn(new EnvelopeEncryption({ keys, store, accessLog }), store, accessLog);
  } finally {
    await pool.end();
  }
}

/** A key id from the clock, e.g. k-20261125T071700Z (sortable, and says when the key was made). */
function newKeyId(): string {
  return `k-${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

function describeRing(ring: KeyRing): string {
  const old = ring.ids.filter((id) => id !== ring.currentId);
  return `current key ${ring.currentId}${old.length ? `; kept for decryption: ${old.join(', ')}` : ''}`;
}

export function registerSecurityCommands(
  program: Command,
  out: Out = (s) => console.log(s),
  env: NodeJS.ProcessEnv = process.env,
): void {
  const data = program.command('data').description('classified data at rest');
  data
    .command('shred <dataset>')
    .description('crypto-shred a dataset: destroy its data key, so its data is unreadable everywhere; logged')
    .requiredOption('--reason <text>', 'why (written to the access log as the purpose)')
    .option('--database-url <url>', 'database of the data keys and access log (default $DATABASE_URL)')
    .option('--actor <who>', 'who shreds (default $FINFLOW_ACTOR or the login name)')
    .option(
      '--signing-key <file>',
      "the shredder's own private JWK (finflow keys user add): the archive's record is signed",
    )
    .option('--archive <dir>', 'evidence archive whose packages record the shredding (default $FINFLOW_ARCHIVE_DIR)')
    .option('--json', 'print the result as JSON')
    .action(async (dataset: string, o: ShredOptions) => {
      const reason = o.reason.trim();
      if (!reason) throw new Error('--reason must say why the dataset is shredded');
      const actor = o.actor ?? defaultActor(env);
      const signingKey = o.signingKey ? await readSigningKeyFile(o.signingKey) : undefined;
      const archiveDir = o.archive ?? env.FINFLOW_ARCHIVE_DIR;
      const archive = archiveDir ? new FileSystemArchiveStore(archiveDir) : undefined;
      if (archive) await assertShreddable(archive, dataset);
      const keys = (await keyProviderFromEnvIfConfigured(env)) ?? NO_KEYS;
      const url = databaseUrl(o.databaseUrl, env);
      const result = await withEnvelope(url, keys, async (envelope, store) => {
        const r = await envelope.shred(dataset, { actor, purpose: reason });
        return { ...r, vacuumError: store.lastVacuumError?.message };
      });
      const shreddedAt = result.shreddedAt.toISOString();
      const recorded = archive
        ? await withLedgerPool(env.FINFLOW_AUDIT_DATABASE_URL ?? url, async (ledger) =>
            recordShredding(
              { store: archive, ledger },
              {
                dataset,
                shreddedAt,
                by: actor,
                reason,
                ...(signingKey
                  ? { token: await signShredding(signingKey, actor, { dataset, reason, shreddedAt }) }
                  : {}),
              },
            ),
          )
        : [];
      if (o.json) {
        out(JSON.stringify({ ...result, shreddedAt, actor, reason, archivedPackages: recorded }, null, 2));
        return;
      }
      const at = result.shreddedAt.toISOString();
      if (!result.firstShred) out(`dataset ${dataset} was already shredded at ${at}: nothing changed`);
      else if (result.hadKey)
        out(
          `shredded dataset ${dataset} at ${at}: its data key is destroyed; everything encrypted under it is unreadable`,
        );
      else out(`dataset ${dataset} had no data key: a tombstone was written at ${at}, so it can never get one`);
      if (result.firstShred)
        out(
          'vacuumed' in result && result.vacuumed
            ? 'old row versions of data_keys vacuumed'
            : `VACUUM did not run (${result.vacuumError ?? 'unknown reason'}): the destroyed key's old bytes stay in ` +
                'dead row versions until autovacuum; they are useless without the master key that wrapped them',
        );
      out(`access log: shred of ${dataset} by ${actor}, purpose "${reason}"`);
      for (const p of recorded)
        out(
          `evidence ${p.packageId}: ${p.exceptions} exception(s) sealed under ${dataset} are now unreadable; ` +
            `recorded in its ${SHRED_RECORD_FILE} (${signingKey ? `signed by ${actor}` : `claimed by ${actor}, unsigned`}) ` +
            'and the audit ledger; its manifest still verifies',
        );
      if (!archive)
        out('no evidence archive named (--archive, FINFLOW_ARCHIVE_DIR): no package records this shredding');
    });

  const report = program.command('report').description('reconciliation reports sealed at rest');
  report
    .command('open <file>')
    .description(
      "write the clear form of a sealed report (<name>.sealed) with the worker's keys, or with --role the view " +
        'those roles may see (masked per the security policy); the read is access-logged',
    )
    .requiredOption('--purpose <text>', 'why it is read (written to the access log)')
    .option(
      '--role <roles>',
      'write the view for these roles (comma-separated) instead of the clear report: what the policy withholds from ' +
        'them is masked, as the codec server masks payloads; the clear report never reaches the disk',
    )
    .option('--out <path>', 'where to write it (default: beside it, without .sealed; a view adds .view-<roles>)')
    .option('--database-url <url>', 'database of the data keys and access log (default $DATABASE_URL)')
    .option('--actor <who>', 'who reads (default $FINFLOW_ACTOR or the login name)')
    .option(
      '--signing-key <file>',
      "the reader's own private key (finflow keys user add): who reads is proven against the user key directory " +
        '(FINFLOW_USER_KEYS_FILE) and the view is for their roles in the user directory (FINFLOW_APPROVAL_POLICY_FILE)',
    )
    .action(
      async (
        file: string,
        o: { purpose: string; role?: string; out?: string; databaseUrl?: string; actor?: string; signingKey?: string },
      ) => {
        const purpose = o.purpose.trim();
        if (!purpose) throw new Error('--purpose must say why the report is read');
        let roles = o.role === undefined ? undefined : o.role.split(',').map((r) => r.trim());
        if (roles && (roles.length === 0 || roles.some((r) => !/^[A-Za-z0-9_.-]+$/.test(r))))
          throw new Error(`--role must name roles (letters, digits, '.', '_', '-'), comma-separated: ${o.role}`);
        let actor = o.actor ?? defaultActor(env);
        // Issue 18: where readers are people of the directory, who reads is proven with their own key, and what they
        // see is masked for the roles the directory gives them (as the codec server does), never roles they name.
        const people = personCodecVerifierFromEnv(env, undefined);
        if (people || o.signingKey) {
          if (!people)
            throw new Error(
              '--signing-key proves who reads against the user key directory: set FINFLOW_USER_KEYS_FILE and FINFLOW_APPROVAL_POLICY_FILE',
            );
          if (!o.signingKey)
            throw new Error(
              'readers are people of the user directory here (FINFLOW_USER_KEYS_FILE, FINFLOW_APPROVAL_POLICY_FILE): ' +
                'name your own key with --signing-key (finflow keys user add)',
            );
          const key = await readSigningKeyFile(o.signingKey);
          const caller = await people(`Bearer ${(await signCodecPersonToken(actor, key)).token}`).catch((err) => {
            throw new Error(`${actor} is not proven: ${(err as Error).message}`);
          });
          const notHeld = (roles ?? []).filter((r) => !caller.roles.includes(r));
          if (notHeld.length)
            throw new Error(
              `${caller.subject} does not hold ${notHeld.join(', ')} in the user directory (holds: ${caller.roles.join(', ') || 'none'})`,
            );
          if (!caller.roles.length) throw new Error(`${caller.subject} holds no role in the user directory`);
          roles = roles ?? caller.roles;
          actor = caller.subject;
        }
        const header = await readSealedHeader(file);
        if (!header) throw new Error(`${file} is not a sealed report (it can be read as it is)`);
        const clearName = file.endsWith(SEALED_FILE_SUFFIX) ? file.slice(0, -SEALED_FILE_SUFFIX.length) : '';
        const target =
          o.out ?? (clearName && roles ? clearName.replace(/(\.[a-z]+)$/, `.view-${roles.join('+')}$1`) : clearName);
        if (!target) throw new Error(`name where the clear report goes: --out (${file} does not end in .sealed)`);
        if (resolve(target) === resolve(file)) throw new Error('--out must not be the sealed file itself');
        const format = roles ? viewFormatOf(header.name) : undefined;
        const policy = roles ? securityPolicyFromEnv(env) : undefined;
        const keys = await keyProviderFromEnvIfConfigured(env);
        const done = await withEnvelope(databaseUrl(o.databaseUrl, env), keys ?? NO_KEYS, async (envelope, _s, log) => {
          const event = {
            actor,
            action: 'read' as const,
            resource: header.dataset,
            fields: [`report:${header.name}`, ...(roles ? [`view:${roles.join('+')}`] : [])],
            purpose,
          };
          let cipher;
          try {
            cipher = await envelope.open(header.dataset, { create: false });
          } catch (err) {
            await log.record({ ...event, outcome: 'denied' });
            throw new Error(`${file}: ${(err as Error).message}`);
          }
          const tmp = `${target}.${process.pid}.tmp`;
          try {
            let r: { bytes: number; view?: RoleView };
            if (roles && format && policy) {
              const parts: Buffer[] = [];
              for await (const chunk of openSealedFile(file, cipher)) parts.push(chunk);
              const view = await roleView(
                format,
                Buffer.concat(parts),
                policy,
                roles,
                header.classification,
                header.sides,
              );
              await writeFile(tmp, view.bytes, { mode: 0o600 });
              r = { bytes: view.bytes.length, view };
            } else r = await unsealFile(file, tmp, cipher);
            await rename(tmp, target);
            await log.record({ ...event, outcome: 'allowed' });
            return r;
          } catch (err) {
            await rm(tmp, { force: true });
            await log.record({ ...event, outcome: 'failed' });
            throw new Error(`${file}: ${(err as Error).message}`);
          } finally {
            cipher.dispose();
          }
        });
        if (done.view) {
          const v = done.view;
          out(
            `view of ${header.name} for ${roles!.join(', ')} (dataset ${header.dataset}): ${v.rows} row${v.rows === 1 ? '' : 's'}, ${done.bytes} bytes written to ${target}`,
          );
          out(
            `  data classified ${header.classification ?? '(not recorded: by field names and patterns only)'}; masked: ${v.masked.join(', ') || 'none'}; withheld: ${v.withheld.join(', ') || 'none'}; classified but shown: ${v.revealed.join(', ') || 'none'}`,
          );
        } else out(`opened ${header.name} (dataset ${header.dataset}): ${done.bytes} bytes written to ${target}`);
        out(
          `access log: read of ${header.dataset} report ${header.name}${roles ? ` (view for ${roles.join(', ')})` : ''} by ${actor}, purpose "${purpose}"`,
        );
      },
    );

  const keys = program.command('keys').description('the master key file (FINFLOW_KEY_FILE); material is never printed');
  const fileOption = ['--key-file <path>', 'the key file (default $FINFLOW_KEY_FILE)'] as const;
  keys
    .command('init <path>')
    .description('create a key file (mode 0600) with one fresh key')
    .option('--key-id <id>', 'id of the first key (default from the clock)')
    .action(async (path: string, o: { keyId?: string }) => {
      // Overwriting a key file would make everything encrypted under its keys unreadable.
      if (existsSync(path)) throw new Error(`${path} exists: not overwritten (use \`finflow keys rotate\`)`);
      const id = o.keyId ?? newKeyId();
      await writeKeyFile(path, new KeyRing([generateMasterKey(id)], id));
      out(`created ${path} (mode 0600) with ${describeRing(await readKeyFile(path))}`);
    });
  keys
    .command('list')
    .description('show the key ids and which one encrypts')
    .option(...fileOption)
    .action(async (o: { keyFile?: string }) => {
      out(describeRing(await readKeyFile(keyFile(o.keyFile, env))));
    });
  keys
    .command('rotate')
    .description(
      'add a fresh key and make it current; workers and clients reading the file pick it up without a restart',
    )
    .option(...fileOption)
    .option('--key-id <id>', 'id of the new key (default from the clock)')
    .option('--stage', 'add the key without making it current (step one when processes do not share the file)')
    .action(async (o: { keyFile?: string; keyId?: string; stage?: boolean }) => {
      const path = keyFile(o.keyFile, env);
      const id = o.keyId ?? newKeyId();
      const ring = await rotateKeyFile(path, id, !o.stage);
      out(`added key ${id} to ${path}: ${describeRing(ring)}`);
      if (o.stage) out(`next: once every worker and client holds ${id}, run \`finflow keys promote ${id}\``);
      else
        out(
          'old keys stay for decryption; `finflow keys rewrap <old id>` moves data keys to the new key before one is retired',
        );
    });
  keys
    .command('promote <keyId>')
    .description('make a key the file already holds current (step two of a staged rotation)')
    .option(...fileOption)
    .action(async (keyId: string, o: { keyFile?: string }) => {
      const path = keyFile(o.keyFile, env);
      out(`${path}: ${describeRing(await setCurrentKeyInFile(path, keyId))}`);
    });
  keys
    .command('rewrap <oldKeyId>')
    .description('re-wrap every live data key wrapped by an old master key under the current one')
    .option(...fileOption)
    .option('--database-url <url>', 'database of the data keys (default $DATABASE_URL)')
    .action(async (oldKeyId: string, o: { keyFile?: string; databaseUrl?: string }) => {
      const provider = new KeyFileProvider(keyFile(o.keyFile, env));
      const current = (await provider.reload()).currentId;
      if (current === oldKeyId) throw new Error(`${oldKeyId} is the current key: rotate first`);
      const moved = await withEnvelope(databaseUrl(o.databaseUrl, env), provider, (envelope) =>
        envelope.rewrapAll(oldKeyId),
      );
      out(`re-wrapped ${moved} data key(s) from ${oldKeyId} to ${current}`);
    });

  registerCodecServerCommand(program, out, env);
}

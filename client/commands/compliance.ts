// `finflow audit`, `finflow evidence` and `finflow archive`: the compliance commands. They work on the audit
// ledger's database and on package directories directly, not through Temporal, so an auditor can verify
// evidence years after the close with nothing but the files, the public key and this tool.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Pool } from 'pg';
import { AuditLedger, ExportedCheckpointSchema, type ExportedCheckpoint } from '../../activities/audit-ledger';
import { closeTrail, formatTrailLine, trailLine } from '../../activities/audit-ledger/trail';
import {
  FileSystemArchiveStore,
  purgeArchive,
  setLegalHold,
  type ArchiveDeps,
} from '../../activities/compliance/archive';
import { MANIFEST_FILE } from '../../activities/compliance/manifest';
import { EVIDENCE_FILE } from '../../activities/compliance/package';
import { readPublicKeyFile, signingKeyFromEnv, type SigningKey } from '../../activities/compliance/signing';
import { readEvidenceDocument, refreshEvidenceTrail } from '../../activities/compliance/trail';
import { assertRevisable, recordPackageRevision } from '../../activities/compliance/archive';
import { verifyEvidencePackage } from '../../activities/compliance/verify';
import { exportCloseHistory } from '../../activities/history-export';
import { maskByFieldName } from '../../domain/security/masking';
import { securityPolicyFromEnv } from '../../platform/security-setup';
import { connectClient } from '../connect';
import { registerEvidenceOpen, sealedLines } from './evidence-open';

type Out = (line: string) => void;

function ledgerUrl(given: string | undefined, env: NodeJS.ProcessEnv, required: boolean): string | undefined {
  const url = given ?? env.FINFLOW_AUDIT_DATABASE_URL ?? (required ? env.DATABASE_URL : undefined);
  if (!url && required)
    throw new Error('name the audit ledger database: --database-url, FINFLOW_AUDIT_DATABASE_URL or DATABASE_URL');
  return url;
}

async function withLedger<T>(
  url: string,
  fn: (ledger: AuditLedger) => Promise<T>,
  signingKey?: SigningKey,
): Promise<T> {
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    const ledger = await AuditLedger.open({ pool, signingKey });
    return await fn(ledger);
  } finally {
    await pool.end();
  }
}

function readCheckpoints(path: string): ExportedCheckpoint[] {
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const list = Array.isArray(value) ? value : [value];
  return list.map((c, i) => {
    const r = ExportedCheckpointSchema.safeParse(c);
    if (!r.success) throw new Error(`${path}: entry ${i} is not an audit ledger checkpoint`);
    return r.data;
  });
}

function defaultActor(env: NodeJS.ProcessEnv): string {
  return env.FINFLOW_ACTOR ?? env.USER ?? userInfo().username;
}

/** The packages of a close: `dir` itself if it is one, else its sub-directories, then the archive's. */
async function findPackages(
  closeWorkflowId: string,
  dir: string | undefined,
  store: FileSystemArchiveStore | undefined,
): Promise<{ dir: string; packageId: string; archived: boolean }[]> {
  const found: { dir: string; packageId: string; archived: boolean }[] = [];
  const consider = async (d: string, archived: boolean) => {
    if (!existsSync(join(d, MANIFEST_FILE)) || !existsSync(join(d, EVIDENCE_FILE))) return;
    const { doc } = await readEvidenceDocument(d);
    if (doc.close.closeId === closeWorkflowId) found.push({ dir: d, packageId: doc.packageId, archived });
  };
  if (dir && existsSync(dir)) {
    if (existsSync(join(dir, MANIFEST_FILE))) await consider(dir, false);
    else
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory() && !e.name.startsWith('.')) await consider(join(dir, e.name), false);
  }
  if (store) for (const r of await store.list()) await consider(store.location(r.packageId), true);
  return found;
}

export function registerComplianceCommands(
  program: Command,
  out: Out = (s) => console.log(s),
  env: NodeJS.ProcessEnv = process.env,
): void {
  const audit = program.command('audit').description('the tamper-evident audit ledger');
  audit
    .command('verify')
    .description('recompute the hash chain, check signed checkpoints, and report the first broken entry')
    .option('--database-url <url>', 'the ledger database (default $FINFLOW_AUDIT_DATABASE_URL, then $DATABASE_URL)')
    .option('--public-key <file>', 'PEM public key that signed the checkpoints')
    .option('--checkpoints <file>', 'checkpoints exported earlier (JSON), checked against the chain')
    .option('--json', 'print the result as JSON')
    .action(async (o: { databaseUrl?: string; publicKey?: string; checkpoints?: string; json?: boolean }) => {
      const url = ledgerUrl(o.databaseUrl, env, true) as string;
      const publicKey = o.publicKey ? readPublicKeyFile(o.publicKey) : undefined;
      const trusted = o.checkpoints ? readCheckpoints(o.checkpoints) : undefined;
      const r = await withLedger(url, (l) => l.verify({ publicKey, trusted }));
      if (o.json) out(JSON.stringify(r, null, 2));
      else if (r.ok)
        out(
          `audit ledger intact: ${r.entries} entries, head seq ${r.lastSeq} hash ${r.lastHash}; ` +
            `${r.checkpointsChecked} checkpoint(s) matched${r.signaturesVerified ? '' : ' (signatures not checked: no public key)'}`,
        );
      if (!r.ok) throw new Error(`audit ledger broken at seq ${r.firstBroken?.seq}: ${r.firstBroken?.reason}`);
    });
  audit
    .command('show')
    .description("a close's trail: who did what, when, accepted or refused and why (decisions, actions, evidence)")
    .requiredOption('--close <id>', 'the close workflow id')
    .option('--database-url <url>', 'the ledger database (default $FINFLOW_AUDIT_DATABASE_URL, then $DATABASE_URL)')
    .option('--json', 'print the entries as JSON')
    .action(async (o: { close: string; databaseUrl?: string; json?: boolean }) => {
      const url = ledgerUrl(o.databaseUrl, env, true) as string;
      // Opened as a ledger first, so its tables exist: a fresh database shows an empty trail, not an SQL error.
      const entries = await withLedger(url, () => {
        const pool = new Pool({ connectionString: url, max: 1 });
        return closeTrail(pool, o.close).finally(() => pool.end());
      });
      if (o.json) {
        out(JSON.stringify(entries, null, 2));
        return;
      }
      if (!entries.length) {
        out(`no audit ledger entry about ${o.close}`);
        return;
      }
      for (const e of entries) out(formatTrailLine(trailLine(e, o.close)));
      const refused = entries.filter((e) => !trailLine(e, o.close).accepted).length;
      out(`${entries.length} entries about ${o.close} (${refused} refused); finflow audit verify checks the chain`);
    });
  audit
    .command('checkpoint')
    .description('sign the ledger head with $FINFLOW_SIGNING_KEY(_FILE) and export every checkpoint to a file')
    .requiredOption('--out <file>', 'where to write the checkpoints (JSON); keep it outside the database')
    .option('--database-url <url>')
    .action(async (o: { out: string; databaseUrl?: string }) => {
      const key = signingKeyFromEnv(env);
      if (!key) throw new Error('set FINFLOW_SIGNING_KEY or FINFLOW_SIGNING_KEY_FILE to sign');
      const url = ledgerUrl(o.databaseUrl, env, true) as string;
      const all = await withLedger(
        url,
        async (l) => {
          const head = await l.checkpoint();
          out(`checkpoint at seq ${head.seq}, hash ${head.hash}, key ${head.keyId}`);
          return l.checkpoints();
        },
        key,
      );
      writeFileSync(o.out, `${JSON.stringify(all, null, 2)}\n`);
      out(`wrote ${all.length} checkpoint(s) to ${o.out}`);
    });

  const evidence = program.command('evidence').description('evidence packages');
  evidence
    .command('verify <dir>')
    .description("check a package's signed manifest and every file's SHA-256")
    .option(
      '--public-key <file>',
      "PEM public key of the package's signer (default: that of $FINFLOW_SIGNING_KEY(_FILE))",
    )
    .option('--check-references', 'also hash files the package references instead of holding')
    .option(
      '--user-keys <file>',
      "user key directory to check a shredding's signature with (default $FINFLOW_USER_KEYS_FILE)",
    )
    .option('--json')
    .action(
      async (dir: string, o: { publicKey?: string; checkReferences?: boolean; userKeys?: string; json?: boolean }) => {
        const publicKey = o.publicKey ? readPublicKeyFile(o.publicKey) : signingKeyFromEnv(env)?.publicKey;
        if (!publicKey) throw new Error('name the signer: --public-key <file>, or FINFLOW_SIGNING_KEY(_FILE)');
        const r = await verifyEvidencePackage(dir, publicKey, {
          checkReferences: o.checkReferences,
        });
        if (o.json) out(JSON.stringify(r, null, 2));
        else if (r.ok) out(`package ${r.packageId} verified: ${r.filesChecked} files match the signed manifest`);
        else for (const e of r.errors) out(`FAILED ${e}`);
        if (!o.json) for (const l of await sealedLines(r, o.userKeys ?? env.FINFLOW_USER_KEYS_FILE)) out(l);
        if (!r.ok) throw new Error(`package ${r.packageId ?? dir} failed verification (${r.errors.length} problem(s))`);
      },
    );

  registerEvidenceOpen(evidence, out, env, () => defaultActor(env));

  evidence
    .command('export <closeWorkflowId>')
    .description(
      "after a close has ended, add its complete history (and its children's), decoded and masked, to its evidence " +
        'packages and re-sign them; resumable, unchanged files keep their hashes',
    )
    .option('--out <dir>', 'a package directory, or a directory of packages (default $FINFLOW_EVIDENCE_DIR)')
    .option('--archive <dir>', 'the evidence archive to look in as well (default $FINFLOW_ARCHIVE_DIR)')
    .option('--role <role>', 'the role the trail is masked for (default $FINFLOW_EVIDENCE_ROLE or auditor)')
    .option('--actor <who>', 'who exports (default $FINFLOW_ACTOR or the OS user)')
    .option('--database-url <url>', 'audit ledger to log to (default $FINFLOW_AUDIT_DATABASE_URL)')
    .option('--json')
    .action(
      async (
        closeWorkflowId: string,
        o: { out?: string; archive?: string; role?: string; actor?: string; databaseUrl?: string; json?: boolean },
      ) => {
        const signingKey = signingKeyFromEnv(env);
        if (!signingKey) throw new Error('set FINFLOW_SIGNING_KEY or FINFLOW_SIGNING_KEY_FILE to re-sign the package');
        const outDir = o.out ?? env.FINFLOW_EVIDENCE_DIR;
        const archiveDir = o.archive ?? env.FINFLOW_ARCHIVE_DIR;
        if (!outDir && !archiveDir) throw new Error('name where the packages are: --out <dir> or --archive <dir>');
        const actor = o.actor ?? defaultActor(env);
        const policy = securityPolicyFromEnv(env);
        const role = o.role ?? env.FINFLOW_EVIDENCE_ROLE ?? 'auditor';
        const mask = (v: unknown) => maskByFieldName(v, policy, [role], { maskFreeText: true }).value;
        const g = program.opts<{ address?: string; namespace?: string }>();
        const { client, dataConverter, close } = await connectClient(
          { address: g.address, namespace: g.namespace },
          { env },
        );
        const url = ledgerUrl(o.databaseUrl, env, false);
        const pool = url ? new Pool({ connectionString: url, max: 2 }) : undefined;
        try {
          const ledger = pool ? await AuditLedger.open({ pool }) : undefined;
          const codecs = dataConverter?.payloadCodecs;
          const described = await client.workflow.getHandle(closeWorkflowId).describe();
          if (described.status.name === 'RUNNING')
            throw new Error(
              `${closeWorkflowId} is still running: its history is complete only once it ends; export it afterwards`,
            );
          const store = archiveDir ? new FileSystemArchiveStore(archiveDir) : undefined;
          const found = await findPackages(closeWorkflowId, outDir, store);
          if (!found.length) {
            if (!outDir) throw new Error(`no evidence package of ${closeWorkflowId} in the archive ${archiveDir}`);
            const h = await exportCloseHistory({ client, codecs, mask }, { workflowId: closeWorkflowId, outDir });
            out(
              `no evidence package of ${closeWorkflowId} under ${outDir}: wrote its trail only (${h.entries} events of ` +
                `${h.workflows.length} workflow(s)) to ${h.files.map((f) => f.path).join(', ')}`,
            );
            return;
          }
          const results = [];
          for (const p of found) {
            if (p.archived && store) await assertRevisable({ store }, p.packageId);
            const r = await refreshEvidenceTrail({ client, codecs, mask, signingKey }, { dir: p.dir, closeWorkflowId });
            let entry: { seq: number } | undefined;
            if (r.manifestSha256 !== r.previousManifestSha256 || r.written.length) {
              entry = await ledger?.append({
                actor,
                action: 'evidence.trail_exported',
                subject: r.packageId,
                payload: {
                  closeWorkflowId,
                  previousManifestSha256: r.previousManifestSha256 ?? null,
                  manifestSha256: r.manifestSha256,
                  entries: r.entries,
                  workflows: r.workflows,
                },
                idempotencyKey: `${closeWorkflowId}/trail/${r.packageId}/${r.manifestSha256}`,
              });
            }
            if (p.archived && store)
              await recordPackageRevision(
                { store, ledger },
                { packageId: r.packageId, by: actor, reason: `complete history of ${closeWorkflowId} exported` },
              );
            results.push({ ...r, archived: p.archived, ledgerSeq: entry?.seq });
            if (!o.json)
              out(
                `${r.packageId}: trail of ${closeWorkflowId} (${r.closeState} ${r.completedAt}): ${r.entries} events of ` +
                  `${r.workflows} workflow(s); ${r.written.length ? `rewrote ${r.written.join(', ')}` : 'nothing changed'}; ` +
                  `manifest ${r.manifestSha256}${p.archived ? ' (archived package, record updated)' : ''}` +
                  (entry ? `; audit ledger seq ${entry.seq}` : ''),
              );
          }
          if (o.json) out(JSON.stringify(results, null, 2));
        } finally {
          await pool?.end();
          await close();
        }
      },
    );

  const archive = program.command('archive').description('archived evidence: retention, legal hold, purge');
  const archiveDir = (given: string | undefined): string => {
    const dir = given ?? env.FINFLOW_ARCHIVE_DIR;
    if (!dir) throw new Error('name the archive: --archive <dir> or FINFLOW_ARCHIVE_DIR');
    return dir;
  };
  const deps = async (
    o: { archive?: string; databaseUrl?: string },
    fn: (d: ArchiveDeps) => Promise<void>,
  ): Promise<void> => {
    const store = new FileSystemArchiveStore(archiveDir(o.archive));
    const url = ledgerUrl(o.databaseUrl, env, false);
    if (!url) return fn({ store });
    await withLedger(url, (ledger) => fn({ store, ledger }));
  };
  archive
    .command('list')
    .option('--archive <dir>', 'the evidence archive (default $FINFLOW_ARCHIVE_DIR)')
    .action(async (o: { archive?: string }) => {
      const records = await new FileSystemArchiveStore(archiveDir(o.archive)).list();
      for (const r of records) out(`${r.packageId}  retain until ${r.retainUntil}${r.legalHold ? '  LEGAL HOLD' : ''}`);
      if (!records.length) out('the archive is empty');
    });
  archive
    .command('hold <packageId>')
    .description('place (or with --off lift) a legal hold; a held package is never purged')
    .option('--archive <dir>', 'the evidence archive (default $FINFLOW_ARCHIVE_DIR)')
    .requiredOption('--reason <text>')
    .option('--by <who>', 'who orders it (default $FINFLOW_ACTOR or the OS user)')
    .option('--off', 'lift the hold')
    .option('--database-url <url>', 'audit ledger to log to (default $FINFLOW_AUDIT_DATABASE_URL)')
    .action(
      async (id: string, o: { archive?: string; reason: string; by?: string; off?: boolean; databaseUrl?: string }) =>
        deps(o, async (d) => {
          const r = await setLegalHold(d, {
            packageId: id,
            on: !o.off,
            by: o.by ?? defaultActor(env),
            reason: o.reason,
          });
          out(`${r.packageId}: legal hold ${r.legalHold ? 'placed' : 'lifted'}`);
        }),
    );
  archive
    .command('purge')
    .description('remove archived packages past their retain-until date; held and unexpired ones are refused')
    .option('--archive <dir>', 'the evidence archive (default $FINFLOW_ARCHIVE_DIR)')
    .option('--package <id...>', 'only these packages (default: every archived package)')
    .option('--dry-run', 'say what would be purged, remove nothing')
    .option('--actor <who>', 'who purges (default $FINFLOW_ACTOR or the OS user)')
    .option('--database-url <url>', 'audit ledger to log purges to (default $FINFLOW_AUDIT_DATABASE_URL)')
    .action(
      async (o: { archive?: string; package?: string[]; dryRun?: boolean; actor?: string; databaseUrl?: string }) =>
        deps(o, async (d) => {
          const r = await purgeArchive(d, {
            actor: o.actor ?? defaultActor(env),
            packageIds: o.package,
            dryRun: o.dryRun,
          });
          for (const p of r.purged)
            out(`${o.dryRun ? 'would purge' : 'purged'} ${p.packageId} (retained until ${p.retainUntil})`);
          for (const p of r.refused) out(`refused ${p.packageId}: ${p.reason}`);
          out(
            `${r.purged.length} ${o.dryRun ? 'to purge' : 'purged'}, ${r.refused.length} refused` +
              (d.ledger && !o.dryRun ? ', logged to the audit ledger' : ''),
          );
        }),
    );
}

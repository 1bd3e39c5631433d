// `finflow evidence open`: an evidence package's exception values sealed under their reconciliations' data keys,
// written in clear for a person holding the keys (FINFLOW_KEY_FILE), each dataset's read in the access log; a
// shredded dataset refuses, naming when. And what `finflow evidence verify` says of sealed and shredded values.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Pool } from 'pg';
import { readUserKeyDirectoryFile } from '../../activities/approval/user-keys';
import { openSealedEvidence } from '../../activities/compliance/sealed-evidence';
import { checkShredProof, type ShredEntry } from '../../activities/compliance/shred-record';
import { PgAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { keyProviderFromEnvIfConfigured } from '../../platform/security-setup';

type Out = (line: string) => void;

export function registerEvidenceOpen(evidence: Command, out: Out, env: NodeJS.ProcessEnv, actorOf: () => string): void {
  evidence
    .command('open <dir>')
    .description(
      "write a package's evidence.json with its sealed exception values in clear (keys from FINFLOW_KEY_FILE); " +
        'each read is access-logged; a shredded dataset refuses',
    )
    .requiredOption('--purpose <text>', 'why it is read (written to the access log)')
    .requiredOption('--out <file>', 'where the clear evidence.json goes (mode 0600)')
    .option('--database-url <url>', 'database of the data keys and access log (default $DATABASE_URL)')
    .option('--actor <who>', 'who reads (default $FINFLOW_ACTOR or the login name)')
    .action(async (dir: string, o: { purpose: string; out: string; databaseUrl?: string; actor?: string }) => {
      const purpose = o.purpose.trim();
      if (!purpose) throw new Error('--purpose must say why the evidence is read');
      if (resolve(o.out).startsWith(`${resolve(dir)}/`))
        throw new Error('--out must be outside the package (a file there would break its manifest)');
      const keys = await keyProviderFromEnvIfConfigured(env);
      if (!keys) throw new Error('opening sealed evidence needs the keys: set FINFLOW_KEY_FILE or FINFLOW_KEYS');
      const url = o.databaseUrl ?? env.DATABASE_URL;
      if (!url) throw new Error('name the database of the data keys and access log: --database-url or DATABASE_URL');
      const pool = new Pool({ connectionString: url, max: 2 });
      try {
        const store = new PgDataKeyStore(pool);
        const accessLog = new PgAccessLog(pool);
        await store.ensureSchema();
        await accessLog.ensureSchema();
        const actor = o.actor ?? actorOf();
        const r = await openSealedEvidence(dir, new EnvelopeEncryption({ keys, store, accessLog }), {
          out: o.out,
          actor,
          purpose,
          accessLog,
        });
        const what = r.opened.map((d) => `${d.exceptions} exception(s) of ${d.dataset}`).join(', ') || 'nothing sealed';
        out(`opened evidence ${r.packageId}: ${what}; written to ${r.out}`);
        out(
          `access log: read of ${r.opened.map((d) => d.dataset).join(', ') || 'no dataset'} by ${actor}, purpose "${purpose}"`,
        );
      } finally {
        await pool.end();
      }
    });
}

/** `evidence verify`'s lines about sealed values and shreddings, each shredding's proof judged when keys are given. */
export async function sealedLines(
  r: { sealed?: { dataset: string; exceptions: number }[]; shredded?: ShredEntry[] },
  userKeysFile: string | undefined,
): Promise<string[]> {
  const lines: string[] = [];
  const shredded = new Set((r.shredded ?? []).map((e) => e.dataset));
  for (const s of r.sealed ?? [])
    if (!shredded.has(s.dataset))
      lines.push(
        `sealed: ${s.exceptions} exception(s) of ${s.dataset}, readable with its data key (finflow evidence open)`,
      );
  const dir = userKeysFile ? await readUserKeyDirectoryFile(userKeysFile) : undefined;
  for (const e of r.shredded ?? []) {
    let proof = e.token ? 'signed (give --user-keys to check the signature)' : 'claimed, not signed';
    if (dir) {
      const p = await checkShredProof(e, dir);
      proof = p.ok ? `signed with ${e.by}'s own key ${p.kid}` : `PROOF NOT VALID: ${p.message}`;
    }
    lines.push(
      `shredded: ${e.exceptions} exception(s) of ${e.dataset} at ${e.shreddedAt} by ${e.by} (${proof}), ` +
        `reason "${e.reason}": unreadable for good, not tampered`,
    );
  }
  return lines;
}

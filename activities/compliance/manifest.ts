// The package manifest (SHA-256 and size of every file) and its detached Ed25519 signature. The signature covers
// the exact bytes of manifest.json, which are pretty-printed with sorted keys so they are stable across runs.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { sortKeysDeep } from '../../domain/compliance/canonical-json';
import { signBytes, verifyBytes, type SigningKey } from './signing';

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.json.sig';

export const ManifestSchema = z
  .object({
    schema: z.literal('finflow.evidence-manifest'),
    schemaVersion: z.literal(1),
    packageId: z.string().min(1),
    algorithm: z.literal('sha256'),
    files: z.array(
      z
        .object({
          path: z.string().min(1),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          bytes: z.int().min(0),
        })
        .strict(),
    ),
  })
  .strict();
export type Manifest = z.infer<typeof ManifestSchema>;

export const SignatureFileSchema = z
  .object({
    schema: z.literal('finflow.detached-signature'),
    algorithm: z.literal('Ed25519'),
    keyId: z.string(),
    signedFile: z.literal(MANIFEST_FILE),
    signature: z.string(),
  })
  .strict();
export type SignatureFile = z.infer<typeof SignatureFileSchema>;

export function buildManifest(packageId: string, files: { path: string; sha256: string; bytes: number }[]): Manifest {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].path === sorted[i - 1].path) throw new Error(`manifest lists ${sorted[i].path} twice`);
  return {
    schema: 'finflow.evidence-manifest',
    schemaVersion: 1,
    packageId,
    algorithm: 'sha256',
    files: sorted.map((f) => ({ path: f.path, sha256: f.sha256, bytes: f.bytes })),
  };
}

export function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(sortKeysDeep(manifest), null, 2)}\n`;
}

export function signManifest(text: string, key: SigningKey): string {
  const sig: SignatureFile = {
    schema: 'finflow.detached-signature',
    algorithm: 'Ed25519',
    keyId: key.keyId,
    signedFile: MANIFEST_FILE,
    signature: signBytes(key, text),
  };
  return `${JSON.stringify(sortKeysDeep(sig), null, 2)}\n`;
}

export function verifyManifestSignature(manifestBytes: Buffer, sig: SignatureFile, publicKey: KeyObject): boolean {
  return verifyBytes(publicKey, manifestBytes, sig.signature);
}

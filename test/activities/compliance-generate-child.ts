// Run as a child process by compliance-package.test.ts: generates a package and, after the file named by
// PAUSE_AFTER is in place, announces it and hangs, so the test can kill it at a known point mid-generation.
import { readFileSync } from 'node:fs';
import { generateEvidencePackage } from '../../activities/compliance/package';
import { signingKeyFromPem } from '../../activities/compliance/signing';

async function main(): Promise<void> {
  const [inputPath, keyPath, dir] = process.argv.slice(2);
  const pauseAfter = process.env.PAUSE_AFTER;
  await generateEvidencePackage(JSON.parse(readFileSync(inputPath, 'utf8')), {
    dir,
    signingKey: signingKeyFromPem(readFileSync(keyPath, 'utf8')),
    onFile: async (step) => {
      process.stdout.write(`wrote ${step.path}\n`);
      if (step.path === pauseAfter) {
        process.stdout.write('paused\n');
        await new Promise(() => setInterval(() => undefined, 1000));
      }
    },
  });
  process.stdout.write('done\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});

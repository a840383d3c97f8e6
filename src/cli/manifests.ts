/** `kre <part> manifests [--out DIR]`: a part's generated `deploy/` files, to stdout or written into DIR. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';

export function writeManifests(files: Record<string, string>, out: string | undefined): void {
  if (!out) {
    process.stdout.write(Object.values(files).join(''));
    return;
  }
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** `render` loads the part's manifests module when the command runs, not when `kre` starts. */
export function manifestsCommand(description: string, render: () => Promise<Record<string, string>>): Command {
  return new Command('manifests')
    .description(`${description} (to stdout without --out)`)
    .option('--out <dir>', 'directory to write the files into')
    .action(async (opts: { out?: string }) => writeManifests(await render(), opts.out));
}

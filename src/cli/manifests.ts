/** `kre <part> manifests`: the rendered files of deploy/, to a directory or to stdout. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function writeManifests(files: Record<string, string>, out: string | undefined): void {
  if (!out) {
    process.stdout.write(Object.values(files).join(''));
    return;
  }
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

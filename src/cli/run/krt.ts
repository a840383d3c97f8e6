/** `kre krt pack|check` running: reading and writing `.krt` packages, sending nothing. */
import { packKrt, readKrt, versionMessage, type KrtPackage } from '../../client/index.ts';
import type { KrtFlags } from '../krt.ts';
import { print, printJson } from '../output.ts';
import { offline } from './connection.ts';

function summary(pkg: KrtPackage): string[] {
  const m = pkg.manifest;
  const v = versionMessage(m, pkg.manifestText, '');
  return [
    `version ${m.version}${m.description ? `: ${m.description}` : ''}`,
    `  entrypoint ${m.entrypoint.image} (${m.entrypoint.proto})`,
    `  config variables: ${m.config.variables.join(', ') || 'none'}`,
    ...v.workflows.map((wf) => `  workflow ${wf.name} (${wf.entrypoint}): ${wf.nodes.map((n) => n.name).join(' → ')}`),
    `  ${pkg.files.length} files`,
  ];
}

export async function runKrtPack(dir: string, flags: KrtFlags & { out?: string }): Promise<void> {
  const { file, pkg, bytes } = await offline(() => packKrt(dir, flags.out));
  if (flags.output === 'json') printJson({ file, version: pkg.manifest.version, files: pkg.files, bytes });
  else print([`Packed ${file} (${bytes} bytes)`, ...summary(pkg)].join('\n'));
}

export async function runKrtCheck(path: string, flags: KrtFlags): Promise<void> {
  const pkg = await offline(() => readKrt(path));
  if (flags.output === 'json') printJson({ source: path, manifest: pkg.manifest, files: pkg.files, version: versionMessage(pkg.manifest, pkg.manifestText, '') });
  else print(summary(pkg).join('\n'));
}

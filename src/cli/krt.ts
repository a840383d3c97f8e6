/**
 * `kre krt pack DIR [-o FILE]` builds a `.krt` file from a package directory; `kre krt check
 * FILE|DIR` reads one as `kre version create` would, and says what it holds or every rule it breaks.
 */
import { Command, Option } from 'commander';
import { packKrt, readKrt, versionMessage, type KrtPackage } from '../client/index.ts';
import { offline, print, printJson } from './client-options.ts';

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

export function krtCommand(): Command {
  const krt = new Command('krt').description('version packages (.krt): a tar.gz of krt.yml and the version\'s files');
  krt.addCommand(
    new Command('pack')
      .description('pack a directory holding krt.yml into a .krt file, after checking every rule')
      .argument('<dir>', 'the package directory (files ending in .krt are left out)')
      .option('-o, --out <file>', 'the .krt to write (default: <version>.krt here)')
      .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (dir: string, flags: { out?: string; output: 'text' | 'json' }) => {
        const { file, pkg, bytes } = await offline(() => packKrt(dir, flags.out));
        if (flags.output === 'json') printJson({ file, version: pkg.manifest.version, files: pkg.files, bytes });
        else print([`Packed ${file} (${bytes} bytes)`, ...summary(pkg)].join('\n'));
      }),
  );
  krt.addCommand(
    new Command('check')
      .description('read a .krt file or package directory and check every rule, sending nothing')
      .argument('<path>', 'a .krt file or a directory holding krt.yml')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (path: string, flags: { output: 'text' | 'json' }) => {
        const pkg = await offline(() => readKrt(path));
        if (flags.output === 'json') printJson({ source: path, manifest: pkg.manifest, files: pkg.files, version: versionMessage(pkg.manifest, pkg.manifestText, '') });
        else print(summary(pkg).join('\n'));
      }),
  );
  return krt;
}

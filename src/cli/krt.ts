/**
 * `kre krt pack DIR [-o FILE]` builds a `.krt` file from a package directory; `kre krt check
 * FILE|DIR` reads one as `kre version create` would, and says what it holds or every rule it breaks.
 * The flags only: `run/krt.ts` reads and writes the packages.
 */
import { Command, Option } from 'commander';

export interface KrtFlags {
  output: 'text' | 'json';
}

export function krtCommand(): Command {
  const krt = new Command('krt').description('version packages (.krt): a tar.gz of krt.yml and the version\'s files');
  krt.addCommand(
    new Command('pack')
      .description('pack a directory holding krt.yml into a .krt file, after checking every rule')
      .argument('<dir>', 'the package directory (files ending in .krt are left out)')
      .option('-o, --out <file>', 'the .krt to write (default: <version>.krt here)')
      .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (dir: string, flags: KrtFlags & { out?: string }) => (await import('./run/krt.ts')).runKrtPack(dir, flags)),
  );
  krt.addCommand(
    new Command('check')
      .description('read a .krt file or package directory and check every rule, sending nothing')
      .argument('<path>', 'a .krt file or a directory holding krt.yml')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (path: string, flags: KrtFlags) => (await import('./run/krt.ts')).runKrtCheck(path, flags)),
  );
  return krt;
}

/**
 * Runs the benchmarks: every `bench/*.bench.ts` exports `run()`, which prints its figures. Pass
 * names to run some (`npm run bench -- apiserver`).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmarks match ${only.join(' ')}`);
  process.exit(2);
}
for (const f of files) {
  console.log(`\n## ${f.replace('.bench.ts', '')}\n`);
  const mod = await import(join(dir, f));
  await mod.run();
}

#!/usr/bin/env node
// The `kre` command runs the compiled JavaScript of dist/, built from src/ by `npm run build`
// (which `npm ci` runs through the `prepare` script, and `npm test` before the tests).
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('kre: dist/ is not built: run `npm ci` (or `npm run build`) in the kre package first\n');
  process.exit(1);
}
await main(process.argv);

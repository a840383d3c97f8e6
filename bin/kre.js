#!/usr/bin/env node
// The `kre` command runs the TypeScript sources through tsx, so `npx kre` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);

#!/usr/bin/env node
// Copies the files src/ reads at run time that are not TypeScript (e.g. gen/contract.binpb, read
// through import.meta.url) to the same place under dist/, so the compiled code finds them.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const dist = join(root, 'dist');

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testdata') walk(path);
    } else if (!entry.name.endsWith('.ts')) {
      const to = join(dist, relative(src, path));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(path, to);
    }
  }
}
walk(src);

/**
 * The page's script and styles, bundled with esbuild from `web/` (preact, uPlot and the page's own
 * code) into `dist/dashboard/` of the package: by `npm run build` (the `prepare` script, so a fresh
 * clone has it after `npm ci`), and again at start when a source is newer than the bundle. Served
 * from the package: the page loads nothing from elsewhere and works offline.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEB = join(HERE, 'web');
export const BUNDLE_DIR = join(HERE, '..', '..', 'dist', 'dashboard');

export interface Bundle {
  'app.js': Buffer;
  'app.css': Buffer;
  'index.html': Buffer;
}

function newestSource(): number {
  // Run from dist/ (the compiled package) the sources are not there: the bundle `npm run build` made is what ships.
  if (!existsSync(join(HERE, 'view.ts'))) return -Infinity;
  const files = [join(HERE, 'view.ts'), ...readdirSync(WEB).map((f) => join(WEB, f))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function bundleTime(): number {
  try {
    return Math.min(statSync(join(BUNDLE_DIR, 'app.js')).mtimeMs, statSync(join(BUNDLE_DIR, 'app.css')).mtimeMs);
  } catch {
    return -1;
  }
}

/** Builds the bundle into `dist/dashboard/` (each file written whole, then renamed into place). */
export async function buildBundle(): Promise<void> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(WEB, 'app.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    outdir: BUNDLE_DIR,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  mkdirSync(BUNDLE_DIR, { recursive: true });
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
}

/** The bundle, built first when missing or older than its sources. */
export async function loadBundle(): Promise<Bundle> {
  if (bundleTime() < newestSource()) await buildBundle();
  return {
    'app.js': readFileSync(join(BUNDLE_DIR, 'app.js')),
    'app.css': readFileSync(join(BUNDLE_DIR, 'app.css')),
    'index.html': readFileSync(join(WEB, 'index.html')),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildBundle();
  process.stdout.write(`dashboard bundle written to ${BUNDLE_DIR}\n`);
}

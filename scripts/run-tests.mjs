#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node:test through tsx, and checks that every file
// ran at least one test: Node 20's --test takes no globs and finds no .ts files by itself, so a
// file that silently fails to load would otherwise go unnoticed.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let files = ['src', 'test'].flatMap((d) => findTests(join(root, d))).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

// The programs the chosen tests run for real, from Debian packages: say what to install before
// starting rather than failing file by file. A file needs one when its text names its helper.
const PROGRAMS = [
  { bin: '/usr/bin/redis-server', package: 'redis-server', used: /redis-testing/ },
  { bin: process.env.KRE_PROMETHEUS_BIN ?? '/usr/bin/prometheus', package: 'prometheus', used: /prometheus-testing|startPrometheus/ },
];
const executable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const missing = PROGRAMS.filter((p) => !executable(p.bin) && files.some((f) => p.used.test(readFileSync(f, 'utf8'))));
if (missing.length > 0) {
  console.error(`the chosen tests run ${missing.map((p) => p.bin).join(' and ')}, not installed here: install the Debian package${missing.length > 1 ? 's' : ''} ` +
    `(sudo apt-get install -y ${missing.map((p) => p.package).join(' ')}), or run .ci/run, which installs them and runs the suite`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'kre-test-'));
const counts = join(work, 'counts.json');
// The tests' temporary files go below the run's own directory, removed when the run ends however
// it ends: a test stopped half-way cannot leave its directories in /tmp.
const testTmp = join(work, 'tmp');
mkdirSync(testTmp);
const args = [
  '--import', 'tsx',
  '--import', join(root, 'scripts/test-signals.mjs'),
  '--test',
  `--test-concurrency=${process.env.KRE_TEST_CONCURRENCY ?? '2'}`,
  `--test-timeout=${process.env.KRE_TEST_TIMEOUT_MS ?? '180000'}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts/count-reporter.mjs')}`, `--test-reporter-destination=${counts}`,
  ...files,
];
// Parts log JSON at info level; in tests only warnings and errors are worth reading.
const env = { ...process.env, TMPDIR: testTmp, KRE_LOG_LEVEL: process.env.KRE_LOG_LEVEL ?? 'warn' };
// In a process group of its own, with every process the tests start: a signal to the runner (CI
// stopping the job, Ctrl-C, npm passing on SIGTERM) reaches all of them, and whatever a test left
// running is ended with the run.
const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root, env, detached: true });
const signalGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
};
let stoppedBy;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stoppedBy) return signalGroup('SIGKILL');
    stoppedBy = signal;
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 10_000).unref();
  });
}
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
// What the tests left running in the group is ended too, and waited for (SIGKILL after 10 s).
signalGroup('SIGTERM');
const groupAlive = () => {
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
};
for (const deadline = Date.now() + 10_000; groupAlive(); ) {
  if (Date.now() > deadline) signalGroup('SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
}

let perFile = {};
try {
  perFile = JSON.parse(readFileSync(counts, 'utf8'));
} catch (err) {
  if (!stoppedBy) console.error(`could not read the test counts: ${err.message}`);
}
rmSync(work, { recursive: true, force: true });
// The simulated nodes' /dev/shm directories of test processes that could not remove their own (a
// process killed, or a write still landing while it exited): those whose owner is gone.
spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/devcluster/nodes/tmpfs-dirs.ts').then((m) => m.removeStaleTmpfsDirs('/dev/shm'))"], { cwd: root, stdio: 'inherit', timeout: 30_000 });
if (stoppedBy) {
  console.error(`tests stopped by ${stoppedBy}`);
  process.exit(stoppedBy === 'SIGINT' ? 130 : 143);
}

let passed = 0, failed = 0, skipped = 0;
for (const c of Object.values(perFile)) {
  passed += c.pass;
  failed += c.fail;
  skipped += c.skip;
}
// A file that loads nothing, or dies before its first test, shows up here instead of passing quietly.
// A file whose tests all said why they skip (real-server-only tests in the devcluster pass) ran.
const empty = files.filter((f) => !perFile[f] || perFile[f].pass + perFile[f].fail + perFile[f].skip === 0).map((f) => relative(root, f));

console.log(`\n${files.length} test files`);
if (empty.length > 0) console.log(`test files that ran no test: ${empty.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code !== 0 || failed > 0 || empty.length > 0 || passed === 0 ? 1 : 0);

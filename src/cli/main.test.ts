import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';

const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'kre-main-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs `kre` (the build in dist/, as `npx kre` does) and gives its status and output. */
function kre(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000, env: { ...process.env, HOME: work, KUBECONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The URL of every module `kre args…` resolves through the ESM loader (which every `import` of the
 * build goes through, CommonJS packages such as @grpc/grpc-js included), written on fd 3 by a
 * resolve hook registered before bin/kre.js starts.
 */
function modulesLoadedBy(args: string[]): Promise<string[]> {
  const hook = join(work, 'log-resolve.mjs');
  const register = join(work, 'register-log-resolve.mjs');
  writeFileSync(hook, "import { writeSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const resolved = await next(specifier, context);\n  writeSync(3, resolved.url + '\\n');\n  return resolved;\n}\n");
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, bin, ...args], { env: { ...process.env, HOME: work, KUBECONFIG: '' }, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let urls = '';
    let stderr = '';
    child.stdio[3]!.on('data', (d: Buffer) => (urls += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(urls.split('\n').filter(Boolean)) : reject(new Error(`kre ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

describe('the kre command', () => {
  test('--help lists every part with its description', async () => {
    const { code, stdout } = await kre(['--help']);
    assert.equal(code, 0);
    for (const name of ['agent', 'dev', 'devcluster', 'manager', 'monitor', 'operator']) assert.match(stdout, new RegExp(`^  ${name} \\[options\\]`, 'm'));
    const dev = await kre(['dev', '--help']);
    assert.equal(dev.code, 0);
    assert.match(dev.stdout, /--monitor-listen <host:port>/);
  });

  test('--help loads no part: neither gRPC, the Kubernetes client, zod nor yaml', async () => {
    for (const args of [['--help'], ['version', 'metrics', '--help'], ['runtime', 'create', '--help']]) {
      const urls = await modulesLoadedBy(args);
      assert.ok(urls.some((u) => u.endsWith('/dist/cli/main.js')) && urls.some((u) => u.includes('/node_modules/commander/')), `the hook saw kre start: ${urls.join(' ')}`);
      for (const pkg of ['@grpc/grpc-js', '@kubernetes/client-node', 'zod', 'yaml']) {
        assert.deepEqual(urls.filter((u) => u.includes(`/node_modules/${pkg}/`)), [], `kre ${args.join(' ')} loads ${pkg}`);
      }
    }
  });

  test('an unknown command exits 2 naming it, whatever follows it', async () => {
    for (const args of [['nosuch'], ['nosuch', '--help'], ['--no-color', 'nosuch', 'x']]) {
      const { code, stdout, stderr } = await kre(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /unknown command 'nosuch'/);
      assert.equal(stdout, '');
    }
  });

  test('a bad flag of kre dev exits 2 naming it before anything starts', async () => {
    const stateDir = join(work, 'dev');
    for (const [args, flag] of [
      [['--monitor-listen', '127.0.0.1:99999'], '--monitor-listen'],
      [['--listen', 'nowhere'], '--listen'],
      [['--nodes', '0'], '--nodes'],
    ] as const) {
      const { code, stderr } = await kre(['dev', '--state-dir', stateDir, ...args]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`invalid configuration: ${flag}: `));
      assert.equal(existsSync(stateDir), false, 'nothing was started');
    }
  });

  test('a part without a usable kubeconfig exits 2 saying what was tried', async () => {
    const { code, stderr } = await kre(['devcluster', 'nodes', '--kubeconfig', join(work, 'absent')]);
    assert.equal(code, 2);
    assert.match(stderr, /no usable Kubernetes configuration: --kubeconfig .*absent: does not exist/);
  });
});

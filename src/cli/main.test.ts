import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('the kre command', () => {
  test('--help lists every part with its description', async () => {
    const { code, stdout } = await kre(['--help']);
    assert.equal(code, 0);
    for (const name of ['agent', 'dev', 'devcluster', 'manager', 'monitor', 'operator']) assert.match(stdout, new RegExp(`^  ${name} \\[options\\]`, 'm'));
    const dev = await kre(['dev', '--help']);
    assert.equal(dev.code, 0);
    assert.match(dev.stdout, /--monitor-listen <host:port>/);
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

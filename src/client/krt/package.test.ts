import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { KrtError } from './manifest.ts';
import { DEFAULT_LIMITS, packKrt, readKrt, readKrtDir, readKrtFile } from './package.ts';

const EXAMPLE = new URL('../../../examples/greeter', import.meta.url).pathname;
const MANIFEST = readFileSync(join(EXAMPLE, 'krt.yml'));

interface RawEntry {
  path: string;
  /** ustar type flag: '0' file, '5' directory, '2' symbolic link, '1' hard link, '3' character device. */
  type?: string;
  body?: Buffer | string;
  /** The size the header declares, when it is not the body's. */
  size?: number;
  link?: string;
}

/** A tar archive written byte by byte, so that it can hold what a tar library refuses to write. */
function rawTar(entries: RawEntry[], gzip = true): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = Buffer.alloc(512);
    h.write(e.path, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${(e.size ?? body.length).toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(e.type ?? '0', 156);
    if (e.link) h.write(e.link, 157, 100);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}

let dir: string;
let n = 0;
function archive(entries: RawEntry[], gzip = true): string {
  const file = join(dir, `a${n++}.krt`);
  writeFileSync(file, rawTar(entries, gzip));
  return file;
}

/** The one problem a read fails with. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KrtError, `expected a KrtError, got ${String(err)}`);
    assert.equal(err.problems.length, 1, err.message);
    return err.problems[0].message;
  }
  assert.fail('the package was accepted');
}

const exampleEntries = (): RawEntry[] => [
  { path: 'krt.yml', body: MANIFEST },
  { path: 'public_input.proto', body: 'syntax = "proto3";' },
  { path: 'src/', type: '5' },
  { path: 'src/parse/main.py', body: 'x' },
  { path: 'src/greet/main.py', body: 'x' },
  { path: 'src/farewell/main.py', body: 'x' },
];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kre-krt-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('.krt packages', () => {
  test('pack then read: the same files and manifest as the directory; packing is reproducible', async () => {
    const fromDir = await readKrtDir(EXAMPLE);
    const a = await packKrt(EXAMPLE, join(dir, 'one.krt'));
    const b = await packKrt(EXAMPLE, join(dir, 'two.krt'));
    assert.deepEqual(readFileSync(a.file), readFileSync(b.file), 'two packs of the same directory are the same bytes');
    const fromFile = await readKrtFile(a.file);
    assert.deepEqual(fromFile.files, fromDir.files);
    assert.deepEqual(fromFile.files, ['krt.yml', 'public_input.proto', 'src/farewell/main.py', 'src/greet/main.py', 'src/parse/main.py']);
    assert.deepEqual(fromFile.manifest, fromDir.manifest);
    assert.equal(fromFile.manifestText, MANIFEST.toString());
    assert.equal((await readKrt(a.file)).manifest.version, 'greeter-v1');
    assert.equal((await readKrt(EXAMPLE)).manifest.version, 'greeter-v1');
  });

  test('an archive written by hand with ./ paths and directories reads like the packed one', async () => {
    const entries = exampleEntries().map((e) => ({ ...e, path: `./${e.path}` }));
    assert.deepEqual((await readKrtFile(archive(entries))).files, ['krt.yml', 'public_input.proto', 'src/farewell/main.py', 'src/greet/main.py', 'src/parse/main.py']);
  });

  test('entries that would land outside the package are refused: "..", absolute paths', async () => {
    assert.equal(await refusal(readKrtFile(archive([...exampleEntries(), { path: '../evil.sh', body: 'rm -rf' }]))), 'entry "../evil.sh" points outside the package (absolute path or "..")');
    assert.equal(await refusal(readKrtFile(archive([...exampleEntries(), { path: 'src/../../evil', body: 'x' }]))), 'entry "src/../../evil" points outside the package (absolute path or "..")');
    assert.match(await refusal(readKrtFile(archive([{ path: '/etc/cron.d/evil', body: 'x' }, ...exampleEntries()]))), /^entry "\/?etc\/cron\.d\/evil" points outside the package/);
  });

  test('links and devices are refused', async () => {
    assert.equal(await refusal(readKrtFile(archive([...exampleEntries(), { path: 'link', type: '2', link: '/etc/passwd' }]))), 'entry "link" is a SymbolicLink: a package holds only files and directories');
    assert.equal(await refusal(readKrtFile(archive([...exampleEntries(), { path: 'hard', type: '1', link: 'krt.yml' }]))), 'entry "hard" is a Link: a package holds only files and directories');
    assert.equal(await refusal(readKrtFile(archive([...exampleEntries(), { path: 'dev', type: '3' }]))), 'entry "dev" is a CharacterDevice: a package holds only files and directories');
  });

  test('limits: entries, unpacked size (as declared, before any data is read), archive size, manifest size, path length', async () => {
    const many = archive([...exampleEntries(), ...Array.from({ length: 5 }, (_, i) => ({ path: `data/${i}`, body: 'x' }))]);
    assert.equal(await refusal(readKrtFile(many, { ...DEFAULT_LIMITS, maxEntries: 8 })), 'more than 8 entries (the limit)');
    const big = archive([...exampleEntries(), { path: 'weights.bin', body: Buffer.alloc(4096) }]);
    assert.equal(await refusal(readKrtFile(big, { ...DEFAULT_LIMITS, maxUnpackedBytes: 4000 })), 'the entries add up to more than the limit of 4000 bytes unpacked');
    // A header declaring 8 GiB, with no data behind it: refused from the header alone.
    const bomb = archive([{ path: 'krt.yml', body: MANIFEST }, { path: 'huge.bin', size: 8 * 1024 ** 3 - 1 }]);
    assert.equal(await refusal(readKrtFile(bomb)), 'the entries add up to more than the limit of 256 MiB unpacked');
    assert.match(await refusal(readKrtFile(big, { ...DEFAULT_LIMITS, maxArchiveBytes: 100 })), /^the file is \d+ bytes, more than the limit of 100 bytes$/);
    assert.equal(await refusal(readKrtFile(big, { ...DEFAULT_LIMITS, maxManifestBytes: 100 })), `${MANIFEST.length} bytes, more than the limit of 100 bytes`);
    assert.equal(await refusal(readKrtFile(big, { ...DEFAULT_LIMITS, maxPathLength: 10 })), 'entry "public_inp…" has a path longer than 10 characters'.replace('public_inp', 'public_input.proto'.slice(0, 80)));
  });

  test('not an archive, an empty one, one without krt.yml, an entry twice, an invalid krt.yml inside', async () => {
    const garbage = join(dir, 'garbage.krt');
    writeFileSync(garbage, Buffer.from('this is not a tar.gz file at all, just text'.repeat(20)));
    assert.match(await refusal(readKrtFile(garbage)), /^not a tar\.gz archive/);
    assert.match(await refusal(readKrtFile(archive([]))), /^not a tar\.gz archive/);
    assert.equal(await refusal(readKrtFile(archive(exampleEntries().slice(1)))), 'no krt.yml at the top of the archive');
    assert.equal(await refusal(readKrtFile(archive([...exampleEntries(), { path: 'krt.yml', body: 'version: other' }]))), 'entry "krt.yml" appears twice');
    const bad = archive([{ path: 'krt.yml', body: MANIFEST.toString().replace('version: greeter-v1', 'version: Greeter') }, ...exampleEntries().slice(1)]);
    try {
      await readKrtFile(bad);
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof KrtError);
      assert.deepEqual(err.problems.map((p) => [p.file, p.field]), [['krt.yml', 'version']]);
      assert.match(err.message, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a valid version package:\n  krt\\.yml: version: "Greeter" is not a version name`));
    }
    // A file the manifest names is missing from the archive.
    assert.equal(await refusal(readKrtFile(archive(exampleEntries().filter((e) => e.path !== 'src/greet/main.py')))), '"src/greet/main.py" is not in the package');
    assert.equal(await refusal(readKrt(join(dir, 'nope.krt'))).then((m) => m.startsWith('cannot read: ENOENT')), true);
  });

  test('a directory: symbolic links refused, .krt files left out, no krt.yml refused', async () => {
    const pkg = join(dir, 'pkg');
    cpSync(EXAMPLE, pkg, { recursive: true });
    writeFileSync(join(pkg, 'greeter-v1.krt'), 'an older pack');
    assert.ok(!(await readKrtDir(pkg)).files.includes('greeter-v1.krt'));
    symlinkSync('/etc/passwd', join(pkg, 'src', 'link'));
    assert.equal(await refusal(readKrtDir(pkg)), '"src/link" is a symbolic link: a package holds only files and directories');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.equal(await refusal(readKrtDir(empty)), 'no krt.yml in the directory');
    assert.equal(await refusal(packKrt(empty, join(dir, 'never.krt'))), 'no krt.yml in the directory');
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readConfigFile } from './config-file.ts';

class PartConfigError extends Error {}
const dir = mkdtempSync(join(tmpdir(), 'kre-config-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const read = (path: string) => readConfigFile(path, (m) => new PartConfigError(m));

test('a YAML mapping is read; an empty file is an empty mapping', () => {
  assert.deepEqual(read(file('ok.yaml', 'listen: 127.0.0.1:0\nmetrics: {source: auto}\n')), { listen: '127.0.0.1:0', metrics: { source: 'auto' } });
  assert.deepEqual(read(file('empty.yaml', '')), {});
});

test('each problem is the part’s own error, naming the file and what is wrong', () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'absent.yaml'), /--config: cannot read .*absent\.yaml: ENOENT/],
    [file('bad.yaml', 'a: [1, 2\n'), /--config: .*bad\.yaml is not YAML/],
    [file('list.yaml', '- a\n'), /list\.yaml is not a mapping/],
    [file('scalar.yaml', '42\n'), /scalar\.yaml is not a mapping/],
  ];
  for (const [path, message] of cases) assert.throws(() => read(path), (err: Error) => err instanceof PartConfigError && message.test(err.message));
});

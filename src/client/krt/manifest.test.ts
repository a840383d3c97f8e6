import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { KrtError, parseManifest } from './manifest.ts';
import { versionMessage } from './version.ts';

const FILES = new Set(['krt.yml', 'public_input.proto', 'src/parse/main.py', 'src/greet/main.py', 'src/bye/main.py']);

function manifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 'greeter-v1',
    description: 'a test version',
    entrypoint: { proto: 'public_input.proto', image: 'konstellation/kre-entrypoint:1.0' },
    config: { variables: ['MODEL_PATH', 'LANGUAGE'], files: ['weights.bin'] },
    nodes: [
      { name: 'parse', image: 'konstellation/kre-py:1.0', src: 'src/parse/main.py' },
      { name: 'greet', image: 'konstellation/kre-py:1.0', src: 'src/greet/main.py' },
      { name: 'bye', image: 'konstellation/kre-py:1.0', src: 'src/bye/main.py' },
    ],
    workflows: [
      { name: 'greeting', entrypoint: 'Greet', sequential: ['parse', 'greet'] },
      { name: 'farewell', entrypoint: 'Farewell', sequential: ['parse', 'bye'] },
    ],
    ...over,
  };
}

/** The problems a manifest has, as `field: message` lines (file `krt.yml` checked on each). */
function problems(m: unknown, files: Set<string> | null = FILES): string[] {
  try {
    parseManifest(typeof m === 'string' ? m : stringify(m), 'pkg.krt', files ?? undefined);
  } catch (err) {
    assert.ok(err instanceof KrtError, String(err));
    for (const p of err.problems) assert.equal(p.file, 'krt.yml');
    assert.match(err.message, /^pkg\.krt is not a valid version package:\n {2}krt\.yml/);
    return err.problems.map((p) => `${p.field}: ${p.message}`);
  }
  return [];
}

const withNodes = (nodes: Record<string, unknown>[]) => manifest({ nodes });
const node = (name: string, over: Record<string, unknown> = {}) => ({ name, image: 'konstellation/kre-py:1.0', src: 'src/parse/main.py', ...over });

describe('krt.yml', () => {
  test('a valid manifest parses, and its workflows become chains of nodes joined by edges', () => {
    const text = stringify(manifest());
    const m = parseManifest(text, 'pkg', FILES);
    assert.equal(m.version, 'greeter-v1');
    const v = versionMessage(m, text, 'kre-demo', [{ key: 'LANGUAGE', value: 'es' }]);
    assert.match(v.id, /^greeter-v1-[0-9a-f]{12}$/);
    assert.deepEqual(v.config, [
      { key: 'MODEL_PATH', value: '' },
      { key: 'LANGUAGE', value: 'es' },
    ]);
    assert.deepEqual(
      v.workflows.map((wf) => ({ id: wf.id, nodes: wf.nodes.map((n) => `${n.id}:${n.name}`), edges: wf.edges.map((e) => `${e.id}:${e.fromNode}>${e.toNode}`) })),
      [
        { id: 'greeter-v1-greeting', nodes: ['w0n0:parse', 'w0n1:greet'], edges: ['greeter-v1-greeting-w0n0-w0n1:w0n0>w0n1'] },
        { id: 'greeter-v1-farewell', nodes: ['w1n0:parse', 'w1n1:bye'], edges: ['greeter-v1-farewell-w1n0-w1n1:w1n0>w1n1'] },
      ],
    );
    assert.deepEqual(v.entrypoint, { protoFile: 'public_input.proto', image: 'konstellation/kre-entrypoint:1.0' });
  });

  test('the version name: 2 to 19 lower case letters, digits and -', () => {
    assert.deepEqual(problems(manifest({ version: 'Greeter' })), ['version: "Greeter" is not a version name: 2 to 19 lower case letters, digits and \'-\', starting and ending with a letter or digit']);
    assert.match(problems(manifest({ version: 'a' }))[0], /^version: "a" is not a version name/);
    assert.match(problems(manifest({ version: 'a-very-long-version-name' }))[0], /^version: .* is not a version name/);
    assert.match(problems(manifest({ version: '-v1' }))[0], /^version: /);
    assert.deepEqual(problems(manifest({ version: undefined })), ['version: is required']);
  });

  test('variable names: upper case, digits and _, not the operator\'s KRT_ names; file names', () => {
    assert.deepEqual(problems(manifest({ config: { variables: ['model_path'] } })), ['config.variables[0]: model_path is not a configuration name: upper case letters, digits and \'_\', starting and ending with a letter or digit']);
    assert.match(problems(manifest({ config: { variables: ['OK', 'KRT_NODE_ID'] } }))[0], /^config\.variables\[1\]: .*reserved/);
    assert.match(problems(manifest({ config: { variables: ['TRAILING_'] } }))[0], /^config\.variables\[0\]: /);
    assert.deepEqual(problems(manifest({ config: { files: ['a/b'] } })), ['config.files[0]: "a/b" is not a file name: letters, digits, \'-\', \'_\' and \'.\'']);
  });

  test('duplicate names: variables, files, nodes, workflows, and a node twice in one chain', () => {
    assert.deepEqual(problems(manifest({ config: { variables: ['A', 'B', 'A'] } })), ['config.variables[2]: variable "A" is also used by config.variables[0]']);
    assert.deepEqual(problems(manifest({ config: { files: ['x.bin', 'x.bin'] } })), ['config.files[1]: file "x.bin" is also used by config.files[0]']);
    assert.deepEqual(problems(withNodes([node('parse'), node('greet'), node('bye'), node('greet')])), ['nodes[3].name: node name "greet" is also used by nodes[1].name']);
    const wfs = manifest({ workflows: [{ name: 'greeting', entrypoint: 'Greet', sequential: ['parse', 'greet'] }, { name: 'greeting', entrypoint: 'Bye', sequential: ['bye'] }] });
    assert.deepEqual(problems(wfs), ['workflows[1].name: workflow name "greeting" is also used by workflows[0].name']);
    const twice = manifest({ workflows: [{ name: 'loop', entrypoint: 'Greet', sequential: ['parse', 'greet', 'parse', 'bye'] }] });
    assert.deepEqual(problems(twice), ['workflows[0].sequential[2]: node "parse" is also used by workflows[0].sequential[0]']);
  });

  test('workflows reference nodes that exist; every node is in a workflow', () => {
    const m = manifest({ workflows: [{ name: 'greeting', entrypoint: 'Greet', sequential: ['parse', 'gret'] }, { name: 'farewell', entrypoint: 'Farewell', sequential: ['bye'] }] });
    assert.deepEqual(problems(m), ['workflows[0].sequential[1]: no node named "gret" in nodes (parse, greet, bye)', 'nodes[1]: node "greet" is in no workflow\'s sequential list']);
    assert.deepEqual(problems(manifest({ workflows: [{ name: 'empty', entrypoint: 'Greet', sequential: [] }] })), ['workflows[0].sequential: a workflow runs at least one node']);
    assert.deepEqual(problems(manifest({ workflows: [] })), ['workflows: a version has at least one workflow']);
    assert.deepEqual(problems(manifest({ nodes: [] })).slice(0, 1), ['nodes: a version has at least one node']);
  });

  test('node names, images, workflow names and entrypoints', () => {
    assert.deepEqual(problems(withNodes([node('Parse'), node('greet'), node('bye')])).slice(0, 1), ['nodes[0].name: "Parse" is not a node name: lower case letters, digits and \'-\', starting and ending with a letter or digit']);
    assert.match(problems(withNodes([node('parse', { image: 'Not An Image' }), node('greet'), node('bye')]))[0], /^nodes\[0\]\.image: "Not An Image" is not an image reference/);
    assert.match(problems(manifest({ entrypoint: { proto: 'public_input.proto', image: 'konstellation/Kre:1.0' } }))[0], /^entrypoint\.image: "konstellation\/Kre:1.0" is not an image reference/);
    assert.match(problems(manifest({ workflows: [{ name: 'bad name', entrypoint: 'Greet', sequential: ['parse', 'greet', 'bye'] }] }))[0], /^workflows\[0\]\.name: "bad name" /);
    assert.match(problems(manifest({ workflows: [{ name: 'ok', entrypoint: 'Gr eet', sequential: ['parse', 'greet', 'bye'] }] }))[0], /^workflows\[0\]\.entrypoint: "Gr eet" /);
  });

  test('a Deployment name too long for its pods names the workflow position', () => {
    const long = 'n'.repeat(30);
    const m = manifest({ version: 'a-nineteen-char-ver', nodes: [node(long), node('greet'), node('bye')], workflows: [{ name: 'w', entrypoint: 'Greet', sequential: ['greet', long, 'bye'] }] });
    assert.deepEqual(problems(m), [`workflows[0].sequential[1]: the node's Deployment name "a-nineteen-char-ver-${long}-w0n1" would be longer than 46 characters: shorten the version or node name`]);
  });

  test('files the manifest names must be in the package; paths stay inside it', () => {
    assert.deepEqual(problems(withNodes([node('parse', { src: 'src/missing.py' }), node('greet'), node('bye')])), ['nodes[0].src: "src/missing.py" is not in the package']);
    assert.deepEqual(problems(manifest({ entrypoint: { proto: 'other.proto', image: 'konstellation/e:1' } })), ['entrypoint.proto: "other.proto" is not in the package']);
    assert.deepEqual(problems(withNodes([node('parse', { src: '../outside.py' }), node('greet'), node('bye')])), ['nodes[0].src: "../outside.py" must be a path inside the package (relative, no "..")']);
    assert.deepEqual(problems(withNodes([node('parse', { src: 'src/missing.py' }), node('greet'), node('bye')]), null), [], 'without a file list only the manifest is checked');
  });

  test('unknown fields, wrong types, not YAML, not a mapping', () => {
    assert.deepEqual(problems(manifest({ workflow: [] })), [': unknown field(s) workflow']);
    assert.deepEqual(problems(withNodes([node('parse', { replicas: 0 }), node('greet'), node('bye')])), ['nodes[0].replicas: Too small: expected number to be >=1']);
    assert.match(problems('version: [unclosed')[0], /^: not valid YAML: /);
    assert.deepEqual(problems('- a\n- b\n'), [': expected a mapping with version, entrypoint, config, nodes and workflows']);
    assert.deepEqual(problems(manifest({ entrypoint: undefined })), ['entrypoint: is required']);
  });

  test('every problem is reported at once', () => {
    const m = manifest({ version: 'X', config: { variables: ['a'] }, workflows: [{ name: 'w', entrypoint: 'E', sequential: ['parse', 'greet', 'bye'] }, { name: 'w', entrypoint: 'E', sequential: ['nope'] }] });
    const found = problems(m);
    assert.equal(found.length, 2, found.join('\n'));
    assert.deepEqual(found.map((p) => p.split(':')[0]), ['version', 'config.variables[0]']);
  });
});

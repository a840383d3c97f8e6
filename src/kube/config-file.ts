/**
 * A part's `--config FILE`: a YAML mapping, read once. Each part throws its own configuration error
 * (the command line turns it into exit status 2), so the caller says how to fail.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export function readConfigFile(path: string, fail: (message: string) => Error): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fail(`invalid configuration: --config: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw fail(`invalid configuration: --config: ${path} is not YAML: ${(err as Error).message}`);
  }
  if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw fail(`invalid configuration: ${path} is not a mapping`);
  return (parsed ?? {}) as Record<string, unknown>;
}

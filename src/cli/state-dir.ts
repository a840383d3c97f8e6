/** Where `kre dev` keeps its state, and so where the client commands find its client.yaml. Imports only node: the help of `kre dev` uses it. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KRE_DEV_STATE_DIR || join(homedir(), '.kre', 'dev'));
}

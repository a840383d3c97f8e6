import { readFileSync } from 'node:fs';

/** A response captured from a real kube-apiserver v1.32 (see real-apiserver/README.md), parsed. */
export function realApiserver(name: string): any {
  return JSON.parse(readFileSync(new URL(`./real-apiserver/${name}`, import.meta.url), 'utf8'));
}

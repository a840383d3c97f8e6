/**
 * Sets of field paths, as server-side apply records them in `managedFields` (FieldsV1).
 *
 * A path is a list of elements, each in the FieldsV1 spelling: `f:<field>`, `k:{"name":"c"}` (a
 * list item identified by its keys, keys sorted), `v:<json>` (a value of a set list) or `i:<n>`.
 * In FieldsV1 a set is a tree; `{}` marks a member leaf and `".": {}` a member that also has
 * members below it (a keyed list item whose fields are owned too).
 */
import { canonical, isObject, type JsonObject } from './json-value.ts';

export type FieldPath = readonly string[];

const SEP = '\u0000';
const encode = (path: FieldPath) => path.join(SEP);
const decode = (key: string): string[] => (key === '' ? [] : key.split(SEP));

export class FieldSet {
  private readonly members: Set<string>;

  constructor(paths: Iterable<FieldPath> = []) {
    this.members = new Set([...paths].map(encode));
  }

  static fromFieldsV1(fields: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: unknown, path: string[]) => {
      if (!isObject(node)) return;
      for (const [element, childNode] of Object.entries(node)) {
        if (element === '.') set.add(path);
        else if (isObject(childNode) && Object.keys(childNode).length > 0) walk(childNode, [...path, element]);
        else set.add([...path, element]);
      }
    };
    walk(fields, []);
    return set;
  }

  toFieldsV1(): JsonObject {
    interface Node {
      member: boolean;
      children: Map<string, Node>;
    }
    const root: Node = { member: false, children: new Map() };
    for (const path of this.paths()) {
      let node = root;
      for (const element of path) {
        let next = node.children.get(element);
        if (!next) node.children.set(element, (next = { member: false, children: new Map() }));
        node = next;
      }
      node.member = true;
    }
    const render = (node: Node): JsonObject => {
      const out: JsonObject = {};
      if (node.member && node.children.size > 0) out['.'] = {};
      for (const element of [...node.children.keys()].sort(compareElements)) out[element] = render(node.children.get(element)!);
      return out;
    };
    return render(root);
  }

  add(path: FieldPath): void {
    this.members.add(encode(path));
  }

  has(path: FieldPath): boolean {
    return this.members.has(encode(path));
  }

  delete(path: FieldPath): void {
    this.members.delete(encode(path));
  }

  /** Whether the path or anything below it is a member. */
  covers(path: FieldPath): boolean {
    const key = encode(path);
    if (this.members.has(key)) return true;
    const prefix = key === '' ? '' : key + SEP;
    for (const m of this.members) if (m.startsWith(prefix)) return true;
    return false;
  }

  paths(): string[][] {
    return [...this.members].map(decode);
  }

  get size(): number {
    return this.members.size;
  }

  union(other: FieldSet): FieldSet {
    return new FieldSet([...this.paths(), ...other.paths()]);
  }

  difference(other: FieldSet): FieldSet {
    return new FieldSet(this.paths().filter((p) => !other.has(p)));
  }

  intersection(other: FieldSet): FieldSet {
    return new FieldSet(this.paths().filter((p) => other.has(p)));
  }

  equals(other: FieldSet): boolean {
    return this.size === other.size && this.paths().every((p) => other.has(p));
  }
}

/** FieldsV1 orders fields, then keyed items, then values, then indexes; '.' comes first. */
export function compareElements(a: string, b: string): number {
  const order = 'fkvi';
  return order.indexOf(a[0]) - order.indexOf(b[0]) || (a < b ? -1 : a > b ? 1 : 0);
}

export const element = {
  field: (name: string) => `f:${name}`,
  key: (keys: JsonObject) => `k:${canonical(keys)}`,
  value: (v: unknown) => `v:${canonical(v)}`,
  index: (i: number) => `i:${i}`,
};

/** A path as a real server prints it in conflict messages: `.spec.containers[name="c"].image`. */
export function pathString(path: FieldPath): string {
  return path
    .map((e) => {
      const body = e.slice(2);
      switch (e[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const keys = JSON.parse(body) as JsonObject;
          return `[${Object.entries(keys)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}

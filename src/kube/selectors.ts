/**
 * Label and field selectors as Kubernetes parses and applies them (`k8s.io/apimachinery/pkg/labels`
 * and `pkg/fields`), with the real server's error messages.
 *
 * A selector is parsed once into matcher functions: the API server filters every object of a list
 * or a watch with it (50,000 pods for one request is a normal case), so matching must cost a few
 * property reads per requirement — no regex, no allocation per object.
 */
import type { KubeObject } from './client.ts';
import type { Event, Namespace, Node, Pod, Secret } from './kinds.ts';
import { isQualifiedName, isValidLabelValue } from './names.ts';

/** A selector the server refuses: its `message` is what a real server puts in the 400 Status. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

/** The operators of `selection.Operator`, spelled as Kubernetes spells them. */
export type SelectorOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'gt' | 'lt' | 'exists' | '!';

export interface Requirement {
  key: string;
  operator: SelectorOperator;
  /** Sorted and deduplicated when parsed from a string; as given when built from an object. */
  values: string[];
}

export type Labels = Record<string, string>;

export interface LabelSelector {
  /** ANDed, sorted by key as Kubernetes sorts them. */
  readonly requirements: Requirement[];
  matches(labels: Labels | undefined): boolean;
  /** The canonical text, as `labels.Selector.String()` prints it. */
  toString(): string;
  /** True when the selector selects everything. */
  readonly empty: boolean;
  /**
   * The labels an object must carry with exactly this value (`k=v`, `k==v`, `k in (v)`): an index
   * by label can narrow the candidates to one bucket before `matches` checks the rest.
   */
  exactMatchPairs(): Labels;
}

// ---------------------------------------------------------------------------------------------
// Matching

type LabelMatcher = (labels: Labels) => boolean;

const NO_LABELS: Labels = Object.freeze({}) as Labels;

/**
 * Label values are strings, so `typeof … === 'string'` is the presence test: it is also false for
 * what a plain object inherits (`constructor`, `toString`), which `in` would wrongly count.
 */
function compileRequirement(r: Requirement): LabelMatcher {
  const key = r.key;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in': {
      if (r.values.length === 1) {
        const value = r.values[0];
        return (l) => l[key] === value;
      }
      const set = new Set(r.values);
      return (l) => {
        const v = l[key];
        return typeof v === 'string' && set.has(v);
      };
    }
    case '!=':
    case 'notin': {
      if (r.values.length === 1) {
        const value = r.values[0];
        return (l) => l[key] !== value;
      }
      const set = new Set(r.values);
      return (l) => {
        const v = l[key];
        return typeof v !== 'string' || !set.has(v);
      };
    }
    case 'exists':
      return (l) => typeof l[key] === 'string';
    case '!':
      return (l) => typeof l[key] !== 'string';
    case 'gt':
    case 'lt': {
      const bound = parseInt64(r.values[0]);
      if (bound === undefined || r.values.length !== 1) return () => false;
      const greater = r.operator === 'gt';
      return (l) => {
        const v = l[key];
        if (typeof v !== 'string') return false;
        const n = parseInt64(v);
        if (n === undefined) return false;
        return greater ? n > bound : n < bound;
      };
    }
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits, within int64. */
function parseInt64(s: string): bigint | undefined {
  let i = s.charCodeAt(0) === 43 /* + */ || s.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i >= s.length) return undefined;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function requirementToString(r: Requirement): string {
  const values = r.values.length > 1 ? [...r.values].sort().join(',') : (r.values[0] ?? '');
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
      return `${r.key} in (${values})`;
    case 'notin':
      return `${r.key} notin (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

function byKey(a: Requirement, b: Requirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Builds a selector from validated requirements; sorts them by key as `labels.Parse` does. */
export function selectorFromRequirements(requirements: Requirement[]): LabelSelector {
  const reqs = [...requirements].sort(byKey);
  const matchers = reqs.map(compileRequirement);
  let matchAll: LabelMatcher;
  if (matchers.length === 0) matchAll = () => true;
  else if (matchers.length === 1) matchAll = matchers[0];
  else {
    matchAll = (l) => {
      for (let i = 0; i < matchers.length; i++) if (!matchers[i](l)) return false;
      return true;
    };
  }
  const text = reqs.map(requirementToString).join(',');
  return {
    requirements: reqs,
    empty: reqs.length === 0,
    matches: (labels) => matchAll(labels ?? NO_LABELS),
    toString: () => text,
    exactMatchPairs: () => {
      const pairs: Labels = {};
      for (const r of reqs) {
        const exact = r.operator === '=' || r.operator === '==' || (r.operator === 'in' && r.values.length === 1);
        if (exact && !Object.hasOwn(pairs, r.key)) pairs[r.key] = r.values[0];
      }
      return pairs;
    },
  };
}

/** `labels.Everything()`: what an empty string or an empty LabelSelector object selects. */
export const EVERYTHING: LabelSelector = selectorFromRequirements([]);

/** `labels.Nothing()`: what a missing (null) LabelSelector object selects in Kubernetes. */
export const NOTHING: LabelSelector = {
  requirements: [],
  empty: false,
  matches: () => false,
  toString: () => '',
  exactMatchPairs: () => ({}),
};

// ---------------------------------------------------------------------------------------------
// Validation of one requirement (`labels.NewRequirement`), worded as field.Error prints.

/** Go's `%q` for the strings a selector can hold (JSON's escaping differs only for control characters). */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** Go's `%#v` of a []string, as field.Invalid prints a list of values. */
function goStringSlice(values: string[] | undefined): string {
  if (!values || values.length === 0) return '[]string(nil)';
  return `[]string{${values.map(quote).join(', ')}}`;
}

function invalid(path: string, value: string, detail: string): string {
  return `${path}: Invalid value: ${value}: ${detail}`;
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several deduplicated in brackets. */
function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}

function keyErrors(key: string): string[] {
  return isQualifiedName(key);
}

/**
 * `labels.NewRequirement` with no field path: throws the aggregate of everything wrong with it.
 * `rawValues` undefined stands for a nil slice (a matchExpression without `values`).
 */
function newRequirement(key: string, operator: SelectorOperator, rawValues: string[] | undefined): Requirement {
  const values = rawValues ?? [];
  const errs: string[] = [];
  const keyProblems = keyErrors(key);
  if (keyProblems.length > 0) errs.push(invalid('key', quote(key), keyProblems.join('; ')));
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalid('values', goStringSlice(rawValues), "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalid('values', goStringSlice(rawValues), 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalid('values', goStringSlice(rawValues), 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalid('values', goStringSlice(rawValues), "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalid(`values[${i}]`, quote(v), "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const problems = isValidLabelValue(v);
    if (problems.length > 0) errs.push(invalid(`values[${i}][${key}]`, quote(v), problems.join('; ')));
  });
  if (errs.length > 0) throw new SelectorError(aggregate(errs));
  return { key, operator, values };
}

// ---------------------------------------------------------------------------------------------
// The string syntax: the lexer and recursive-descent parser of `labels.Parse`, kept in the same
// shape so that every error names the same token a real server names.

type Token = 'error' | 'eos' | '(' | ')' | ',' | '!' | '==' | '=' | '!=' | '>' | '<' | 'in' | 'notin' | 'id';

interface Scanned {
  tok: Token;
  lit: string;
}

const SYMBOL_TOKENS: ReadonlyMap<string, Token> = new Map<string, Token>([
  [')', ')'],
  [',', ','],
  ['!', '!'],
  ['==', '=='],
  ['=', '='],
  ['>', '>'],
  ['<', '<'],
  ['!=', '!='],
  ['(', '('],
]);

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

function scan(s: string): Scanned[] {
  const items: Scanned[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecialSymbol(s[pos])) {
      // Longest run of symbols that still forms a token: "!=" and "==" are one token, ">=" two.
      let buffer = '';
      let last: Scanned | undefined;
      while (pos < s.length && isSpecialSymbol(s[pos])) {
        const tok = SYMBOL_TOKENS.get(buffer + s[pos]);
        if (tok) {
          buffer += s[pos++];
          last = { tok, lit: buffer };
        } else if (last) break;
        else buffer += s[pos++];
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buffer}'` });
      continue;
    }
    const start = pos;
    while (pos < s.length && !isSpecialSymbol(s[pos]) && !isWhitespace(s[pos])) pos++;
    const word = s.slice(start, pos);
    items.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id', lit: word });
  }
}

/** A failure inside one requirement: `parse` prefixes it with "unable to parse requirement: ". */
class RequirementError extends Error {}

class Parser {
  private position = 0;
  constructor(private readonly items: Scanned[]) {}

  /** Where values are expected, `in` and `notin` are plain identifiers ("x in (in)"). */
  private lookahead(values: boolean): Scanned {
    return asValue(this.items[this.position], values);
  }

  private consume(values: boolean): Scanned {
    return asValue(this.items[this.position++], values);
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(true);
      switch (tok) {
        case 'id':
        case '!': {
          try {
            requirements.push(this.parseRequirement());
          } catch (err) {
            if (err instanceof RequirementError || err instanceof SelectorError) {
              throw new SelectorError(`unable to parse requirement: ${err.message}`);
            }
            throw err;
          }
          const next = this.consume(true);
          if (next.tok === 'eos') return requirements;
          if (next.tok === ',') {
            const after = this.lookahead(true);
            if (after.tok !== 'id' && after.tok !== '!') {
              throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
            }
            break;
          }
          throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
        case 'eos':
          return requirements;
        default:
          throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): Requirement {
    let operator: SelectorOperator | undefined;
    let { tok, lit } = this.consume(true);
    if (tok === '!') {
      operator = '!';
      ({ tok, lit } = this.consume(true));
    }
    if (tok !== 'id') throw new RequirementError(`found '${lit}', expected: identifier`);
    const key = lit;
    const keyProblems = keyErrors(key);
    // labels.Parse validates the key with a nil field path, which Go prints as "<nil>".
    if (keyProblems.length > 0) throw new RequirementError(invalid('<nil>', quote(key), keyProblems.join('; ')));
    const next = this.lookahead(true).tok;
    if (operator !== '!' && (next === 'eos' || next === ',')) operator = 'exists';
    if (operator === 'exists' || operator === '!') return newRequirement(key, operator, []);

    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...new Set(values)].sort());
  }

  private parseOperator(): SelectorOperator {
    const { tok, lit } = this.consume(false);
    switch (tok) {
      case 'in':
        return 'in';
      case 'notin':
        return 'notin';
      case '=':
        return '=';
      case '==':
        return '==';
      case '!=':
        return '!=';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      default:
        throw new RequirementError(`found '${lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private parseValues(): string[] {
    const open = this.consume(true);
    if (open.tok !== '(') throw new RequirementError(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead(true);
    switch (tok) {
      case 'id':
      case ',': {
        const values = this.parseIdentifiersList();
        // Kubernetes names the token seen before the list here, not the one after it.
        if (this.consume(true).tok !== ')') throw new RequirementError(`found '${lit}', expected: ')'`);
        return values;
      }
      case ')':
        this.consume(true);
        return [''];
      default:
        throw new RequirementError(`found '${lit}', expected: ',', ')' or identifier`);
    }
  }

  /** A comma-separated list where empty entries are the empty value: "(a,,b)", "(,a)", "(a,)". */
  private parseIdentifiersList(): string[] {
    const values: string[] = [];
    for (;;) {
      const { tok, lit } = this.consume(true);
      if (tok === 'id') {
        values.push(lit);
        const next = this.lookahead(true);
        if (next.tok === ',') continue;
        if (next.tok === ')') return values;
        throw new RequirementError(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === ',') {
        if (values.length === 0) values.push('');
        const next = this.lookahead(true).tok;
        if (next === ')') {
          values.push('');
          return values;
        }
        if (next === ',') {
          this.consume(true);
          values.push('');
        }
        continue;
      }
      throw new RequirementError(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): string[] {
    const next = this.lookahead(true).tok;
    if (next === 'eos' || next === ',') return [''];
    const { tok, lit } = this.consume(true);
    if (tok === 'id') return [lit];
    throw new RequirementError(`found '${lit}', expected: identifier`);
  }
}

function asValue(item: Scanned, values: boolean): Scanned {
  if (values && (item.tok === 'in' || item.tok === 'notin')) return { tok: 'id', lit: item.lit };
  return item;
}

/**
 * Parses the `labelSelector` query parameter (`app=web,tier in (a,b),!canary`). Throws a
 * SelectorError with the real server's message for what it would refuse.
 */
export function parseLabelSelector(s: string): LabelSelector {
  const requirements = new Parser(scan(s)).parse();
  return requirements.length === 0 ? EVERYTHING : selectorFromRequirements(requirements);
}

// ---------------------------------------------------------------------------------------------
// metav1.LabelSelector objects (`spec.selector` of workloads)

export interface LabelSelectorRequirementObject {
  key: string;
  operator: string;
  values?: string[] | null;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirementObject[] | null;
}

const OBJECT_OPERATORS: ReadonlyMap<string, SelectorOperator> = new Map<string, SelectorOperator>([
  ['In', 'in'],
  ['NotIn', 'notin'],
  ['Exists', 'exists'],
  ['DoesNotExist', '!'],
]);

/**
 * `metav1.LabelSelectorAsSelector`: a missing selector selects nothing, an empty one everything.
 * matchLabels become `k=v` requirements.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel == null) return NOTHING;
  const matchLabels = sel.matchLabels ?? {};
  const expressions = sel.matchExpressions ?? [];
  const labelKeys = Object.keys(matchLabels).sort();
  if (labelKeys.length + expressions.length === 0) return EVERYTHING;
  const requirements: Requirement[] = [];
  for (const key of labelKeys) requirements.push(newRequirement(key, '=', [matchLabels[key]]));
  for (const expr of expressions) {
    const op = OBJECT_OPERATORS.get(expr.operator);
    if (!op) throw new SelectorError(`${quote(expr.operator)} is not a valid label selector operator`);
    requirements.push(newRequirement(expr.key, op, expr.values && expr.values.length > 0 ? [...expr.values] : undefined));
  }
  return selectorFromRequirements(requirements);
}

/**
 * `metav1.FormatLabelSelector`, what kubectl prints: `<none>` for a selector that selects
 * everything, `<error>` for an invalid one. (The `status.selector` of a scale subresource is
 * `labelSelectorFromObject(sel).toString()`, which differs only in those two cases.)
 */
export function labelSelectorToString(sel: LabelSelectorObject | null | undefined): string {
  let text: string;
  try {
    text = labelSelectorFromObject(sel).toString();
  } catch (err) {
    if (err instanceof SelectorError) return '<error>';
    throw err;
  }
  return text.length === 0 ? '<none>' : text;
}

// ---------------------------------------------------------------------------------------------
// Field selectors (`fields.ParseSelector`)

export interface FieldRequirement {
  field: string;
  /** `==` is stored as `=`, as Kubernetes does. */
  op: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  /** ANDed, in the order Kubernetes checks them (terms sorted as text). */
  readonly requirements: FieldRequirement[];
  /** `get` returns a field's value; undefined counts as '' (a field the object does not set). */
  matches(get: (field: string) => string | undefined): boolean;
  fields(): string[];
  toString(): string;
  readonly empty: boolean;
}

/** Splits on commas that are not escaped; the escapes stay for `unescapeValue`. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** The first operator in the term splits it: `!=` before `==` before `=`. */
function splitTerm(term: string): [string, '=' | '==' | '!=', string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') {
      // Go prints the rune as its number here.
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** `fields.EscapeValue`: the inverse of the unescaping the parser does. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Parses the `fieldSelector` query parameter (`metadata.name=web,status.phase!=Running`). */
export function parseFieldSelector(s: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const part of splitTerms(s).sort()) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, op, raw] = split;
    requirements.push({ field, op: op === '!=' ? '!=' : '=', value: unescapeValue(raw) });
  }
  return fieldSelectorFromRequirements(requirements);
}

export function fieldSelectorFromRequirements(requirements: FieldRequirement[]): FieldSelector {
  const reqs = [...requirements];
  const text = reqs.map((r) => `${r.field}${r.op}${escapeFieldValue(r.value)}`).join(',');
  return {
    requirements: reqs,
    empty: reqs.length === 0,
    matches: (get) => {
      for (const r of reqs) {
        const v = get(r.field) ?? '';
        if ((v === r.value) !== (r.op === '=')) return false;
      }
      return true;
    },
    fields: () => [...new Set(reqs.map((r) => r.field))],
    toString: () => text,
  };
}

// ---------------------------------------------------------------------------------------------
// The fields a real server lets a selector use, per kind (each kind's `ToSelectableFields` and
// field label conversion). Unset fields read as '', as in Kubernetes' fields.Set.

/** Each kind's getters read its typed view; an Event's as partial, as its `involvedObject` may be missing. */
type FieldGetter = (obj: KubeObject) => string;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bool = (v: unknown): string => (v === true ? 'true' : 'false');

const NAME: [string, FieldGetter] = ['metadata.name', (o) => str(o.metadata?.name)];
const NAMESPACE: [string, FieldGetter] = ['metadata.namespace', (o) => str(o.metadata?.namespace)];

const COMMON_FIELDS = new Map<string, FieldGetter>([NAME, NAMESPACE]);

const FIELDS_BY_KIND: ReadonlyMap<string, ReadonlyMap<string, FieldGetter>> = new Map([
  [
    'Pod',
    new Map<string, FieldGetter>([
      NAME,
      NAMESPACE,
      ['spec.nodeName', (o: Pod) => str(o.spec?.nodeName)],
      ['spec.restartPolicy', (o: Pod) => str(o.spec?.restartPolicy)],
      ['spec.schedulerName', (o: Pod) => str(o.spec?.schedulerName)],
      ['spec.serviceAccountName', (o: Pod) => str(o.spec?.serviceAccountName)],
      ['spec.hostNetwork', (o: Pod) => bool(o.spec?.hostNetwork)],
      ['status.phase', (o: Pod) => str(o.status?.phase)],
      // The server reads the first of `podIPs`, which it keeps in step with `podIP`.
      ['status.podIP', (o: Pod) => str(o.status?.podIPs?.[0]?.ip ?? o.status?.podIP)],
      ['status.nominatedNodeName', (o: Pod) => str(o.status?.nominatedNodeName)],
    ]),
  ],
  [
    'Event',
    new Map<string, FieldGetter>([
      NAME,
      NAMESPACE,
      ['involvedObject.kind', (o: Partial<Event>) => str(o.involvedObject?.kind)],
      ['involvedObject.namespace', (o: Partial<Event>) => str(o.involvedObject?.namespace)],
      ['involvedObject.name', (o: Partial<Event>) => str(o.involvedObject?.name)],
      ['involvedObject.uid', (o: Partial<Event>) => str(o.involvedObject?.uid)],
      ['involvedObject.apiVersion', (o: Partial<Event>) => str(o.involvedObject?.apiVersion)],
      ['involvedObject.resourceVersion', (o: Partial<Event>) => str(o.involvedObject?.resourceVersion)],
      ['involvedObject.fieldPath', (o: Partial<Event>) => str(o.involvedObject?.fieldPath)],
      ['reason', (o: Partial<Event>) => str(o.reason)],
      ['type', (o: Partial<Event>) => str(o.type)],
      // Events written through events.k8s.io have no source, only a reporting controller.
      ['source', (o: Partial<Event>) => str(o.source?.component) || str(o.reportingComponent)],
      ['reportingComponent', (o: Partial<Event>) => str(o.reportingComponent)],
    ]),
  ],
  ['Secret', new Map<string, FieldGetter>([NAME, NAMESPACE, ['type', (o: Secret) => str(o.type)]])],
  // Nodes and Namespaces are cluster-scoped and have their own conversion: no metadata.namespace.
  ['Node', new Map<string, FieldGetter>([NAME, ['spec.unschedulable', (o: Node) => bool(o.spec?.unschedulable)]])],
  ['Namespace', new Map<string, FieldGetter>([NAME, ['status.phase', (o: Namespace) => str(o.status?.phase)]])],
]);

function gettersOf(kind: string | undefined): ReadonlyMap<string, FieldGetter> {
  return (kind !== undefined && FIELDS_BY_KIND.get(kind)) || COMMON_FIELDS;
}

/** Whether a real server accepts `field` in a field selector on objects of `kind`. */
export function isSupportedField(kind: string, field: string): boolean {
  return gettersOf(kind).has(field);
}

/** The value of a selectable field of `obj` (by its `kind`), or undefined if the kind has no such field. */
export function fieldValue(obj: KubeObject, field: string): string | undefined {
  return gettersOf(obj.kind).get(field)?.(obj);
}

/** Refuses a selector naming a field `kind` does not support, as the server does before listing. */
export function checkFieldSelector(kind: string, sel: FieldSelector): void {
  for (const r of sel.requirements) {
    if (!isSupportedField(kind, r.field)) throw new SelectorError(`field label not supported: ${r.field}`);
  }
}

/**
 * A matcher for objects of one kind, with each field's getter looked up once: what a list or a
 * watch applies to every object. Throws like `checkFieldSelector`.
 */
export function fieldMatcher(kind: string, sel: FieldSelector): (obj: KubeObject) => boolean {
  checkFieldSelector(kind, sel);
  if (sel.empty) return () => true;
  const getters = gettersOf(kind);
  const checks = sel.requirements.map((r) => ({ get: getters.get(r.field)!, value: r.value, equal: r.op === '=' }));
  return (obj) => {
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i];
      if ((c.get(obj) === c.value) !== c.equal) return false;
    }
    return true;
  };
}

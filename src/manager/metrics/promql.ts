/**
 * The PromQL behind a version's CPU and memory graphs: the seed's two queries as templates, fixed
 * to join pod labels `on (namespace, pod)` (a join on `pod` alone mixes namespaces) and to filter
 * both sides by namespace.
 *
 * Placeholders: `{{version}}` and `{{namespace}}` become PromQL string literals (quotes included,
 * escaped — never spliced in raw, so a name cannot change the query), `{{window}}` the rate window
 * (a duration such as `5m`).
 */

/** CPU in millicores, summed over the version's pods. */
export const DEFAULT_CPU_QUERY =
  'sum by (label_version_name) (' +
  'max by (namespace, pod, label_version_name) (kube_pod_labels{namespace={{namespace}}, label_version_name={{version}}})' +
  ' * on (namespace, pod) group_right(label_version_name) ' +
  'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace={{namespace}}, container!="POD", container!=""}[{{window}}]) * 1000))';

/** Memory working set in bytes, summed over the version's pods. */
export const DEFAULT_MEMORY_QUERY =
  'sum by (label_version_name) (' +
  'max by (namespace, pod, label_version_name) (kube_pod_labels{namespace={{namespace}}, label_version_name={{version}}})' +
  ' * on (namespace, pod) group_right(label_version_name) ' +
  'sum by (namespace, pod) (container_memory_working_set_bytes{namespace={{namespace}}, container!="POD", container!=""}))';

export const DEFAULT_RATE_WINDOW = '5m';

/** A Prometheus duration: one or more `<number><unit>` (`5m`, `1h30m`, `30s`). */
export const DURATION_PATTERN = /^(\d+(ms|s|m|h|d|w|y))+$/;

const PLACEHOLDER = /\{\{\s*([a-z]+)\s*\}\}/g;
const KNOWN = new Set(['version', 'namespace', 'window']);

/**
 * A PromQL string literal holding exactly `value`: double-quoted, with `\`, `"` and every
 * character outside printable ASCII written as an escape PromQL's lexer reads back to itself.
 */
export function promqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** What is wrong with a template, or undefined: unknown placeholders, or one of the two names missing. */
export function templateProblem(template: string): string | undefined {
  const seen = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN.has(m[1])) return `unknown placeholder {{${m[1]}}} (expected {{version}}, {{namespace}}, {{window}})`;
    seen.add(m[1]);
  }
  for (const need of ['version', 'namespace']) if (!seen.has(need)) return `the template must use {{${need}}} so that it selects one version's pods`;
  return undefined;
}

export interface QueryNames {
  version: string;
  namespace: string;
  window: string;
}

/** The query for one version: names as string literals, the window as configured. */
export function renderQuery(template: string, names: QueryNames): string {
  return template.replace(PLACEHOLDER, (_, key: string) => {
    if (key === 'version') return promqlString(names.version);
    if (key === 'namespace') return promqlString(names.namespace);
    if (key === 'window') return names.window;
    throw new Error(`unknown placeholder {{${key}}}`);
  });
}

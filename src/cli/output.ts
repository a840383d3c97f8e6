/** Where the client commands' output goes, and how it is laid out: plain node, so a test can collect it. */

/** Where the commands' output goes: stdout, or what a test running a command in its own process collects. */
export const output = { write: (text: string): void => void process.stdout.write(text) };

export const print = (line = ''): void => output.write(`${line}\n`);

export const printJson = (value: unknown, pretty = true): void => output.write(`${pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);

/** Rows as columns padded to the widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

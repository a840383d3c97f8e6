/** Checks of single request fields shared by the services; each failure names the field. */
import { isDNS1123Label } from '../kube/index.ts';
import { invalidArgument } from './errors.ts';

/** A string field as the message decoder gives it ('' when absent). */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function required(field: string, value: string, max = 1024): string {
  if (value === '') throw invalidArgument(field, 'is required');
  if (value.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
  return value;
}

export function namespaceOf(field: string, value: string): string {
  if (value === '') throw invalidArgument(field, 'is required');
  const problems = isDNS1123Label(value);
  if (problems.length > 0) throw invalidArgument(field, `"${value.slice(0, 80)}" ${problems.join('; ')}`);
  return value;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { KubeApiError } from './client.ts';
import { MAX_ERROR_TEXT, serializeError } from './logger.ts';

/** One log line as a part writes it, with the logger's error serializer. */
function logLine(err: unknown): string {
  let line = '';
  const log = pino({ serializers: { err: serializeError } }, new Writable({ write: (c: Buffer, _e, cb) => ((line += c.toString()), cb()) }));
  log.warn({ err }, 'reconcile failed; will retry');
  log.flush?.();
  return line;
}

test('an API refusal logs its message, reason and code once: no Status copy, no stack, bounded', () => {
  // A real server's 422 for a pod update: the message carries a Go diff, and repeats in the causes.
  const message = `Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than ...\n${'  core.PodSpec{ ... }\n'.repeat(400)}`;
  const err = KubeApiError.fromStatus({ kind: 'Status', status: 'Failure', message, reason: 'Invalid', code: 422, details: { name: 'web', kind: 'Pod', causes: [{ message, field: 'spec' }] } });
  const line = logLine(err);
  const parsed = JSON.parse(line);
  assert.equal(parsed.err.reason, 'Invalid');
  assert.equal(parsed.err.code, 422);
  assert.ok(parsed.err.message.startsWith('Pod "web" is invalid'));
  assert.equal(parsed.err.stack, undefined);
  assert.equal(parsed.err.status, undefined);
  assert.ok(line.length < 2 * MAX_ERROR_TEXT, `one bounded line, got ${line.length} bytes`);
  assert.equal(line.split('pod updates may not change').length - 1, 1, 'the message appears once');
});

test('any other error keeps a bounded stack, because it is a bug to find', () => {
  const err = new Error('x'.repeat(10_000));
  const parsed = JSON.parse(logLine(err));
  assert.ok(parsed.err.message.length < MAX_ERROR_TEXT + 100);
  assert.ok(parsed.err.stack.length <= 2 * MAX_ERROR_TEXT + 100);
  assert.equal(parsed.err.type, 'Error');
});

/** Bad usage of the command line: `kre` prints the message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

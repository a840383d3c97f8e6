/**
 * Bad configuration of a part: a flag, an environment variable, a field of the `--config` file or
 * the kubeconfig. The message names the field and where it came from; `kre` exits with status 2.
 * Kept free of imports so that the command line can recognise it without loading a part.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** The field, as the YAML file spells it (`leaderElection.namespace`), when one is to blame. */
    readonly field?: string,
  ) {
    super(message);
  }
}

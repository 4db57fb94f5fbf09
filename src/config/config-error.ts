/** A config value that does not validate: `field` is its dotted name (`media.profiles`); the CLI exits 2 with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

import { InvalidArgumentError, Option } from 'commander';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return port;
}

/** Options of commands that touch storage or serve; each overrides its environment variable. */
export const storageOptions = {
  dataDir: () => new Option('--data-dir <dir>', 'embedded database directory (env HERALD_DATA_DIR, default ./data)'),
  port: () => new Option('--port <port>', 'HTTP port (env HERALD_PORT, default 8080)').argParser(parsePort),
};

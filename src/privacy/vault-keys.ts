import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { newVaultKeySpec, parseVaultKeys, type VaultKey } from './vault.js';

const KEY_FILE = 'vault-keys';

/**
 * The configured vault keys, or, for the embedded database only, a key generated once and kept in
 * the data directory (readable by its owner alone) so a local installation works out of the box.
 */
export function resolveVaultKeys(config: Config): readonly VaultKey[] {
  if (config.vaultKeys) return config.vaultKeys;
  const file = path.join(config.dataDir, KEY_FILE);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, newVaultKeySpec('local1'), { mode: 0o600, flag: 'wx' });
  }
  const { keys, problems } = parseVaultKeys(fs.readFileSync(file, 'utf8').trim());
  if (problems.length > 0) throw new Error(`${file} is damaged: ${problems.join('; ')}`);
  return keys;
}

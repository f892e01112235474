import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { WalConfig } from './types';

export function saveConfig(config: WalConfig, file: string): void {
  const { sourceFiles: _ignored, ...rest } = config;
  writeFileSync(file, file.endsWith('.json') ? JSON.stringify(rest, null, 2) : stringify(rest));
}

export * from './types';
export { ConfigError } from './errors';
export { loadConfig, parseConfig, findNamespace } from './loader';
export { saveConfig } from './save';
export { parseDuration, parseSize } from './units';

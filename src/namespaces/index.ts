export * from './types';
export { ConfigError } from './errors';
export { loadConfig, parseConfig, findNamespace, configFromDocuments, readConfigDocuments, type ConfigDocument } from './loader';
export { saveConfig } from './save';
export { parseDuration, parseSize } from './units';

export { TarWriter } from './tar-writer.js';
export { type TarEntry, tarEntries } from './tar-entries.js';
export { findPgTool, type PgToolSearch } from './find-pg-tool.js';

export { lockDir } from './lock-dir.js';
export type { DirLock } from './lock-dir.js';

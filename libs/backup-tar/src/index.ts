export { TarWriter } from './tar-writer.js';

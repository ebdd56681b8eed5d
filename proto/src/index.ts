// Protocol versions live side by side; v1 is the only one today.
export * as v1 from './v1/index.js';

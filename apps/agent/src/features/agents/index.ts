/**
 * What other agent features may use of the agents feature: host-signed requests to the hub's
 * HTTP API (e.g. the backups feature asking where to write a pre-update backup).
 */
export { hubRefusal, hubRequest } from './hub-request.js';

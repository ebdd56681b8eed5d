/** How often a streaming backup or restore reports its bytes: a live bar, and one small row per second at the hub. */
export const PROGRESS_EVERY_MS = 1000;

/**
 * A task handler whose module is imported when its first task arrives, not when the agent
 * starts. The type is the loaded handler's own, so registering it in a feature is checked exactly
 * as registering the handler itself. With the artifact's code split into chunks
 * (scripts/build-agent-artifact.mjs), the code and dependencies behind a handler are not even
 * parsed by an agent that never runs it: that is most of the idle agent's memory
 * (docs/benchmarks.md). After the first call, import() answers from the module cache.
 */
export function lazyHandler<H extends (...args: never[]) => Promise<unknown>>(load: () => Promise<H>): H {
  return ((...args: Parameters<H>) => load().then((handler) => handler(...args))) as H;
}

import type { InferResponseType } from 'hono/client';
import type { CliContext } from './cli-context.js';
import { expectOk, type HubClient } from './hub-client.js';

/** A batch with every task's state, output and error, as the hub returns it. */
export type BatchDetail = InferResponseType<HubClient['v1']['batches'][':id']['$get'], 200>;
export type BatchTask = BatchDetail['tasks'][number];

export async function batchDetail(ctx: CliContext, id: string): Promise<BatchDetail> {
  return expectOk(await ctx.hub.v1.batches[':id'].$get({ param: { id } }));
}

/** The id of simulated host `i`: the bench inserts these hosts and the workers speak for them. */
export const benchHostId = (i: number): string => `h-bench-${String(i).padStart(5, '0')}`;

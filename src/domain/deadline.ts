// A flow's deadline as every path that would start work checks it: the
// ladder when an attempt fails, the executor before it starts an attempt or
// ends a delay, the bulk firing of timers. Pure: the clock is passed in.

/** True when a flow whose deadline is `deadlineAt` (epoch ms; null: none) has passed it at `now` (epoch ms). */
export function passedDeadline(deadlineAt: number | null, now: number): boolean {
  return deadlineAt !== null && now >= deadlineAt;
}

/** Why a flow past its deadline stops, as its `recovery.decided` event says. */
export function deadlineReason(deadlineAt: number): string {
  return `the flow passed its deadline (${new Date(deadlineAt).toISOString()})`;
}

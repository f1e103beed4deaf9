/**
 * Time as the agent, the stub server and the simulator see it. XState takes the same `setTimeout`/`clearTimeout`
 * pair for delayed transitions, so one clock drives statechart delays, simulated program run times and polls.
 */
export interface Clock {
  now(): number;
  /**
   * `first`: on a simulated clock, fire before the timers due in the same tick that were set without it, and let the
   * work it starts settle before they fire (a scenario's site change comes before the device requests of its
   * second). A real clock has no ticks to order within, and ignores it.
   */
  setTimeout(callback: () => void, ms: number, first?: boolean): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Marks real asynchronous work (an HTTP exchange) as in flight. A simulated clock does not move past pending work,
   * which is what makes a replay deterministic; the real clock just returns the promise.
   */
  track<T>(work: Promise<T>): Promise<T>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
  track: (work) => work,
};

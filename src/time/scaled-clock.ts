import type { Clock } from './clock.js';

/**
 * Simulated time that runs at `speed` times real time from `start`: a scenario you can watch (and load a server
 * with) at, say, one simulated minute per second. Real timers drive it, so unlike the simulated clock it does not
 * wait for HTTP exchanges and a replay is not exactly repeatable.
 */
export class ScaledClock implements Clock {
  private readonly wallOrigin = Date.now();

  constructor(
    private readonly start: number,
    private readonly speed: number,
  ) {}

  now(): number {
    return this.start + Math.round((Date.now() - this.wallOrigin) * this.speed);
  }

  setTimeout(callback: () => void, ms: number): unknown {
    return setTimeout(callback, ms / this.speed);
  }

  clearTimeout(handle: unknown): void {
    clearTimeout(handle as NodeJS.Timeout);
  }

  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  /** Waits (in real time) until `done()` holds or the clock reaches `limit`; returns whether `done()` held. */
  async runUntilTrue(done: () => boolean, limit: number): Promise<boolean> {
    while (!done() && this.now() < limit) await new Promise((resolve) => setTimeout(resolve, 50));
    return done();
  }
}

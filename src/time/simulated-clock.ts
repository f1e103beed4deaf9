import { Heap } from 'heap-js';
import type { Clock } from './clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * Virtual time for tests and replays. Time only moves in `advance`/`runUntil`, and only once every tracked HTTP
 * exchange has settled, so a day of fleet activity replays in seconds and the same seed gives the same events.
 * Timers due at the same instant fire in the order they were set.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private seq = 0;
  private inFlight = 0;
  private readonly timers = new Heap<Timer>((a, b) => a.at - b.at || a.seq - b.seq);
  private readonly cancelled = new Set<number>();

  constructor(start: number | string = '2009-06-01T08:00:00Z') {
    this.current = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): number {
    const seq = ++this.seq;
    this.timers.push({ at: this.current + Math.max(0, ms), seq, callback });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.cancelled.add(handle);
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    return work.finally(() => this.inFlight--);
  }

  /** Waits until no tracked work is in flight and every reaction to it has run. */
  async settle(): Promise<void> {
    do await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.inFlight > 0);
  }

  /** Fires every timer due up to `until` (absolute ms), in order, settling real work between them. */
  async runUntil(until: number): Promise<void> {
    await this.runUntilTrue(() => false, until);
    this.current = Math.max(this.current, until);
  }

  advance(ms: number): Promise<void> {
    return this.runUntil(this.current + ms);
  }

  /**
   * Runs until `done()` holds, checking after each timer; gives up at `limit` (absolute ms) and returns whether
   * `done()` held.
   */
  async runUntilTrue(done: () => boolean, limit: number): Promise<boolean> {
    for (;;) {
      await this.settle();
      if (done()) return true;
      const next = this.nextTimer();
      if (!next || next.at > limit) return done();
      this.timers.pop();
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
  }

  private nextTimer(): Timer | undefined {
    for (let top = this.timers.peek(); top; top = this.timers.peek()) {
      if (!this.cancelled.delete(top.seq)) return top;
      this.timers.pop();
    }
    return undefined;
  }
}

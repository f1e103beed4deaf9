import { Heap } from 'heap-js';
import type { Clock } from './clock.js';

interface Timer {
  at: number;
  /** Fires, and its work settles, before the other timers of its tick. */
  first: boolean;
  seq: number;
  /**
   * Null once cleared: a cleared timer stays in the heap until its time, but lets go of what its callback holds (a
   * stopped statechart, for a device that went to sleep with its poll timer set).
   */
  callback: (() => void) | null;
}

/**
 * Virtual time for tests and replays. Time only moves in `advance`/`runUntil`, and only once every tracked HTTP
 * exchange has settled, so a day of fleet activity replays in seconds and the same seed gives the same events.
 *
 * Time has a resolution (a second by default, like ConfigMgr's schedules): every timer due in the same tick fires
 * together, in the order it was set, and their HTTP exchanges run concurrently before time moves on. That is what
 * lets thousands of handhelds replay at the speed of the server rather than one exchange at a time, while each
 * device still sees one exact `now()`.
 *
 * A timer set `first` (a scenario's timeline) fires before the others of its tick, and what it starts settles
 * before they fire: a site change at a given second is in place for every device request of that second, whatever
 * the order the requests would have reached the site in.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private readonly resolutionMs: number;
  private seq = 0;
  private inFlight = 0;
  private readonly timers = new Heap<Timer>((a, b) => a.at - b.at || Number(b.first) - Number(a.first) || a.seq - b.seq);

  constructor(start: number | string = '2009-06-01T08:00:00Z', resolutionMs = 1000) {
    this.current = typeof start === 'number' ? start : Date.parse(start);
    this.resolutionMs = resolutionMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number, first = false): Timer {
    const due = this.current + Math.max(0, ms);
    const timer = { at: Math.ceil(due / this.resolutionMs) * this.resolutionMs, first, seq: ++this.seq, callback };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Timer).callback = null;
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
   * Runs until `done()` holds, checking after each tick; gives up at `limit` (absolute ms) and returns whether
   * `done()` held.
   */
  async runUntilTrue(done: () => boolean, limit: number): Promise<boolean> {
    for (;;) {
      await this.settle();
      if (done()) return true;
      const next = this.nextTimer();
      if (next === undefined || next.at > limit) return done();
      const { at: tick, first } = next;
      this.current = Math.max(this.current, tick);
      // The tick's `first` timers, then (their work settled) the rest.
      for (let timer = this.nextTimer(); timer && timer.at === tick && timer.first === first; timer = this.nextTimer()) {
        this.timers.pop();
        timer.callback?.();
      }
    }
  }

  private nextTimer(): Timer | undefined {
    for (let top = this.timers.peek(); top; top = this.timers.peek()) {
      if (top.callback) return top;
      this.timers.pop();
    }
    return undefined;
  }
}

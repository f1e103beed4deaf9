import { expect } from 'chai';
import { CronClock } from '../src/time/cron-clock.js';
import { EagerClock } from '../src/time/eager-clock.js';

describe('the clocks that drive device timers', () => {
  describe('the cron clock (live fleets)', () => {
    const clock = new CronClock();
    afterEach(() => {
      clock.stop();
    });

    it('fires each timer at the first whole second after its delay, earliest first, and never a cleared one', async function () {
      this.timeout(6000);
      const fired: { name: string; at: number }[] = [];
      const set = Date.now();
      const note = (name: string) => () => fired.push({ name, at: Date.now() });
      clock.setTimeout(note('later'), 1500);
      clock.setTimeout(note('sooner'), 0);
      clock.clearTimeout(clock.setTimeout(note('cleared'), 500));
      const deadline = Date.now() + 5000;
      while (fired.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(fired.map((f) => f.name)).to.deep.equal(['sooner', 'later']);
      // Whole-second resolution: never early, and on a tick soon after (a loaded machine ticks late, never early).
      expect(fired[1]!.at - set).to.be.at.least(1500);
      expect(fired[1]!.at - set).to.be.below(4500);
    });
  });

  describe('the eager clock (--back-to-back)', () => {
    it('fires every timer without waiting, but the shorter of two racing delays first, after its promise settles', async () => {
      const clock = new EagerClock();
      const started = Date.now();
      const events: string[] = [];
      // A program of 10 minutes against a maximum run time of 30: the program's promise must win the race, even
      // when its result passes through several promise hops before the timer is cleared (as in a state machine).
      const limit = clock.setTimeout(() => events.push('max run time'), 1_800_000);
      void new Promise<void>((resolve) => clock.setTimeout(resolve, 600_000))
        .then(() => undefined)
        .then(() => undefined)
        .then(() => {
          events.push('program done');
          clock.clearTimeout(limit);
        });
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(events).to.deep.equal(['program done']);
      expect(Date.now() - started).to.be.below(1000);
    });

    it('with a horizon, never fires a timer that long or longer, and fires the shorter ones at once', async () => {
      const clock = new EagerClock({ horizonMs: 30 * 60_000 });
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('next poll'), 60 * 60_000);
      clock.setTimeout(() => fired.push('program'), 10 * 60_000);
      clock.setTimeout(() => fired.push('at the horizon'), 30 * 60_000);
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(fired).to.deep.equal(['program']);
    });

    it('fires every timer waiting at a turn in that turn, so a fleet keeps all its requests in flight', async () => {
      const clock = new EagerClock();
      const fired: number[] = [];
      // Poll timers differ by their jitter: each delay is distinct.
      for (let i = 0; i < 64; i++) clock.setTimeout(() => fired.push(i), 900_000 + i);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(fired).to.have.length(64);
      expect(fired[0]).to.equal(0);
    });

    it('fires every timer of a fleet-sized crowd, each delay distinct (a 150,000-device fleet polling back to back)', async function () {
      this.timeout(20_000);
      const clock = new EagerClock();
      const fired: number[] = [];
      for (let i = 0; i < 150_000; i++) clock.setTimeout(() => fired.push(i), 3_600_000 - i);
      const deadline = Date.now() + 15_000;
      while (fired.length < 150_000 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      expect(fired).to.have.length(150_000);
      // Shortest delay first: the last timer set had the shortest delay.
      expect(fired[0]).to.equal(149_999);
      expect(fired.at(-1)).to.equal(0);
    });
  });
});

import type { DeviceProfile } from '../src/agent/device-profile.js';
import { startHandheld, type Handheld } from '../src/agent/handheld.js';
import type { DeviceMemory, HandheldDependencies, HandheldInput, RestingContext } from '../src/agent/device-context.js';
import { awaitsAnswer, type SitePort } from '../src/agent/site-line.js';
import type { Logger } from '../src/logging.js';
import { randomFromState, type Random, type RandomState } from '../src/random.js';

/** What every device of a fleet shares. */
export interface DeviceHost {
  site: SitePort;
  /** The fleet's logger; each live device logs through a child naming it. */
  logger: Logger;
  /** When the fleet started: every device's boot, whenever its statechart first starts. */
  startedAt: number;
  /** Whether devices sleep between polls; without it each is a live statechart from start to stop. */
  sleeps: boolean;
  /** Called each time a device's statechart starts (or starts again after sleeping), before it runs. */
  watch(device: DormantDevice, handheld: Handheld): void;
}

/** A device sleeps only when its next poll is at least this far off: waking costs more than a short wait. */
const SLEEP_AT_LEAST_MS = 60_000;

/**
 * One device of a fleet: a live statechart while it has something to do, and a dormant record while it waits in idle
 * for a poll at least a minute off. The record is what the device is in idle (its context, whatever that holds, less
 * the site, logger and random generator it was given), where its random stream stands, and when its poll is due: a
 * clock timer for that moment starts the statechart again from the record, polling at once (`pollsAtOnce`), which
 * does what the statechart's own poll timer would have. Nothing is drawn or timed differently: a replay is
 * the same with sleeping devices and without, event for event (a spec holds it to that). A device whose first poll
 * has not come yet has never had a statechart: it starts from its input when that poll falls due.
 *
 * A device goes to sleep only with no answer to come (a delivery still out in idle keeps it awake until answered),
 * so nothing it would have been sent is lost.
 */
export class DormantDevice {
  private handheld: Handheld | null = null;
  /** What it is while asleep; undefined before its first start. */
  private resting: RestingContext | undefined;
  private randomState: RandomState;
  private wakeTimer: unknown;

  constructor(
    readonly profile: DeviceProfile,
    private readonly host: DeviceHost,
    random: Random,
    private readonly firstPollAt: number,
    /** What it remembered across a simulator restart (--state-dir) when last saved; the fleet keeps this current. */
    public memory: DeviceMemory | undefined,
  ) {
    this.randomState = random.state();
    if (host.sleeps) this.sleepUntil(firstPollAt);
    // Its first poll due as it starts (a fleet without a stagger): it polls at once, as a woken device does, without
    // a wait of no time in idle (a timer, two context copies and an event a device: a fleet's start is thousands).
    else if (firstPollAt <= host.site.clock.now()) this.start({ pollsAtOnce: true, ...this.input(random) });
    else this.run(startHandheld(this.input(random)));
  }

  /** Whether it is a dormant record now (before its first start too), not a live statechart. */
  get asleep(): boolean {
    return this.handheld === null;
  }

  /** The device's state at the top level of its statechart (`offer` for any stage of handling an advertisement). */
  get state(): string {
    if (!this.handheld) return 'idle';
    const value = this.handheld.getSnapshot().value;
    // Inside a compound state the value is an object whose one key is the top-level state.
    return typeof value === 'string' ? value : (Object.keys(value)[0] ?? '');
  }

  /** Its statechart while it is live (the dashboard inspects it); null while it sleeps. */
  get live(): Handheld | null {
    return this.handheld;
  }

  /** Its context, live or resting; null before its statechart first started. */
  get context(): RestingContext | null {
    return this.handheld?.getSnapshot().context ?? this.resting ?? null;
  }

  stop(): void {
    this.handheld?.stop();
    this.host.site.clock.clearTimeout(this.wakeTimer);
  }

  private input(random: Random): HandheldInput {
    return {
      profile: this.profile,
      deps: this.dependencies(random),
      firstPollAt: this.firstPollAt,
      startedAt: this.host.startedAt,
      ...(this.memory && { memory: this.memory }),
    };
  }

  private dependencies(random: Random): HandheldDependencies {
    return new DeviceWorld(this.host.site, random, this.host.logger, this.profile.id);
  }

  private run(handheld: Handheld): void {
    this.handheld = handheld;
    this.host.watch(this, handheld);
    if (this.host.sleeps) {
      handheld.subscribe((snapshot) => {
        if (snapshot.value !== 'idle' || snapshot.context.polls.dueAt - this.host.site.clock.now() < SLEEP_AT_LEAST_MS || awaitsAnswer(handheld)) return;
        const { deps, identification: _madeAgainOnWaking, ...resting } = snapshot.context;
        this.resting = resting;
        this.randomState = deps.random.state();
        this.handheld = null;
        handheld.stop();
        this.sleepUntil(resting.polls.dueAt);
      });
    }
  }

  private sleepUntil(at: number): void {
    this.wakeTimer = this.host.site.clock.setTimeout(() => {
      this.wake();
    }, at - this.host.site.clock.now());
  }

  private wake(): void {
    this.wakeTimer = undefined;
    const random = randomFromState(this.randomState);
    const input = this.resting ? { profile: this.resting.profile, deps: this.dependencies(random), resting: this.resting } : this.input(random);
    this.resting = undefined;
    // pollsAtOnce before the spread: a key added after one makes V8 build the object's shape anew (~1 µs a wake).
    this.start({ pollsAtOnce: true, ...input });
  }

  /** Starts its statechart, watched from before it starts: one started to poll at once asks for its poll then. */
  private start(input: HandheldInput): void {
    startHandheld(input, (handheld) => {
      this.run(handheld);
    });
  }
}

/**
 * A device's dependencies, in private fields behind getters, so nothing that walks a context (XState's snapshot
 * restore and persistence) follows them into the clock's every timer and the logger's streams. The device's child
 * logger is made when it first logs (or hands its logger to an offer), not at each wake: most wakes are a poll that
 * logs nothing.
 */
class DeviceWorld implements HandheldDependencies {
  readonly #site: SitePort;
  readonly #random: Random;
  readonly #fleetLogger: Logger;
  readonly #device: string;
  #logger: Logger | undefined;

  constructor(site: SitePort, random: Random, fleetLogger: Logger, device: string) {
    this.#site = site;
    this.#random = random;
    this.#fleetLogger = fleetLogger;
    this.#device = device;
  }

  get site(): SitePort {
    return this.#site;
  }

  get random(): Random {
    return this.#random;
  }

  get logger(): Logger {
    return (this.#logger ??= this.#fleetLogger.child({ device: this.#device }));
  }
}

/**
 * What a handheld's statechart holds (./machine.ts): its context, what it is started from, and the part of it a
 * device remembers across a restart of the simulator.
 */
import type { DeviceSettings } from '../domain/client-settings.js';
import type { DeviceState } from '../device/device-state.js';
import type { ScriptResume } from '../device/post-install.js';
import type { Verdict } from '../domain/eligibility.js';
import type { Logger } from '../logging.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import type { Instructions } from '../protocol/documents/instructions.js';
import type { ReportType } from '../protocol/wire.js';
import type { Random } from '../random.js';
import type { DeviceProfile } from './device-profile.js';
import type { DownloadedContent } from './downloader.js';
import type { Credentials } from './site-connection.js';
import type { SiteAnswer, SitePort } from './site-line.js';
import type { Outbox } from './status-outbox.js';

/** What a handheld needs from the world; shared by a fleet, except the logger (a per-device child). */
export interface HandheldDependencies {
  /** The site, and the clock every delay (the wait for the next poll included) runs on. */
  site: SitePort;
  random: Random;
  logger: Logger;
}

/** The fields of a device's context it remembers (DeviceMemory). */
export const MEMORY_FIELDS = ['credentials', 'outbox', 'boot', 'seq', 'done', 'progress', 'state', 'reportsSentAt'] as const;

/** What a device keeps across a restart of the simulator (see simulator/device-state-store.ts). */
export type DeviceMemory = Pick<HandheldContext, (typeof MEMORY_FIELDS)[number]>;

/** The part of a device's context it must remember across a restart. */
export function memoryOf(context: HandheldContext): DeviceMemory {
  const { credentials, outbox, boot, seq, done, progress, state, reportsSentAt } = context;
  return { credentials, outbox, boot, seq, done, progress, state, reportsSentAt };
}

export interface HandheldInput {
  profile: DeviceProfile;
  deps: HandheldDependencies;
  /** When the first poll is due; staggers a fleet. Defaults to at once. */
  firstPollAt?: number;
  /** What the device remembered when the simulator last stopped. */
  memory?: DeviceMemory;
  /**
   * When the simulator started the device (its boot, in status message Sequences). Defaults to now; a fleet that
   * starts a device only when its first poll falls due (simulator/dormant-device.ts) gives its own start.
   */
  startedAt?: number;
  /**
   * Started because its poll is due (a fleet's device waking from sleep, simulator/dormant-device.ts): it polls at
   * once instead of waiting in idle.
   */
  pollsAtOnce?: boolean;
  /** The context it had in idle when it went to sleep: it carries on from there (profile and memory are in it). */
  resting?: RestingContext;
}

/** What a device is while it sleeps: its whole context but the world it runs in, and what it makes again on waking. */
export type RestingContext = Omit<HandheldContext, 'deps' | 'identification'>;

/**
 * Kept to at most 19 top-level fields (19 now), what changes together grouped: each assign copies the context with
 * Object.assign, and V8 makes an object built so with more fields a hash table, so every assign and every read of
 * the context cost several times as much (an assign ~1.2 µs at 22 fields, ~0.3 µs at 18).
 */
export interface HandheldContext {
  profile: DeviceProfile;
  deps: HandheldDependencies;
  /**
   * Who the device says it is in each poll, from its profile: made once each time it starts, not at each poll, so
   * the connection encodes its DevicePoll again only when its credentials change (see SiteConnection.poll).
   */
  identification: Identification;
  credentials: Credentials;
  settings: DeviceSettings;
  /** Every package the site last listed for this device. */
  packages: readonly string[];
  /** This round's packages still to handle after the current one. */
  queue: readonly string[];
  /** The package being handled; empty between offers. */
  current: string;
  /** How handling the current package is going, once its instructions are in (./offer.ts); null between offers. */
  offer: OfferContext | null;
  /** Per package, why the device last said it is waiting (11037): it says so again only for another reason. */
  deferrals: Readonly<Record<string, string>>;
  /** Packages handled to the end (run, refused, failed): a later poll that lists them again does not rerun them. */
  done: Readonly<Record<string, true>>;
  /** Packages started and not yet handled to the end: how far each got (see OfferProgress). */
  progress: Readonly<Record<string, OfferProgress>>;
  /** The device's files and registry: its changes over its platform's base image (PRISTINE when it has none). */
  state: DeviceState;
  outbox: Outbox;
  /** Makes each status message's Sequence unique per device: `${boot}.${seq}`. */
  boot: string;
  seq: number;
  /** When each report was last sent. */
  reportsSentAt: Readonly<Partial<Record<ReportType, number>>>;
  /** How the poll of this cycle is going: failures being retried, and whether it re-identified. */
  retries: PollRetries;
  /** When the device polls. */
  polls: PollTimes;
}

/** How the poll of the current cycle is going; NO_RETRIES while nothing went wrong. */
export interface PollRetries {
  /** Consecutive failures of the poll being retried. */
  readonly attempts: number;
  /** How long the site asked to wait after the last failure (Retry-After), if it did. */
  readonly retryAfterMs: number | null;
  /** The device has already polled again this cycle because the site refused its credentials: once per cycle. */
  readonly reidentified: boolean;
}

export interface PollTimes {
  /** When the first poll is due; every later one follows from the start of the cycle before (see nextPollAt). */
  readonly firstAt: number;
  /** When the last poll cycle started. */
  readonly lastAt: number | null;
  /** When the poll the device waits for in idle is due: drawn on entering idle; now, when started to poll at once. */
  readonly dueAt: number;
}

/**
 * One package a device was offered, from its instructions to the end of handling it (./offer.ts). What else it
 * needs (profile, credentials, files and registry, settings) is the device's own, in the context around it.
 */
export interface OfferContext {
  instructions: Instructions;
  verdict: Verdict;
  /** How far the device got with this package before the simulator last stopped, if it had started it. */
  resumeFrom: OfferProgress | undefined;
  /** The lowest-metric HTTP source, once located. */
  sourceUrl: string;
  /** Bytes of an interrupted download, resumed from at the next attempt. */
  partial: Buffer | null;
  content: DownloadedContent;
  /** Failed attempts of the download being retried, and the wait the site asked for after the last (Retry-After). */
  retries: { attempts: number; retryAfterMs: number | null };
  /** Free bytes where the package is saved (its LocalDestination's volume), when the offer started. */
  freeBytes: number;
  /** When the program's maximum run time is up, restarts included; set when it starts. */
  deadline: number;
  /** A script that rebooted the device, to continue after the restart. */
  resume: ScriptResume | null;
  /** The site refused the device's credentials (401): it must poll again to be known, then carry on. */
  identityLost: boolean;
}

/**
 * A step of an offer that has an effect, kept in the device's memory (DeviceMemory) with the status message that
 * marks it, so that a restarted simulator resumes where the device was and never runs a program twice: a
 * configuration package's documents downloaded; the command started; a restart pending (with what the command
 * changed on the device, and whether a script was to continue after it); `done` when the package is handled for good.
 * Package bytes are not kept: a script cut off by a simulator restart is reported interrupted, not continued.
 */
export type OfferProgress =
  | { step: 'downloaded'; documents: Record<string, string> }
  | { step: 'started' }
  | { step: 'restartPending'; state: DeviceState; scriptToContinue: boolean }
  | { step: 'done' };

/** Every event a handheld takes from outside: the answers of its site line. */
export type HandheldEvent = SiteAnswer;

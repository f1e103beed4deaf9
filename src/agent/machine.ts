/**
 * The Mobile Device Legacy Client's lifecycle, as one statechart.
 *
 *   starting ─► idle ─poll due─► polling ─► evaluating ─► fetchingInstructions ─► offer ─► evaluating ─► … ─► reporting ─► inventorying ─► idle
 *      │                           ├─ nothing to do, nothing to send ─► idle
 *      │                       pollBackoff (retries, then gives up until the next interval)
 *      └─ started because its poll is due (woken from sleep) ─► polling
 *
 * Each poll names the device (DevicePoll) and gets back the packages that apply to it; each package it has not
 * handled yet is an `offer` (./offer.ts, a child statechart) once its instructions are in. Every outcome is a
 * status message in the outbox, delivered at the end of the round and whenever an offer asks; the reports the poll
 * response enabled follow. The machine is data: HTTP, timers and randomness live in the actors and in the site port
 * given as input. Exchanges go through the port's site line (./site-line.ts): a state asks on entry and handles
 * the `<exchange>.done` or `<exchange>.failed` answer.
 */
import { assign, sendTo, setup } from 'xstate';
import { DEFAULT_DEVICE_SETTINGS, type DeviceSettings } from '../domain/client-settings.js';
import { PRISTINE, type DeviceState } from '../device/device-state.js';
import { DEVICE_MESSAGE, PARAMETER, type DeviceMessageKey } from '../domain/device-status.js';
import { errorText, type Logger } from '../logging.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import type { PollResponse } from '../protocol/documents/poll-response.js';
import type { ReportType } from '../protocol/wire.js';
import type { Random } from '../random.js';
import { identificationOf } from './device-identity.js';
import type { DeviceProfile } from './device-profile.js';
import { offerMachine, retryAfterOf, retryDelay, type OfferEvent, type OfferInput, type OfferOutcome, type OfferProgress } from './offer.js';
import { dueReports, reportsAreDue } from './reports.js';
import { isUnauthorized, type Credentials, type PollAnswer } from './site-connection.js';
import { siteLineOf, type SiteAnswer, type SitePort, type SiteRequest } from './site-line.js';
import { EMPTY_OUTBOX, withoutDelivered, type Delivery, type Outbox } from './status-outbox.js';

/** What a handheld needs from the world; shared by a fleet, except the logger (a per-device child). */
export interface HandheldDependencies {
  /** The site, and the clock every delay (the wait for the next poll included) runs on. */
  site: SitePort;
  random: Random;
  logger: Logger;
}

/** What a device keeps across a restart of the simulator (see simulator/device-state-store.ts). */
export type DeviceMemory = Pick<HandheldContext, (typeof MEMORY_FIELDS)[number]>;

/** The fields of a device's context it remembers (DeviceMemory). */
export const MEMORY_FIELDS = ['credentials', 'outbox', 'boot', 'seq', 'done', 'progress', 'state', 'reportsSentAt'] as const;

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

/** The part of a device's context it must remember across a restart. */
export function memoryOf(context: HandheldContext): DeviceMemory {
  const { credentials, outbox, boot, seq, done, progress, state, reportsSentAt } = context;
  return { credentials, outbox, boot, seq, done, progress, state, reportsSentAt };
}

/**
 * Kept to at most 19 top-level fields (18 now), what changes together grouped: each assign copies the context with
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

const NO_RETRIES: PollRetries = Object.freeze({ attempts: 0, retryAfterMs: null, reidentified: false });

export interface PollTimes {
  /** When the first poll is due; every later one follows from the start of the cycle before (see nextPollAt). */
  readonly firstAt: number;
  /** When the last poll cycle started. */
  readonly lastAt: number | null;
  /** When the poll the device waits for in idle is due: drawn on entering idle; now, when started to poll at once. */
  readonly dueAt: number;
}

/** Every event a handheld takes: answers from its site line, and its offer's requests. */
export type HandheldEvent = SiteAnswer | OfferEvent;

const now = (context: HandheldContext) => context.deps.site.clock.now();
const lineOf = ({ context }: { context: HandheldContext }) => siteLineOf(context.deps.site);

/** What an offer starts from: the instructions that brought the device to it. */
function offerInputOf(context: HandheldContext, event: HandheldEvent): OfferInput {
  if (event.type !== 'fetchInstructions.done') throw new Error(`an offer starts from its instructions, not from ${event.type}`);
  return {
    packageId: context.current,
    instructions: event.output,
    profile: context.profile,
    deps: context.deps,
    credentials: context.credentials,
    state: context.state,
    retry: { count: context.settings.client.failureRetryCount, intervalMs: context.settings.client.failureRetryIntervalMs },
    resumeFrom: context.progress[context.current],
  };
}

/** Shared by every device that has nothing in progress: an idle device's memory costs no object of its own. */
const NOTHING_IN_PROGRESS: Readonly<Record<string, OfferProgress>> = Object.freeze({});

export const handheldMachine = setup({
  types: {
    context: {} as HandheldContext,
    input: {} as HandheldInput,
    events: {} as HandheldEvent,
  },
  actors: { handleOffer: offerMachine },
  delays: {
    untilNextPoll: ({ context }) => Math.max(0, context.polls.dueAt - now(context)),
    retryDelay: ({ context }) =>
      retryDelay(context.settings.client.failureRetryIntervalMs, context.retries.attempts, context.deps.random, context.retries.retryAfterMs),
  },
  guards: {
    /** Started because its poll is due (pollsAtOnce): its due time is set from the start, not drawn in idle. */
    startedToPoll: ({ context }) => !Number.isNaN(context.polls.dueAt),
    canRetry: ({ context }) => context.retries.attempts < context.settings.client.failureRetryCount,
    /** The site refused the device's credentials, and it has not polled again for that this cycle. */
    identityLost: ({ context }, params: { error: unknown }) => !context.retries.reidentified && isUnauthorized(params.error),
    offerLostIdentity: ({ context }, params: { outcome: OfferOutcome }) => !context.retries.reidentified && params.outcome.identityLost,
    hasOfferToHandle: ({ context }) => context.queue.length > 0,
    hasStatusToDeliver: ({ context }) => context.outbox.length > 0,
    reportsDue: ({ context }) => reportsAreDue(context),
    deferralAlreadySaid: ({ context }, params: OfferEvent) =>
      params.type === 'offer.record' && params.message === 'packageDeferred' && context.deferrals[params.packageId] === params.parameters[PARAMETER.reason],
    nothingToDo: ({ context }, params: { answer: PollAnswer }) =>
      context.outbox.length === 0 &&
      pendingPackages(context, params.answer.policy).length === 0 &&
      !reportsAreDue({ ...context, settings: settingsAfter(context.settings, params.answer.policy) }),
  },
  actions: {
    /** Asks the site line for an exchange; its answer comes back as an event. */
    // replyTo before the spread: a key added after a spread makes V8 build the object's shape anew (~1 µs an exchange).
    ask: sendTo(lineOf, ({ self }, request: SiteRequest) => ({ replyTo: self, ...request })),
    askToDeliver: sendTo(lineOf, ({ context, self }) => ({
      type: 'deliverStatus' as const,
      credentials: context.credentials,
      outbox: context.outbox,
      replyTo: self,
    })),
    askToReport: sendTo(lineOf, ({ context, self }) => ({
      type: 'sendReports' as const,
      credentials: context.credentials,
      reports: dueReports(context),
      replyTo: self,
    })),
    countFailure: assign({
      retries: ({ context: { retries } }, params: { error: unknown }) => ({
        attempts: retries.attempts + 1,
        retryAfterMs: retryAfterOf(params.error),
        reidentified: retries.reidentified,
      }),
    }),
    resetAttempts: assign({ retries: ({ context }) => withoutFailures(context.retries) }),
    schedulePoll: assign({ polls: ({ context }) => ({ firstAt: context.polls.firstAt, lastAt: context.polls.lastAt, dueAt: nextPollAt(context) }) }),
    // A cycle starts in idle, where no failure is being retried: only `reidentified` is left from the cycle before.
    notePollStarted: assign({
      polls: ({ context }) => ({ firstAt: context.polls.firstAt, lastAt: now(context), dueAt: context.polls.dueAt }),
      retries: NO_RETRIES,
    }),
    /** The site no longer knows the token: the next poll introduces the device afresh, as its first did. */
    forgetCredentials: assign(({ context }) => ({
      credentials: { uuid: context.credentials.uuid, auth: '', timestamp: '' },
      retries: { attempts: context.retries.attempts, retryAfterMs: context.retries.retryAfterMs, reidentified: true },
    })),
    /** Takes the poll answer: the settings it carries, the values to echo, and the packages still to handle. */
    acceptPolicy: assign(({ context }, { answer }: { answer: PollAnswer }) => ({
      credentials: credentialsAfter(context.credentials, answer),
      settings: settingsAfter(context.settings, answer.policy),
      packages: answer.policy.packages,
      queue: pendingPackages(context, answer.policy),
      retries: withoutFailures(context.retries),
    })),
    takeNextOffer: assign(({ context }) => ({ current: context.queue[0] ?? '', queue: context.queue.slice(1) })),
    /** What the offer changed on the device: handled for good, files and registry, settings applied. */
    takeOutcome: assign(({ context }, { outcome }: { outcome: OfferOutcome }) => ({
      current: '',
      ...(outcome.done && { done: { ...context.done, [context.current]: true as const }, progress: withoutProgress(context.progress, context.current) }),
      ...(outcome.state && { state: outcome.state }),
      ...(outcome.settings && { profile: { ...context.profile, settings: outcome.settings } }),
    })),
    /** Records a status message in the outbox, and the step of the offer it marks (one change, so one save). */
    record: assign(({ context }, params: { packageId: string; message: DeviceMessageKey; parameters: Record<string, string>; progress?: OfferProgress }) => {
      const seq = context.seq + 1;
      const reason = params.parameters[PARAMETER.reason];
      const step = params.progress;
      return {
        seq,
        ...(step?.step === 'done' && {
          done: { ...context.done, [params.packageId]: true as const },
          progress: withoutProgress(context.progress, params.packageId),
        }),
        ...(step && step.step !== 'done' && { progress: { ...context.progress, [params.packageId]: step } }),
        ...(params.message === 'packageDeferred' && reason !== undefined && { deferrals: { ...context.deferrals, [params.packageId]: reason } }),
        outbox: [
          ...context.outbox,
          {
            packageId: params.packageId,
            messageId: DEVICE_MESSAGE[params.message],
            time: now(context),
            // Zero-padded, so a device's messages sort in the order it recorded them.
            parameters: { [PARAMETER.sequence]: `${context.boot}.${String(seq).padStart(8, '0')}`, ...params.parameters },
          },
        ],
      };
    }),
    removeDelivered: assign({ outbox: ({ context }, params: { delivery: Delivery }) => withoutDelivered(context.outbox, new Set(params.delivery.delivered)) }),
    noteReportsSent: assign({
      reportsSentAt: ({ context }, params: { sent: ReportType[] }) => ({
        ...context.reportsSentAt,
        ...Object.fromEntries(params.sent.map((type) => [type, now(context)])),
      }),
    }),
    log: ({ context }, params: { level: 'debug' | 'info' | 'warn'; message: string; error?: unknown }) => {
      // Quiet by default at fleet scale: a filtered level costs a check, not a metadata object per device event.
      if (!context.deps.logger.isLevelEnabled(params.level)) return;
      context.deps.logger.log(params.level, params.message, {
        ...(context.current !== '' && { packageId: context.current }),
        server: context.deps.site.server,
        ...(params.error !== undefined && { error: errorText(params.error) }),
      });
    },
  },
}).createMachine({
  id: 'handheld',
  context: ({ input }) => {
    // A device started because its poll is due polls at once (see `starting`): its poll cycle starts now, as
    // notePollStarted starts one after the wait in idle (here, not in an action: one copy of the context less per
    // wake). Any other draws its due time in idle.
    const now = input.deps.site.clock.now();
    const polls = input.resting?.polls ?? { firstAt: input.firstPollAt ?? now, lastAt: null, dueAt: Number.NaN };
    // Poll times and retries are written out field by field, never spread: a spread that adds or changes a field
    // gives V8 a new shape to build, a µs each time.
    const started = { firstAt: polls.firstAt, lastAt: input.pollsAtOnce ? now : polls.lastAt, dueAt: input.pollsAtOnce ? now : Number.NaN };
    if (!input.resting) return freshContext(input, started);
    const { profile, credentials } = input.resting;
    // New keys before the spread, not after it: after it, V8 makes the object's shape anew each time (µs per wake).
    return { deps: input.deps, identification: identificationOf(profile, credentials.uuid), ...input.resting, retries: NO_RETRIES, polls: started };
  },
  on: {
    'offer.record': [{ guard: { type: 'deferralAlreadySaid', params: ({ event }) => event } }, { actions: { type: 'record', params: ({ event }) => event } }],
    'offer.deliver': { actions: 'askToDeliver' },
    // Delivered while the device had moved on (a program that outran its delivery): what the site took leaves the
    // outbox all the same.
    'deliverStatus.done': { actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
  },
  // A device introduces itself with its first poll, not when the simulator starts it: a staggered fleet arrives
  // staggered, and an idle fleet costs the site nothing.
  initial: 'starting',
  states: {
    // A device the fleet put to sleep in idle (simulator/dormant-device.ts) is started again when its poll is due, and
    // takes the transition its own poll timer would have. Started afresh with its context, not restored from a
    // snapshot: restoring walks the whole context (files, registry, outbox) for actors to revive, at every wake.
    starting: {
      always: [{ guard: 'startedToPoll', target: 'polling' }, { target: 'idle' }],
    },
    idle: {
      entry: 'schedulePoll',
      // The poll interval runs from the start of a poll cycle, not from its last retry.
      after: { untilNextPoll: { target: 'polling', actions: 'notePollStarted' } },
    },

    polling: {
      entry: {
        type: 'ask',
        params: ({ context }) => ({
          type: 'poll',
          credentials: context.credentials,
          identification: context.identification,
        }),
      },
      on: {
        'poll.done': [
          // Most polls find nothing to do and nothing to send: straight back to idle.
          {
            guard: { type: 'nothingToDo', params: ({ event }) => ({ answer: event.output }) },
            target: 'idle',
            actions: { type: 'acceptPolicy', params: ({ event }) => ({ answer: event.output }) },
          },
          { target: 'evaluating', actions: { type: 'acceptPolicy', params: ({ event }) => ({ answer: event.output }) } },
        ],
        'poll.failed': [
          {
            // A token the site no longer takes (it lost its database, say): poll again at once without it.
            guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) },
            target: 'polling',
            reenter: true,
            actions: [
              'forgetCredentials',
              { type: 'log', params: ({ event }) => ({ level: 'info', message: 'site refused the token, polling afresh', error: event.error }) },
            ],
          },
          {
            guard: 'canRetry',
            target: 'pollBackoff',
            actions: [
              { type: 'countFailure', params: ({ event }) => ({ error: event.error }) },
              { type: 'log', params: ({ event }) => ({ level: 'info', message: 'poll failed, will retry', error: event.error }) },
            ],
          },
          {
            // Still delivers what it holds (an empty outbox sends nothing): the site may take status but not polls.
            target: 'reporting',
            actions: [
              'resetAttempts',
              { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'poll failed, giving up until the next poll', error: event.error }) },
            ],
          },
        ],
      },
    },
    pollBackoff: { after: { retryDelay: 'polling' } },

    evaluating: {
      // Packages all deferred without a record (not yet started, say) leave nothing to deliver.
      always: [
        { guard: 'hasOfferToHandle', target: 'fetchingInstructions', actions: 'takeNextOffer' },
        { guard: 'hasStatusToDeliver', target: 'reporting' },
        { guard: 'reportsDue', target: 'inventorying' },
        { target: 'idle' },
      ],
    },

    fetchingInstructions: {
      entry: { type: 'ask', params: ({ context }) => ({ type: 'fetchInstructions', credentials: context.credentials, packageId: context.current }) },
      on: {
        'fetchInstructions.done': 'offer',
        'fetchInstructions.failed': [
          { guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) }, target: 'polling', actions: 'forgetCredentials' },
          {
            target: 'evaluating',
            actions: {
              type: 'log',
              params: ({ event }) => ({ level: 'warn', message: 'instructions unavailable, deferring to the next poll', error: event.error }),
            },
          },
        ],
      },
    },

    offer: {
      invoke: {
        id: 'offer',
        src: 'handleOffer',
        input: ({ context, event }) => offerInputOf(context, event),
        onDone: [
          {
            guard: { type: 'offerLostIdentity', params: ({ event }) => ({ outcome: event.output }) },
            target: 'polling',
            actions: [{ type: 'takeOutcome', params: ({ event }) => ({ outcome: event.output }) }, 'forgetCredentials'],
          },
          { target: 'evaluating', actions: { type: 'takeOutcome', params: ({ event }) => ({ outcome: event.output }) } },
        ],
      },
    },

    reporting: {
      entry: 'askToDeliver',
      on: {
        'deliverStatus.done': [
          { guard: 'reportsDue', target: 'inventorying', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
          { target: 'idle', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
        ],
        'deliverStatus.failed': [
          { guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) }, target: 'polling', actions: 'forgetCredentials' },
          { target: 'idle', actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'status not delivered', error: event.error }) } },
        ],
      },
    },

    /** Inventory and collected files the poll response asked for, each at its interval. */
    inventorying: {
      entry: 'askToReport',
      on: {
        'sendReports.done': { target: 'idle', actions: { type: 'noteReportsSent', params: ({ event }) => ({ sent: event.output }) } },
        'sendReports.failed': [
          { guard: { type: 'identityLost', params: ({ event }) => ({ error: event.error }) }, target: 'polling', actions: 'forgetCredentials' },
          { target: 'idle', actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'reports not sent', error: event.error }) } },
        ],
      },
    },
  },
});

/** A device's context when the simulator first starts it: what it remembered from an earlier run, if anything. */
function freshContext(input: HandheldInput, polls: PollTimes): HandheldContext {
  const identification = identificationOf(input.profile);
  // Fields that memory never holds before its spread, as in a woken device's context.
  return {
    deps: input.deps,
    identification,
    retries: NO_RETRIES,
    polls,
    profile: input.profile,
    credentials: { uuid: identification.id, auth: '', timestamp: '' },
    settings: DEFAULT_DEVICE_SETTINGS,
    packages: [],
    queue: [],
    current: '',
    deferrals: {},
    done: {},
    progress: NOTHING_IN_PROGRESS,
    state: PRISTINE,
    outbox: EMPTY_OUTBOX,
    boot: (input.startedAt ?? input.deps.site.clock.now()).toString(36),
    seq: 0,
    reportsSentAt: {},
    ...input.memory,
  };
}

/**
 * When the next poll is due: before the first poll, when the fleet staggered it; after that, the first whole
 * interval after the last cycle's start that is still ahead, so a cycle whose retries outlast the interval does not
 * poll again at once, and a staggered fleet keeps its stagger. ±2% jitter per poll keeps devices from drifting back
 * into step. Drawn once per wait, on entering idle.
 */
function nextPollAt(context: HandheldContext): number {
  const { firstAt, lastAt: start } = context.polls;
  if (start === null) return firstAt;
  const interval = Math.round(context.settings.client.pollIntervalMs * (0.98 + 0.04 * context.deps.random.next()));
  return start + Math.max(1, Math.ceil((now(context) - start) / interval)) * interval;
}

/** The retries of a cycle whose poll went through, or was given up: what is left is whether it re-identified. */
function withoutFailures(retries: PollRetries): PollRetries {
  return retries.attempts === 0 && retries.retryAfterMs === null ? retries : { attempts: 0, retryAfterMs: null, reidentified: retries.reidentified };
}

/** The credentials after a poll answer: the same object when nothing changed, so an unchanged device is not saved again. */
function credentialsAfter(credentials: Credentials, answer: PollAnswer): Credentials {
  const auth = answer.auth ?? credentials.auth;
  const timestamp = answer.timestamp ?? credentials.timestamp;
  return auth === credentials.auth && timestamp === credentials.timestamp ? credentials : { uuid: credentials.uuid, auth, timestamp };
}

/** A device's progress without one package's (the context is immutable). */
function withoutProgress(progress: HandheldContext['progress'], packageId: string): HandheldContext['progress'] {
  if (!(packageId in progress)) return progress;
  const { [packageId]: _handled, ...rest } = progress;
  return Object.keys(rest).length === 0 ? NOTHING_IN_PROGRESS : rest;
}

/** The settings after a poll response: a group the server left out keeps its previous value. */
function settingsAfter(settings: DeviceSettings, policy: PollResponse): DeviceSettings {
  return {
    client: policy.client ?? settings.client,
    softwareInventory: policy.softwareInventory ?? settings.softwareInventory,
    fileCollection: policy.fileCollection ?? settings.fileCollection,
    machineInventory: policy.machineInventory ?? settings.machineInventory,
  };
}

/** The packages of a poll response this device has still to handle. */
function pendingPackages(context: HandheldContext, policy: PollResponse): string[] {
  return policy.packages.filter((id) => context.done[id] !== true);
}

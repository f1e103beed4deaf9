/**
 * The Mobile Device Legacy Client's lifecycle, as one statechart.
 *
 *   idle ─poll due─► (registering, the first time) ─► polling ─► evaluating ─► offer ─► … ─► evaluating ─► reporting ─► idle
 *
 * `offer` handles one advertisement: fetch its instructions, judge it (expired, not yet available, wrong platform,
 * optional, connectivity, storage), then either apply a configuration package or locate, download (hash-checked)
 * and run a program. Every failure is a state or a transition with the status message ConfigMgr would show.
 * The machine is data: HTTP, timers and randomness live in the actors and in the dependencies given as input.
 * Exchanges with the site go through the connection's site line (./site-line.ts): a state asks on entry and handles
 * the `<exchange>.done` or `<exchange>.failed` answer. Work on the device (running a program, evaluating settings)
 * is an invoked actor.
 */
import { assign, fromPromise, sendTo, setup } from 'xstate';
import { DEVICE_FLAGS, HIGH_BANDWIDTH_KBPS } from '../domain/advertisement.js';
import { DEFAULT_CLIENT_SETTINGS, type ClientSettings } from '../domain/client-settings.js';
import { PACKAGE_TYPE } from '../domain/package.js';
import { PROGRAM_FLAG_WINDOWS_CE, RESTART_EXIT_CODES } from '../domain/program.js';
import { STATUS, type StatusKey, type StatusMessage } from '../domain/status-message.js';
import type { Logger } from '../logging.js';
import type { DeviceIdentity, InstructionResponse, Offer, PackageLocationResponse, PollResponse } from '../protocol/documents.js';
import type { Random } from '../random.js';
import { evaluateConfiguration, type ConfigurationEvaluation } from './configuration-evaluator.js';
import type { DeviceProfile } from './device-profile.js';
import { DownloadError, type DownloadedContent } from './downloader.js';
import { runProgram, type ProgramResult } from './program-runner.js';
import { SiteRequestError, type Credentials, type SiteConnection } from './site-connection.js';
import { siteLineOf, type SiteAnswer, type SiteRequest } from './site-line.js';
import { EMPTY_OUTBOX, outboxSize, withoutDelivered, type Delivery, type Outbox } from './status-outbox.js';

/**
 * What a handheld needs from the world; shared by a fleet, except the logger (a per-device child). Every delay,
 * the wait for the next poll included, runs on the connection's clock.
 */
export interface HandheldDependencies {
  connection: SiteConnection;
  random: Random;
  logger: Logger;
}

/** What a device keeps across a restart of the simulator (see simulator/device-state-store.ts). */
export type DeviceMemory = Pick<HandheldContext, 'outbox' | 'boot' | 'seq' | 'done' | 'received'>;

export interface HandheldInput {
  profile: DeviceProfile;
  deps: HandheldDependencies;
  /** When the first poll is due after registering; staggers a fleet. Defaults to at once. */
  firstPollAt?: number;
  /** What the device remembered when the simulator last stopped. */
  memory?: DeviceMemory;
}

/** The part of a device's context it must remember across a restart. */
export function memoryOf(context: HandheldContext): DeviceMemory {
  const { outbox, boot, seq, done, received } = context;
  return { outbox, boot, seq, done, received };
}

/** The advertisement being handled, and what has been learnt about it so far. */
interface CurrentOffer {
  offer: Offer;
  instruction: InstructionResponse | null;
  sourceUrl: string | null;
  /** Bytes of an interrupted download, resumed from at the next attempt. */
  partial: Buffer | null;
  content: DownloadedContent | null;
}

export interface HandheldContext {
  profile: DeviceProfile;
  deps: HandheldDependencies;
  credentials: Credentials;
  settings: ClientSettings;
  policyVersion: number | null;
  /** Every advertisement the site last listed for this device. */
  offers: Offer[];
  /** This round's offers still to handle. */
  queue: Offer[];
  current: CurrentOffer | null;
  /** Advertisement id → revision handled to the end (run, rejected, expired): a re-poll does not run it again. */
  done: Record<string, number>;
  /** Advertisement id → revision for which 10002 was sent. */
  received: Record<string, number>;
  outbox: Outbox;
  /** Makes status message ids unique per device: `${uuid}:${boot}:${seq}`. */
  boot: string;
  seq: number;
  /** Consecutive failures of the step being retried. */
  attempts: number;
  /** How long the site asked to wait after the last failure (Retry-After), if it did. */
  retryAfterMs: number | null;
  /** When the first poll is due; every later one follows from the start of the cycle before (see nextPollAt). */
  firstPollAt: number;
  lastPollAt: number | null;
}

const now = (context: HandheldContext) => context.deps.connection.clock.now();
const lineOf = ({ context }: { context: HandheldContext }) => siteLineOf(context.deps.connection);
const instructionOf = (context: HandheldContext) => context.current!.instruction!;

/**
 * Capped exponential backoff from the site's Failure Retry Interval, with jitter so a fleet does not retry in
 * step, and never sooner than the site's Retry-After.
 */
export function retryDelay(baseMs: number, attempt: number, random: Random, retryAfterMs: number | null): number {
  const capped = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), baseMs * 8);
  return Math.max(Math.round(capped * (0.5 + 0.5 * random.next())), retryAfterMs ?? 0);
}

/** The Retry-After an error carries, if the site sent one. */
function retryAfterOf(error: unknown): number | null {
  return error instanceof SiteRequestError || error instanceof DownloadError ? error.retryAfterMs : null;
}

export const handheldMachine = setup({
  types: {
    context: {} as HandheldContext,
    input: {} as HandheldInput,
    events: {} as SiteAnswer,
  },
  actors: {
    runProgram: fromPromise<ProgramResult, HandheldContext>(({ input, signal }) =>
      runProgram({
        commandLine: instructionOf(input).program!.commandLine,
        files: input.current!.content!.files,
        behaviour: input.profile.programBehaviour,
        random: input.deps.random,
        clock: input.deps.connection.clock,
        signal,
      }),
    ),
    evaluateConfiguration: fromPromise<ConfigurationEvaluation, HandheldContext>(async ({ input }) =>
      evaluateConfiguration(instructionOf(input).configurationItems, input.profile.platform, input.profile.settings),
    ),
  },
  delays: {
    untilNextPoll: ({ context }) => Math.max(0, nextPollAt(context) - now(context)),
    retryDelay: ({ context }) => retryDelay(context.settings.failureRetryIntervalMs, context.attempts, context.deps.random, context.retryAfterMs),
    maxRunTime: ({ context }) => instructionOf(context).program!.maxRunTimeMinutes * 60_000,
    restart: ({ context }) => context.profile.programBehaviour.restartSeconds * 1000,
  },
  guards: {
    registered: ({ context }) => context.credentials.authToken !== null,
    canRetry: ({ context }) => context.attempts < context.settings.failureRetryCount,
    unauthorized: (_, params: { error: unknown }) => params.error instanceof SiteRequestError && params.error.status === 401,
    hasOfferToHandle: ({ context }) => context.queue.length > 0,
    outboxEmpty: ({ context }) => outboxSize(context.outbox) === 0,
    nothingToDo: ({ context }, params: { policy: PollResponse }) => outboxSize(context.outbox) === 0 && pendingOffers(context, params.policy).length === 0,
    expired: ({ context }) => {
      const expiresAt = instructionOf(context).advertisement.expiresAt;
      return expiresAt !== null && now(context) >= expiresAt;
    },
    notYetAvailable: ({ context }) => now(context) < instructionOf(context).advertisement.availableAt,
    isConfigurationPackage: ({ context }) => instructionOf(context).package.packageType === PACKAGE_TYPE.configuration,
    /** Desktop programs (no WINDOWS_CE flag) and programs for other mobile platforms never run here. */
    wrongPlatform: ({ context }) => {
      const program = instructionOf(context).program;
      return !program || (program.flags & PROGRAM_FLAG_WINDOWS_CE) === 0 || !program.platforms.includes(context.profile.platform);
    },
    optionalDeclined: ({ context }) => !instructionOf(context).advertisement.mandatory && !context.profile.runsOptionalPrograms,
    connectivityNotMet: ({ context }) => {
      const flags = instructionOf(context).advertisement.deviceFlags;
      const { kind, bandwidthKBps } = context.profile.connectivity;
      return ((flags & DEVICE_FLAGS.docked) !== 0 && kind !== 'docked') || ((flags & DEVICE_FLAGS.highBandwidth) !== 0 && bandwidthKBps <= HIGH_BANDWIDTH_KBPS);
    },
    largerThanFreeStorage: ({ context }) => instructionOf(context).package.size > context.profile.freeStorageBytes,
    contentMismatch: (_, params: { error: unknown }) =>
      params.error instanceof DownloadError && (params.error.failure === 'hash' || params.error.failure === 'size'),
    hasHttpSource: (_, params: { location: PackageLocationResponse }) => params.location.sources.some((s) => s.type === 'HTTP'),
    restartRequested: (_, params: { result: ProgramResult }) => (RESTART_EXIT_CODES as readonly number[]).includes(params.result.exitCode),
    exitCodeIsSuccess: ({ context }, params: { result: ProgramResult }) => instructionOf(context).program!.successExitCodes.includes(params.result.exitCode),
  },
  actions: {
    /** Asks the site line for an exchange; its answer comes back as an event. */
    ask: sendTo(lineOf, ({ self }, request: SiteRequest) => ({ ...request, replyTo: self })),
    askToDeliver: sendTo(lineOf, ({ context, self }) => ({ type: 'deliverStatus' as const, credentials: context.credentials, outbox: context.outbox, replyTo: self })),
    storeAuthToken: assign({ credentials: ({ context }, params: { authToken: string }) => ({ ...context.credentials, authToken: params.authToken }) }),
    forgetAuthToken: assign({ credentials: ({ context }) => ({ ...context.credentials, authToken: null }) }),
    countFailure: assign(({ context }, params: { error: unknown }) => ({ attempts: context.attempts + 1, retryAfterMs: retryAfterOf(params.error) })),
    resetAttempts: assign({ attempts: 0, retryAfterMs: null }),
    /** Keeps what an interrupted download received; a content mismatch starts over. */
    keepPartial: assign({
      current: ({ context }, params: { error: unknown }) => ({ ...context.current!, partial: params.error instanceof DownloadError ? params.error.partial : null }),
    }),
    notePollStarted: assign({ lastPollAt: ({ context }) => now(context) }),
    /** Takes the policy; an unchanged policy re-offers what was not finished (e.g. not yet available). */
    acceptPolicy: assign(({ context }, { policy }: { policy: PollResponse }) => ({
      settings: policy.settings,
      policyVersion: policy.policyVersion,
      offers: policy.unchanged ? context.offers : policy.offers,
      queue: pendingOffers(context, policy),
      attempts: 0,
      retryAfterMs: null,
    })),
    takeNextOffer: assign(({ context }) => ({
      current: { offer: context.queue[0]!, instruction: null, sourceUrl: null, partial: null, content: null },
      queue: context.queue.slice(1),
      attempts: 0,
      retryAfterMs: null,
    })),
    storeInstruction: assign({ current: ({ context }, params: { instruction: InstructionResponse }) => ({ ...context.current!, instruction: params.instruction }) }),
    storeSource: assign({
      current: ({ context }, params: { location: PackageLocationResponse }) => {
        const sources = params.location.sources.filter((s) => s.type === 'HTTP');
        const best = sources.reduce((a, b) => (b.metric < a.metric ? b : a));
        return { ...context.current!, sourceUrl: best.location };
      },
    }),
    storeContent: assign({ current: ({ context }, params: { content: DownloadedContent }) => ({ ...context.current!, content: params.content }) }),
    markDone: assign({ done: ({ context }) => ({ ...context.done, [context.current!.offer.advertisementId]: context.current!.offer.revision }) }),
    /** 10002, once per advertisement revision. */
    recordReceived: assign(({ context }) => {
      const { advertisementId, revision } = context.current!.offer;
      if (context.received[advertisementId] === revision) return {};
      return { ...recorded(context, 'advertisementReceived'), received: { ...context.received, [advertisementId]: revision } };
    }),
    record: assign(({ context }, params: { status: StatusKey; details?: Record<string, string> }) => recorded(context, params.status, params.details)),
    recordProgramResult: assign(({ context }, params: { status: StatusKey[]; result: ProgramResult }) => {
      const { exitCode, durationMs } = params.result;
      let next: Partial<HandheldContext> = {};
      for (const status of params.status) {
        next = recorded({ ...context, ...next }, status, { ExitCode: String(exitCode), DurationSeconds: String(Math.round(durationMs / 1000)) });
      }
      return next;
    }),
    applyConfiguration: assign(({ context }, { evaluation }: { evaluation: ConfigurationEvaluation }) => {
      const { advertisementId, packageId } = context.current!.offer;
      const time = now(context);
      let seq = context.seq;
      const results = evaluation.results.map(({ itemId, state }) => ({
        id: `${context.credentials.uuid}:${context.boot}:${++seq}`,
        deviceId: context.credentials.uuid,
        advertisementId,
        packageId,
        itemId,
        state,
        time,
      }));
      return {
        seq,
        profile: { ...context.profile, settings: evaluation.settings },
        outbox: { ...context.outbox, compliance: [...context.outbox.compliance, ...results] },
      };
    }),
    removeDelivered: assign({ outbox: ({ context }, params: { delivery: Delivery }) => withoutDelivered(context.outbox, new Set(params.delivery.delivered)) }),
    log: ({ context }, params: { level: 'debug' | 'info' | 'warn'; message: string; error?: unknown }) => {
      // Quiet by default at fleet scale: a filtered level costs a check, not a metadata object per device event.
      if (!context.deps.logger.isLevelEnabled(params.level)) return;
      context.deps.logger.log(params.level, params.message, {
        advertisementId: context.current?.offer.advertisementId,
        ...(params.error !== undefined && { error: String(params.error) }),
      });
    },
  },
}).createMachine({
  id: 'handheld',
  context: ({ input }) => ({
    profile: input.profile,
    deps: input.deps,
    credentials: { uuid: input.profile.id, authToken: null },
    settings: DEFAULT_CLIENT_SETTINGS,
    policyVersion: null,
    offers: [],
    queue: [],
    current: null,
    done: {},
    received: {},
    outbox: EMPTY_OUTBOX,
    boot: input.deps.connection.clock.now().toString(36),
    seq: 0,
    ...input.memory,
    attempts: 0,
    retryAfterMs: null,
    firstPollAt: input.firstPollAt ?? input.deps.connection.clock.now(),
    lastPollAt: null,
  }),
  // Delivered while the device had moved on (a program that outran its delivery): what the site confirmed leaves
  // the outbox all the same.
  on: { 'deliverStatus.done': { actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } } },
  // A device registers on its first poll, not when the simulator starts it: a staggered fleet registers staggered,
  // and an idle fleet costs the site nothing.
  initial: 'idle',
  states: {
    registering: {
      entry: { type: 'ask', params: ({ context }) => ({ type: 'register', identity: identityOf(context.profile) }) },
      on: {
        'register.done': {
          target: 'polling',
          actions: [{ type: 'storeAuthToken', params: ({ event }) => ({ authToken: event.output }) }, 'resetAttempts', { type: 'log', params: { level: 'info', message: 'registered' } }],
        },
        'register.failed': {
          target: 'registrationBackoff',
          actions: [
            { type: 'countFailure', params: ({ event }) => ({ error: event.error }) },
            { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'registration failed', error: event.error }) },
          ],
        },
      },
    },
    // A device the site does not know can do nothing else, so it retries without a limit.
    registrationBackoff: { after: { retryDelay: 'registering' } },

    idle: {
      // The poll interval runs from the start of a poll cycle, not from its last retry.
      after: {
        untilNextPoll: [
          { guard: 'registered', target: 'polling', actions: 'notePollStarted' },
          { target: 'registering', actions: 'notePollStarted' },
        ],
      },
    },

    polling: {
      entry: { type: 'ask', params: ({ context }) => ({ type: 'poll', credentials: context.credentials, policyVersion: context.policyVersion }) },
      on: {
        'poll.done': [
          // Most polls find nothing to do and nothing to report: straight back to idle.
          {
            guard: { type: 'nothingToDo', params: ({ event }) => ({ policy: event.output }) },
            target: 'idle',
            actions: { type: 'acceptPolicy', params: ({ event }) => ({ policy: event.output }) },
          },
          { target: 'evaluating', actions: { type: 'acceptPolicy', params: ({ event }) => ({ policy: event.output }) } },
        ],
        'poll.failed': [
          // The site forgot this device (e.g. it was rebuilt): register again.
          { guard: { type: 'unauthorized', params: ({ event }) => ({ error: event.error }) }, target: 'registering', actions: 'forgetAuthToken' },
          {
            guard: 'canRetry',
            target: 'pollBackoff',
            actions: [
              { type: 'countFailure', params: ({ event }) => ({ error: event.error }) },
              { type: 'log', params: ({ event }) => ({ level: 'info', message: 'poll failed, will retry', error: event.error }) },
            ],
          },
          {
            // Still reports what it holds (an empty outbox sends nothing): the site may answer reports but not polls.
            target: 'reporting',
            actions: ['resetAttempts', { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'poll failed, giving up until the next poll', error: event.error }) }],
          },
        ],
      },
    },
    pollBackoff: { after: { retryDelay: 'polling' } },

    evaluating: {
      // Offers all deferred without a record (not yet available, say) leave nothing to report.
      always: [
        { guard: 'hasOfferToHandle', target: 'offer', actions: 'takeNextOffer' },
        { guard: 'outboxEmpty', target: 'idle' },
        { target: 'reporting' },
      ],
    },

    offer: {
      initial: 'fetchingInstructions',
      onDone: 'evaluating',
      states: {
        fetchingInstructions: {
          entry: {
            type: 'ask',
            params: ({ context }) => ({ type: 'fetchInstructions', credentials: context.credentials, advertisementId: context.current!.offer.advertisementId }),
          },
          on: {
            'fetchInstructions.done': { target: 'judging', actions: [{ type: 'storeInstruction', params: ({ event }) => ({ instruction: event.output }) }, 'recordReceived'] },
            'fetchInstructions.failed': {
              target: 'deferred',
              actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'instructions unavailable, deferring to the next poll', error: event.error }) },
            },
          },
        },
        judging: {
          always: [
            { guard: 'expired', target: 'done', actions: [{ type: 'record', params: { status: 'advertisementExpired' } }, 'markDone'] },
            { guard: 'notYetAvailable', target: 'deferred' },
            { guard: 'isConfigurationPackage', target: 'applyingConfiguration' },
            { guard: 'wrongPlatform', target: 'done', actions: [{ type: 'record', params: { status: 'rejectedPlatform' } }, 'markDone'] },
            { guard: 'optionalDeclined', target: 'done', actions: 'markDone' },
            { guard: 'connectivityNotMet', target: 'deferred' },
            {
              guard: 'largerThanFreeStorage',
              target: 'done',
              actions: [{ type: 'record', params: ({ context }) => ({ status: 'contentTooLarge', details: storageDetails(context) }) }, 'markDone'],
            },
            { target: 'locatingContent' },
          ],
        },
        locatingContent: {
          entry: {
            type: 'ask',
            params: ({ context }) => ({
              type: 'locateContent',
              credentials: context.credentials,
              packageId: context.current!.offer.packageId,
              version: instructionOf(context).package.version,
            }),
          },
          on: {
            'locateContent.done': [
              {
                guard: { type: 'hasHttpSource', params: ({ event }) => ({ location: event.output }) },
                target: 'downloading',
                actions: [{ type: 'storeSource', params: ({ event }) => ({ location: event.output }) }, { type: 'record', params: { status: 'downloadStarted' } }],
              },
              {
                target: 'done',
                actions: [{ type: 'record', params: { status: 'downloadFailed', details: { Reason: 'no HTTP source for the package' } } }, 'markDone'],
              },
            ],
            'locateContent.failed': {
              target: 'deferred',
              actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'content location unavailable, deferring to the next poll', error: event.error }) },
            },
          },
        },
        downloading: {
          entry: {
            type: 'ask',
            params: ({ context }) => ({
              type: 'download',
              download: {
                url: context.current!.sourceUrl!,
                expectedSize: instructionOf(context).package.size,
                expectedSha256: instructionOf(context).package.sha256,
                partial: context.current!.partial,
              },
            }),
          },
          on: {
            'download.done': {
              target: 'running',
              actions: [{ type: 'storeContent', params: ({ event }) => ({ content: event.output }) }, 'resetAttempts', { type: 'record', params: { status: 'downloadSucceeded' } }],
            },
            'download.failed': [
              {
                guard: 'canRetry',
                target: 'downloadBackoff',
                actions: [
                  { type: 'countFailure', params: ({ event }) => ({ error: event.error }) },
                  { type: 'keepPartial', params: ({ event }) => ({ error: event.error }) },
                  { type: 'log', params: ({ event }) => ({ level: 'info', message: 'download failed, will retry', error: event.error }) },
                ],
              },
              {
                // The content never matched the source: the program is never run on it.
                guard: { type: 'contentMismatch', params: ({ event }) => ({ error: event.error }) },
                target: 'done',
                actions: [
                  { type: 'record', params: ({ event }) => ({ status: 'downloadFailed', details: { Reason: String(event.error) } }) },
                  { type: 'record', params: ({ event }) => ({ status: 'contentMismatch', details: { Reason: String(event.error) } }) },
                  'markDone',
                ],
              },
              {
                target: 'done',
                actions: [{ type: 'record', params: ({ event }) => ({ status: 'downloadFailed', details: { Reason: String(event.error) } }) }, 'markDone'],
              },
            ],
          },
        },
        downloadBackoff: { after: { retryDelay: 'downloading' } },
        running: {
          // The outbox goes out while the program runs, so the site sees "running" for long installs.
          entry: [
            { type: 'record', params: ({ context }) => ({ status: 'programStarted', details: { CommandLine: instructionOf(context).program!.commandLine } }) },
            'askToDeliver',
          ],
          invoke: {
            src: 'runProgram',
            input: ({ context }) => context,
            onDone: [
              {
                guard: { type: 'restartRequested', params: ({ event }) => ({ result: event.output }) },
                target: 'restarting',
                actions: { type: 'recordProgramResult', params: ({ event }) => ({ status: ['restartPending'], result: event.output }) },
              },
              {
                guard: { type: 'exitCodeIsSuccess', params: ({ event }) => ({ result: event.output }) },
                target: 'done',
                actions: [{ type: 'recordProgramResult', params: ({ event }) => ({ status: ['programSucceeded', 'executionSucceeded'], result: event.output }) }, 'markDone'],
              },
              { target: 'done', actions: [{ type: 'recordProgramResult', params: ({ event }) => ({ status: ['programFailed'], result: event.output }) }, 'markDone'] },
            ],
          },
          after: {
            maxRunTime: {
              target: 'done',
              actions: [
                { type: 'record', params: ({ context }) => ({ status: 'maxRunTimeExceeded', details: { MaxRunTimeMinutes: String(instructionOf(context).program!.maxRunTimeMinutes) } }) },
                'markDone',
              ],
            },
          },
        },
        restarting: {
          // The client reports "restart pending" before it goes down.
          entry: 'askToDeliver',
          after: { restart: { target: 'done', actions: [{ type: 'record', params: { status: 'programSucceeded' } }, { type: 'record', params: { status: 'executionSucceeded' } }, 'markDone'] } },
        },
        applyingConfiguration: {
          invoke: {
            src: 'evaluateConfiguration',
            input: ({ context }) => context,
            onDone: { target: 'done', actions: [{ type: 'applyConfiguration', params: ({ event }) => ({ evaluation: event.output }) }, 'markDone'] },
          },
        },
        /** Not handled this round (not yet available, connectivity, site trouble): offered again at the next poll. */
        deferred: { type: 'final' },
        done: { type: 'final' },
      },
    },

    reporting: {
      entry: 'askToDeliver',
      on: {
        'deliverStatus.done': { target: 'idle', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
      },
    },
  },
});

/** The context after recording one status message about the current advertisement. */
function recorded(context: HandheldContext, status: StatusKey, details: Record<string, string> = {}): Pick<HandheldContext, 'seq' | 'outbox'> {
  const seq = context.seq + 1;
  const message: StatusMessage = {
    id: `${context.credentials.uuid}:${context.boot}:${seq}`,
    deviceId: context.credentials.uuid,
    advertisementId: context.current!.offer.advertisementId,
    packageId: context.current!.offer.packageId,
    messageId: STATUS[status].id,
    time: now(context),
    details,
  };
  return { seq, outbox: { ...context.outbox, status: [...context.outbox.status, message] } };
}

/**
 * When the next poll is due: before the first poll, when the fleet staggered it; after that, the first whole
 * interval after the last cycle's start that is still ahead, so a cycle whose retries outlast the interval does not
 * poll again at once, and a staggered fleet keeps its stagger. ±2% jitter per poll keeps devices from drifting back
 * into step. Read once per wait, on entering idle.
 */
function nextPollAt(context: HandheldContext): number {
  if (context.lastPollAt === null) return context.firstPollAt;
  const interval = Math.round(context.settings.pollIntervalMs * (0.98 + 0.04 * context.deps.random.next()));
  const start = context.lastPollAt;
  return start + Math.max(1, Math.ceil((now(context) - start) / interval)) * interval;
}

/** The offers of a policy this device has still to handle: none while the site disables software distribution. */
function pendingOffers(context: HandheldContext, policy: PollResponse): Offer[] {
  if (!policy.settings.enableSoftwareDistribution) return [];
  const offers = policy.unchanged ? context.offers : policy.offers;
  return offers.filter((o) => context.done[o.advertisementId] !== o.revision);
}

function identityOf(profile: DeviceProfile): DeviceIdentity {
  return { uuid: profile.id, name: profile.name, platform: profile.platform, osVersion: profile.osVersion };
}

function storageDetails(context: HandheldContext): Record<string, string> {
  return { PackageSize: String(instructionOf(context).package.size), FreeStorage: String(context.profile.freeStorageBytes) };
}


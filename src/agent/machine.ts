/**
 * The Mobile Device Legacy Client's lifecycle, as one statechart.
 *
 *   idle ─poll due─► polling ─► evaluating ─► offer ─► … ─► evaluating ─► reporting ─► inventorying ─► idle
 *
 * Each poll names the device (DevicePoll) and gets back the packages that apply to it. `offer` handles one
 * package: fetch its instructions, judge them (expired, not yet started, wrong platform, optional, connection,
 * storage), locate and download the content (size- and hash-checked), then run its command line or, for a
 * configuration package, apply its provisioning documents. Every outcome is a status message in the outbox, as the
 * documented download event status (src/domain/device-status.ts). Reports the poll response asks for follow.
 * The machine is data: HTTP, timers and randomness live in the actors and in the site port given as input.
 * Exchanges go through the port's site line (./site-line.ts): a state asks on entry and handles the
 * `<exchange>.done` or `<exchange>.failed` answer. Work on the device (running a program, evaluating settings) is
 * an invoked actor.
 */
import { assign, fromPromise, sendTo, setup } from 'xstate';
import { HIGH_BANDWIDTH_KBPS } from '../domain/advertisement.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceSettings } from '../domain/client-settings.js';
import { DEVICE_MESSAGE, PARAMETER, REASON, type DeviceMessageKey } from '../domain/device-status.js';
import { PACKAGE_TYPE } from '../domain/package.js';
import { PROGRAM_FLAG_WINDOWS_CE, RESTART_EXIT_CODES } from '../domain/program.js';
import type { Logger } from '../logging.js';
import type { Instructions } from '../protocol/documents/instructions.js';
import type { PackageLocation } from '../protocol/documents/package-location.js';
import type { PollResponse } from '../protocol/documents/poll-response.js';
import { CONNECTION_FLAGS, type ReportType } from '../protocol/wire.js';
import type { Random } from '../random.js';
import { deliveredItems, evaluateConfiguration, type ConfigurationEvaluation } from './configuration-evaluator.js';
import { identificationOf, ipAddressOf } from './device-identity.js';
import type { DeviceProfile } from './device-profile.js';
import { DownloadError, type DownloadedContent } from './downloader.js';
import { dueReports, type InstalledPackage } from './reports.js';
import { runProgram, type ProgramResult } from './program-runner.js';
import { SiteRequestError, type Credentials, type PollAnswer } from './site-connection.js';
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
export type DeviceMemory = Pick<HandheldContext, 'outbox' | 'boot' | 'seq' | 'done' | 'installed' | 'reportsSentAt'>;

export interface HandheldInput {
  profile: DeviceProfile;
  deps: HandheldDependencies;
  /** When the first poll is due; staggers a fleet. Defaults to at once. */
  firstPollAt?: number;
  /** What the device remembered when the simulator last stopped. */
  memory?: DeviceMemory;
}

/** The part of a device's context it must remember across a restart. */
export function memoryOf(context: HandheldContext): DeviceMemory {
  const { outbox, boot, seq, done, installed, reportsSentAt } = context;
  return { outbox, boot, seq, done, installed, reportsSentAt };
}

/** The package being handled, and what has been learnt about it so far. */
interface CurrentOffer {
  packageId: string;
  instructions: Instructions | null;
  sourceUrl: string | null;
  /** Bytes of an interrupted download, resumed from at the next attempt. */
  partial: Buffer | null;
  content: DownloadedContent | null;
}

export interface HandheldContext {
  profile: DeviceProfile;
  deps: HandheldDependencies;
  credentials: Credentials;
  settings: DeviceSettings;
  /** Every package the site last listed for this device. */
  packages: readonly string[];
  /** This round's packages still to handle. */
  queue: readonly string[];
  current: CurrentOffer | null;
  /** Packages handled to the end (run, refused, failed): a later poll that lists them again does not rerun them. */
  done: Readonly<Record<string, true>>;
  /** What installed packages put on the device, for software inventory. */
  installed: readonly InstalledPackage[];
  outbox: Outbox;
  /** Makes each status message's Sequence unique per device: `${boot}.${seq}`. */
  boot: string;
  seq: number;
  /** When each report was last sent. */
  reportsSentAt: Readonly<Partial<Record<ReportType, number>>>;
  /** Consecutive failures of the step being retried. */
  attempts: number;
  /** How long the site asked to wait after the last failure (Retry-After), if it did. */
  retryAfterMs: number | null;
  /** When the first poll is due; every later one follows from the start of the cycle before (see nextPollAt). */
  firstPollAt: number;
  lastPollAt: number | null;
}

const now = (context: HandheldContext) => context.deps.site.clock.now();
const lineOf = ({ context }: { context: HandheldContext }) => siteLineOf(context.deps.site);
const instructionsOf = (context: HandheldContext) => context.current!.instructions!;
const extensionOf = (context: HandheldContext) => instructionsOf(context).extension;
const isConfiguration = (context: HandheldContext) => extensionOf(context)?.content.packageType === PACKAGE_TYPE.configuration;

/** The connection classes a device's link belongs to, as Instructions/Flags names them. */
function connectionClasses({ kind, bandwidthKBps }: DeviceProfile['connectivity']): number {
  const speed = bandwidthKBps > HIGH_BANDWIDTH_KBPS ? CONNECTION_FLAGS.highBandwidth : CONNECTION_FLAGS.lowBandwidth;
  return kind === 'docked' ? speed | CONNECTION_FLAGS.passThrough : speed;
}

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
        commandLine: instructionsOf(input).commandLine,
        files: input.current!.content!.files,
        behaviour: input.profile.programBehaviour,
        random: input.deps.random,
        clock: input.deps.site.clock,
        signal,
      }),
    ),
    evaluateConfiguration: fromPromise<ConfigurationEvaluation, HandheldContext>(async ({ input }) =>
      evaluateConfiguration(deliveredItems(extensionOf(input)!.configurationItems, input.current!.content!.documents), input.profile.platform, input.profile.settings),
    ),
  },
  delays: {
    untilNextPoll: ({ context }) => Math.max(0, nextPollAt(context) - now(context)),
    retryDelay: ({ context }) => retryDelay(context.settings.client.failureRetryIntervalMs, context.attempts, context.deps.random, context.retryAfterMs),
    maxRunTime: ({ context }) => (extensionOf(context)?.program?.maxRunTimeMinutes ?? 120) * 60_000,
    restart: ({ context }) => context.profile.programBehaviour.restartSeconds * 1000,
  },
  guards: {
    canRetry: ({ context }) => context.attempts < context.settings.client.failureRetryCount,
    hasOfferToHandle: ({ context }) => context.queue.length > 0,
    hasStatusToDeliver: ({ context }) => context.outbox.length > 0,
    reportsDue: ({ context }) => dueReports(context).length > 0,
    nothingToDo: ({ context }, params: { answer: PollAnswer }) =>
      context.outbox.length === 0 && pendingPackages(context, params.answer.policy).length === 0 && dueReports({ ...context, settings: settingsAfter(context.settings, params.answer.policy) }).length === 0,
    expired: ({ context }) => {
      const expiresAt = extensionOf(context)?.advertisement.expiresAt ?? null;
      return expiresAt !== null && now(context) >= expiresAt;
    },
    notYetStarted: ({ context }) => now(context) < (instructionsOf(context).startTime ?? 0),
    isConfigurationPackage: ({ context }) => isConfiguration(context),
    /** Desktop programs (no WINDOWS_CE flag) and programs for other mobile platforms never run here. */
    wrongPlatform: ({ context }) => {
      const program = extensionOf(context)?.program;
      return !!program && ((program.flags & PROGRAM_FLAG_WINDOWS_CE) === 0 || !program.platforms.includes(context.profile.platform));
    },
    optionalDeclined: ({ context }) => !instructionsOf(context).required && !isConfiguration(context) && !context.profile.runsOptionalPrograms,
    connectionNotAllowed: ({ context }) => (instructionsOf(context).flags & connectionClasses(context.profile.connectivity)) === 0,
    /** A provisioning document is processed, not stored: only program content needs room. */
    largerThanFreeStorage: ({ context }) => !isConfiguration(context) && instructionsOf(context).packageSize > context.profile.freeStorageBytes,
    contentMismatch: (_, params: { error: unknown }) =>
      params.error instanceof DownloadError && (params.error.failure === 'hash' || params.error.failure === 'size'),
    hasHttpSource: (_, params: { location: PackageLocation }) => params.location.locations.some((l) => l.httpUrl !== null),
    restartRequested: (_, params: { result: ProgramResult }) => (RESTART_EXIT_CODES as readonly number[]).includes(params.result.exitCode),
    exitCodeIsSuccess: ({ context }, params: { result: ProgramResult }) => (extensionOf(context)?.program?.successExitCodes ?? [0]).includes(params.result.exitCode),
  },
  actions: {
    /** Asks the site line for an exchange; its answer comes back as an event. */
    ask: sendTo(lineOf, ({ self }, request: SiteRequest) => ({ ...request, replyTo: self })),
    askToDeliver: sendTo(lineOf, ({ context, self }) => ({ type: 'deliverStatus' as const, credentials: context.credentials, outbox: context.outbox, replyTo: self })),
    askToReport: sendTo(lineOf, ({ context, self }) => ({ type: 'sendReports' as const, credentials: context.credentials, reports: dueReports(context), replyTo: self })),
    countFailure: assign(({ context }, params: { error: unknown }) => ({ attempts: context.attempts + 1, retryAfterMs: retryAfterOf(params.error) })),
    resetAttempts: assign({ attempts: 0, retryAfterMs: null }),
    /** Keeps what an interrupted download received; a content mismatch starts over. */
    keepPartial: assign({
      current: ({ context }, params: { error: unknown }) => ({ ...context.current!, partial: params.error instanceof DownloadError ? params.error.partial : null }),
    }),
    notePollStarted: assign({ lastPollAt: ({ context }) => now(context) }),
    /** Takes the poll answer: the settings it carries, the values to echo, and the packages still to handle. */
    acceptPolicy: assign(({ context }, { answer }: { answer: PollAnswer }) => ({
      credentials: { uuid: context.credentials.uuid, auth: answer.auth ?? context.credentials.auth, timestamp: answer.timestamp ?? context.credentials.timestamp },
      settings: settingsAfter(context.settings, answer.policy),
      packages: answer.policy.packages,
      queue: pendingPackages(context, answer.policy),
      attempts: 0,
      retryAfterMs: null,
    })),
    takeNextOffer: assign(({ context }) => ({
      current: { packageId: context.queue[0]!, instructions: null, sourceUrl: null, partial: null, content: null },
      queue: context.queue.slice(1),
      attempts: 0,
      retryAfterMs: null,
    })),
    storeInstructions: assign({ current: ({ context }, params: { instructions: Instructions }) => ({ ...context.current!, instructions: params.instructions }) }),
    /** The HTTP source with the lowest metric (SMB paths are for desktop clients). */
    storeSource: assign({
      current: ({ context }, params: { location: PackageLocation }) => {
        const sources = params.location.locations.filter((l) => l.httpUrl !== null);
        const best = sources.reduce((a, b) => (b.metric < a.metric ? b : a));
        return { ...context.current!, sourceUrl: best.httpUrl };
      },
    }),
    storeContent: assign({ current: ({ context }, params: { content: DownloadedContent }) => ({ ...context.current!, content: params.content }) }),
    markDone: assign({ done: ({ context }) => ({ ...context.done, [context.current!.packageId]: true as const }) }),
    /** The package's files are now on the device, under its LocalDestination. */
    install: assign({
      installed: ({ context }) => [...context.installed, { destination: instructionsOf(context).localDestination, files: context.current!.content!.files }],
    }),
    record: assign(({ context }, params: { message: DeviceMessageKey; parameters?: Record<string, string> }) => recorded(context, params.message, params.parameters)),
    recordProgramResult: assign(({ context }, params: { message: DeviceMessageKey; result: ProgramResult; reason?: string }) =>
      recorded(context, params.message, {
        ...(params.reason !== undefined && { [PARAMETER.reason]: params.reason }),
        [PARAMETER.exitCode]: String(params.result.exitCode),
        [PARAMETER.durationSeconds]: String(Math.round(params.result.durationMs / 1000)),
      }),
    ),
    applyConfiguration: assign(({ context }, { evaluation }: { evaluation: ConfigurationEvaluation }) => ({
      ...recorded(context, 'executionSucceeded', Object.fromEntries(evaluation.results.map((r) => [`${PARAMETER.configurationItemPrefix}${r.itemId}`, r.state]))),
      profile: { ...context.profile, settings: evaluation.settings },
    })),
    removeDelivered: assign({ outbox: ({ context }, params: { delivery: Delivery }) => withoutDelivered(context.outbox, new Set(params.delivery.delivered)) }),
    noteReportsSent: assign({
      reportsSentAt: ({ context }, params: { sent: ReportType[] }) => ({ ...context.reportsSentAt, ...Object.fromEntries(params.sent.map((type) => [type, now(context)])) }),
    }),
    log: ({ context }, params: { level: 'debug' | 'info' | 'warn'; message: string; error?: unknown }) => {
      // Quiet by default at fleet scale: a filtered level costs a check, not a metadata object per device event.
      if (!context.deps.logger.isLevelEnabled(params.level)) return;
      context.deps.logger.log(params.level, params.message, {
        packageId: context.current?.packageId,
        server: context.deps.site.server,
        ...(params.error !== undefined && { error: String(params.error) }),
      });
    },
  },
}).createMachine({
  id: 'handheld',
  context: ({ input }) => ({
    profile: input.profile,
    deps: input.deps,
    credentials: { uuid: identificationOf(input.profile).id, auth: '', timestamp: '' },
    settings: DEFAULT_DEVICE_SETTINGS,
    packages: [],
    queue: [],
    current: null,
    done: {},
    installed: [],
    outbox: EMPTY_OUTBOX,
    boot: input.deps.site.clock.now().toString(36),
    seq: 0,
    reportsSentAt: {},
    ...input.memory,
    attempts: 0,
    retryAfterMs: null,
    firstPollAt: input.firstPollAt ?? input.deps.site.clock.now(),
    lastPollAt: null,
  }),
  // Delivered while the device had moved on (a program that outran its delivery): what the site took leaves the
  // outbox all the same.
  on: { 'deliverStatus.done': { actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } } },
  // A device introduces itself with its first poll, not when the simulator starts it: a staggered fleet arrives
  // staggered, and an idle fleet costs the site nothing.
  initial: 'idle',
  states: {
    idle: {
      // The poll interval runs from the start of a poll cycle, not from its last retry.
      after: { untilNextPoll: { target: 'polling', actions: 'notePollStarted' } },
    },

    polling: {
      entry: { type: 'ask', params: ({ context }) => ({ type: 'poll', credentials: context.credentials, identification: identificationOf(context.profile) }) },
      on: {
        'poll.done': [
          // Most polls find nothing to do and nothing to report: straight back to idle.
          {
            guard: { type: 'nothingToDo', params: ({ event }) => ({ answer: event.output }) },
            target: 'idle',
            actions: { type: 'acceptPolicy', params: ({ event }) => ({ answer: event.output }) },
          },
          { target: 'evaluating', actions: { type: 'acceptPolicy', params: ({ event }) => ({ answer: event.output }) } },
        ],
        'poll.failed': [
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
      // Packages all deferred without a record (not yet started, say) leave nothing to deliver.
      always: [
        { guard: 'hasOfferToHandle', target: 'offer', actions: 'takeNextOffer' },
        { guard: 'hasStatusToDeliver', target: 'reporting' },
        { guard: 'reportsDue', target: 'inventorying' },
        { target: 'idle' },
      ],
    },

    offer: {
      initial: 'fetchingInstructions',
      onDone: 'evaluating',
      states: {
        fetchingInstructions: {
          entry: { type: 'ask', params: ({ context }) => ({ type: 'fetchInstructions', credentials: context.credentials, packageId: context.current!.packageId }) },
          on: {
            'fetchInstructions.done': { target: 'judging', actions: { type: 'storeInstructions', params: ({ event }) => ({ instructions: event.output }) } },
            'fetchInstructions.failed': {
              target: 'deferred',
              actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'instructions unavailable, deferring to the next poll', error: event.error }) },
            },
          },
        },
        judging: {
          always: [
            { guard: 'expired', target: 'done', actions: [{ type: 'record', params: { message: 'packageRefused', parameters: { [PARAMETER.reason]: REASON.expired } } }, 'markDone'] },
            { guard: 'notYetStarted', target: 'deferred' },
            { guard: 'wrongPlatform', target: 'done', actions: [{ type: 'record', params: { message: 'packageRefused', parameters: { [PARAMETER.reason]: REASON.platform } } }, 'markDone'] },
            { guard: 'optionalDeclined', target: 'done', actions: 'markDone' },
            { guard: 'connectionNotAllowed', target: 'deferred' },
            {
              guard: 'largerThanFreeStorage',
              target: 'done',
              actions: [{ type: 'record', params: ({ context }) => ({ message: 'downloadFailed', parameters: storageParameters(context) }) }, 'markDone'],
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
              location: {
                packageId: context.current!.packageId,
                clientLocation: { directoryService: 'MLCSIM', ipAddresses: [{ address: ipAddressOf(context.profile), subnet: '255.255.0.0' }] },
              },
            }),
          },
          on: {
            'locateContent.done': [
              {
                guard: { type: 'hasHttpSource', params: ({ event }) => ({ location: event.output }) },
                target: 'downloading',
                actions: [{ type: 'storeSource', params: ({ event }) => ({ location: event.output }) }, { type: 'record', params: { message: 'downloadStarting' } }],
              },
              {
                target: 'done',
                actions: [{ type: 'record', params: { message: 'downloadFailed', parameters: { [PARAMETER.reason]: REASON.noHttpSource } } }, 'markDone'],
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
                expectedSize: instructionsOf(context).packageSize,
                expectedSha256: extensionOf(context)?.content.sha256 ?? null,
                partial: context.current!.partial,
              },
            }),
          },
          on: {
            'download.done': [
              {
                guard: 'isConfigurationPackage',
                target: 'applyingConfiguration',
                actions: [{ type: 'storeContent', params: ({ event }) => ({ content: event.output }) }, 'resetAttempts', { type: 'record', params: { message: 'downloadSucceeded' } }],
              },
              {
                target: 'running',
                actions: [{ type: 'storeContent', params: ({ event }) => ({ content: event.output }) }, 'resetAttempts', { type: 'record', params: { message: 'downloadSucceeded' } }],
              },
            ],
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
                // The content never matched the source: the command line never runs on it.
                guard: { type: 'contentMismatch', params: ({ event }) => ({ error: event.error }) },
                target: 'done',
                actions: [{ type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.contentMismatch, event.error) }) }, 'markDone'],
              },
              {
                target: 'done',
                actions: [{ type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.downloadInterrupted, event.error) }) }, 'markDone'],
              },
            ],
          },
        },
        downloadBackoff: { after: { retryDelay: 'downloading' } },
        running: {
          // The outbox goes out while the command runs, so the site sees "running" for long installs.
          entry: 'askToDeliver',
          invoke: {
            src: 'runProgram',
            input: ({ context }) => context,
            onDone: [
              {
                guard: { type: 'restartRequested', params: ({ event }) => ({ result: event.output }) },
                target: 'restarting',
                actions: { type: 'recordProgramResult', params: ({ event }) => ({ message: 'restartPending', result: event.output }) },
              },
              {
                guard: { type: 'exitCodeIsSuccess', params: ({ event }) => ({ result: event.output }) },
                target: 'done',
                actions: [{ type: 'recordProgramResult', params: ({ event }) => ({ message: 'executionSucceeded', result: event.output }) }, 'install', 'markDone'],
              },
              {
                target: 'done',
                actions: [{ type: 'recordProgramResult', params: ({ event }) => ({ message: 'executionFailed', result: event.output, reason: REASON.exitCode }) }, 'markDone'],
              },
            ],
          },
          after: {
            maxRunTime: {
              target: 'done',
              actions: [
                {
                  type: 'record',
                  params: ({ context }) => ({
                    message: 'executionFailed',
                    parameters: { [PARAMETER.reason]: REASON.maxRunTime, [PARAMETER.maxRunTimeMinutes]: String(extensionOf(context)?.program?.maxRunTimeMinutes ?? 120) },
                  }),
                },
                'markDone',
              ],
            },
          },
        },
        restarting: {
          // The client reports "restart pending" before it goes down.
          entry: 'askToDeliver',
          after: { restart: { target: 'done', actions: [{ type: 'record', params: { message: 'executionSucceeded' } }, 'install', 'markDone'] } },
        },
        applyingConfiguration: {
          invoke: {
            src: 'evaluateConfiguration',
            input: ({ context }) => context,
            onDone: { target: 'done', actions: [{ type: 'applyConfiguration', params: ({ event }) => ({ evaluation: event.output }) }, 'markDone'] },
            onError: {
              target: 'done',
              actions: [{ type: 'record', params: ({ event }) => ({ message: 'executionFailed', parameters: failure(REASON.badContent, event.error) }) }, 'markDone'],
            },
          },
        },
        /** Not handled this round (not yet started, connection, site trouble): handled again at the next poll. */
        deferred: { type: 'final' },
        done: { type: 'final' },
      },
    },

    reporting: {
      entry: 'askToDeliver',
      on: {
        'deliverStatus.done': [
          { guard: 'reportsDue', target: 'inventorying', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
          { target: 'idle', actions: { type: 'removeDelivered', params: ({ event }) => ({ delivery: event.output }) } },
        ],
      },
    },

    /** Inventory and collected files the poll response asked for, each at its interval. */
    inventorying: {
      entry: 'askToReport',
      on: {
        'sendReports.done': { target: 'idle', actions: { type: 'noteReportsSent', params: ({ event }) => ({ sent: event.output }) } },
        'sendReports.failed': { target: 'idle', actions: { type: 'log', params: ({ event }) => ({ level: 'warn', message: 'reports not sent', error: event.error }) } },
      },
    },
  },
});

/** The context after recording one status message about the current package. */
function recorded(context: HandheldContext, message: DeviceMessageKey, parameters: Record<string, string> = {}): Pick<HandheldContext, 'seq' | 'outbox'> {
  const seq = context.seq + 1;
  return {
    seq,
    outbox: [
      ...context.outbox,
      {
        packageId: context.current!.packageId,
        messageId: DEVICE_MESSAGE[message],
        time: now(context),
        // Zero-padded, so a device's messages sort in the order it recorded them.
        parameters: { [PARAMETER.sequence]: `${context.boot}.${String(seq).padStart(8, '0')}`, ...parameters },
      },
    ],
  };
}

/**
 * When the next poll is due: before the first poll, when the fleet staggered it; after that, the first whole
 * interval after the last cycle's start that is still ahead, so a cycle whose retries outlast the interval does not
 * poll again at once, and a staggered fleet keeps its stagger. ±2% jitter per poll keeps devices from drifting back
 * into step. Read once per wait, on entering idle.
 */
function nextPollAt(context: HandheldContext): number {
  if (context.lastPollAt === null) return context.firstPollAt;
  const interval = Math.round(context.settings.client.pollIntervalMs * (0.98 + 0.04 * context.deps.random.next()));
  const start = context.lastPollAt;
  return start + Math.max(1, Math.ceil((now(context) - start) / interval)) * interval;
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

function storageParameters(context: HandheldContext): Record<string, string> {
  return {
    [PARAMETER.reason]: REASON.insufficientStorage,
    [PARAMETER.packageSize]: String(instructionsOf(context).packageSize),
    [PARAMETER.freeStorage]: String(context.profile.freeStorageBytes),
  };
}

function failure(reason: string, error: unknown): Record<string, string> {
  return { [PARAMETER.reason]: reason, [PARAMETER.detail]: error instanceof Error ? error.message : String(error) };
}

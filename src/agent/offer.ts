/**
 * One package a handheld was offered, from its instructions to the end: judge them (src/domain/eligibility.ts),
 * locate and download the content (size- and hash-checked, resumed after a cut), then run its command line or,
 * for a configuration package, apply its provisioning documents. A child of the device statechart: its context
 * always holds the package's instructions. It tells the device each status message to record and when to deliver
 * them, and ends with what changed on the device.
 *
 *   judging ─► locatingContent ─► downloading ─► running ─► done
 *      │                              │   │          │  └─► restarting ─► done
 *      │                 downloadBackoff   │          └─ max run time ─► done
 *      │                                   └─ configuration package ─► applyingConfiguration ─► done
 *      └─ refused / declined / does not fit ─► done;  not yet started / connection ─► deferred
 *   downloading, retries used up: one-shot ─► done (11032, failed for good); recurring ─► deferred (11032, next occurrence)
 *
 * Each step with an effect is recorded with its status message (OfferProgress, kept in the device's memory): a
 * simulator restarted mid-offer resumes from judging straight to restarting, to done (a program cut off mid-run
 * is reported interrupted, never run again), or to applyingConfiguration with the content it downloaded.
 */
import { assign, fromPromise, sendParent, sendTo, setup } from 'xstate';
import { PARAMETER, REASON, type DeviceMessageKey } from '../domain/device-status.js';
import { connectionClassesOf, judgeOffer, type Verdict } from '../domain/eligibility.js';
import { PACKAGE_TYPE } from '../domain/package.js';
import { RESTART_EXIT_CODES } from '../domain/program.js';
import { errorText, type Logger } from '../logging.js';
import type { Instructions, InstructionsExtension } from '../protocol/documents/instructions.js';
import type { PackageLocation } from '../protocol/documents/package-location.js';
import { hashUniform, seededRandom, type Random } from '../random.js';
import { deliveredItems, evaluateConfiguration, type ConfigurationEvaluation } from './configuration-evaluator.js';
import { ipAddressOf } from './device-identity.js';
import type { DeviceProfile } from './device-profile.js';
import { DownloadError, type DownloadedContent } from './downloader.js';
import { runProgram, type ProgramResult } from './program-runner.js';
import type { InstalledPackage } from './reports.js';
import { isUnauthorized, SiteRequestError, type Credentials } from './site-connection.js';
import { siteLineOf, type SiteAnswer, type SitePort, type SiteRequest } from './site-line.js';

/** The documented default when a server names no maximum run time. */
const DEFAULT_MAX_RUN_TIME_MINUTES = 120;

export interface OfferInput {
  packageId: string;
  instructions: Instructions;
  profile: DeviceProfile;
  site: SitePort;
  random: Random;
  logger: Logger;
  credentials: Credentials;
  /** The site's failure-recovery settings (FailureRetryCount, FailureRetryInterval). */
  retry: { count: number; intervalMs: number };
  /** How far the device got with this package before the simulator last stopped, if it had started it. */
  resumeFrom?: OfferProgress | undefined;
}

/**
 * A step of an offer that has an effect, kept in the device's memory (DeviceMemory) as it is recorded, so that a
 * restarted simulator resumes where the device was and never runs a program twice: content downloaded (kept for a
 * configuration package), program started, restart pending; `done` when the package is handled for good.
 */
export type OfferProgress =
  | { step: 'downloaded'; content: DownloadedContent }
  | { step: 'started'; content: DownloadedContent }
  | { step: 'restartPending'; content: DownloadedContent }
  | { step: 'done' };

/** What handling the offer changed on the device. */
export interface OfferOutcome {
  /** Handled to the end (run, refused, failed): not handled again. False: deferred to the next poll. */
  done: boolean;
  /** The site refused the device's credentials (401): it must poll again to be known, then carry on. */
  identityLost: boolean;
  installed: InstalledPackage | null;
  /** The device's settings after a configuration package, when it applied one. */
  settings: Record<string, string> | null;
}

/** What the offer asks of the device while it runs. */
export type OfferEvent =
  | { type: 'offer.record'; packageId: string; message: DeviceMessageKey; parameters: Record<string, string>; progress?: OfferProgress }
  | { type: 'offer.deliver' };

interface OfferContext extends OfferInput {
  extension: InstructionsExtension | null;
  verdict: Verdict;
  /** The lowest-metric HTTP source, once located. */
  sourceUrl: string;
  /** Bytes of an interrupted download, resumed from at the next attempt. */
  partial: Buffer | null;
  content: DownloadedContent;
  attempts: number;
  retryAfterMs: number | null;
  outcome: OfferOutcome;
}

const NO_CONTENT: DownloadedContent = Object.freeze({ bytes: 0, files: [], documents: {} });
const HANDLED: OfferProgress = Object.freeze({ step: 'done' });

/**
 * Capped exponential backoff from the site's Failure Retry Interval, with jitter so a fleet does not retry in
 * step, and never sooner than the site's Retry-After.
 */
export function retryDelay(baseMs: number, attempt: number, random: Random, retryAfterMs: number | null): number {
  const capped = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), baseMs * 8);
  return Math.max(Math.round(capped * (0.5 + 0.5 * random.next())), retryAfterMs ?? 0);
}

/** The Retry-After an error carries, if the site sent one. */
export function retryAfterOf(error: unknown): number | null {
  return error instanceof SiteRequestError || error instanceof DownloadError ? error.retryAfterMs : null;
}

/**
 * What a program does on this device (its exit code and run time) is drawn from a stream of its own, seeded by the
 * device and the package: not from the stream retries and poll jitter draw from, so an outage that makes a device
 * retry more does not change what its programs do, and a replay with site restarts reports the same outcomes.
 */
const outcomesOf = (context: OfferContext): Random => seededRandom(Math.floor(hashUniform('program outcome', context.profile.id, context.packageId) * 2 ** 32));

const isConfiguration = (context: OfferContext) => context.extension?.content.packageType === PACKAGE_TYPE.configuration;
const maxRunTimeMinutes = (context: OfferContext) => context.extension?.program?.maxRunTimeMinutes ?? DEFAULT_MAX_RUN_TIME_MINUTES;

function failure(reason: string, error: unknown): Record<string, string> {
  return { [PARAMETER.reason]: reason, [PARAMETER.detail]: error instanceof Error ? error.message : String(error) };
}

function programResult(result: ProgramResult, reason?: string): Record<string, string> {
  return {
    ...(reason !== undefined && { [PARAMETER.reason]: reason }),
    [PARAMETER.exitCode]: String(result.exitCode),
    [PARAMETER.durationSeconds]: String(Math.round(result.durationMs / 1000)),
  };
}

export const offerMachine = setup({
  types: {
    context: {} as OfferContext,
    input: {} as OfferInput,
    events: {} as SiteAnswer,
    output: {} as OfferOutcome,
  },
  actors: {
    runProgram: fromPromise<ProgramResult, OfferContext>(({ input, signal }) =>
      runProgram({
        commandLine: input.instructions.commandLine,
        files: input.content.files,
        behaviour: input.profile.programBehaviour,
        random: outcomesOf(input),
        clock: input.site.clock,
        signal,
      }),
    ),
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a missing or bad document (thrown) rejects: the offer's onError
    evaluateConfiguration: fromPromise<ConfigurationEvaluation, OfferContext>(async ({ input }) =>
      evaluateConfiguration(deliveredItems(input.extension?.configurationItems ?? [], input.content.documents), input.profile.platform, input.profile.settings),
    ),
  },
  delays: {
    retryDelay: ({ context }) => retryDelay(context.retry.intervalMs, context.attempts, context.random, context.retryAfterMs),
    maxRunTime: ({ context }) => maxRunTimeMinutes(context) * 60_000,
    restart: ({ context }) => context.profile.programBehaviour.restartSeconds * 1000,
  },
  guards: {
    verdictIs: ({ context }, params: { kind: Verdict['kind'] }) => context.verdict.kind === params.kind,
    resumesFrom: ({ context }, params: { step: OfferProgress['step'] }) => context.resumeFrom?.step === params.step,
    unauthorized: (_, params: { error: unknown }) => isUnauthorized(params.error),
    isConfigurationPackage: ({ context }) => isConfiguration(context),
    canRetry: ({ context }) => context.attempts < context.retry.count,
    isRecurring: ({ context }) => context.instructions.recurrence !== null,
    contentMismatch: (_, params: { error: unknown }) =>
      params.error instanceof DownloadError && (params.error.failure === 'hash' || params.error.failure === 'size'),
    hasHttpSource: (_, params: { location: PackageLocation }) => params.location.locations.some((l) => l.httpUrl !== null),
    restartRequested: (_, params: { result: ProgramResult }) => (RESTART_EXIT_CODES as readonly number[]).includes(params.result.exitCode),
    exitCodeIsSuccess: ({ context }, params: { result: ProgramResult }) =>
      (context.extension?.program?.successExitCodes ?? [0]).includes(params.result.exitCode),
  },
  actions: {
    /** Asks the site line for an exchange; its answer comes back as an event. */
    ask: sendTo(
      ({ context }) => siteLineOf(context.site),
      ({ self }, request: SiteRequest) => ({ ...request, replyTo: self }),
    ),
    /** Records a status message, and with it (one event, so one save) the step it marks, if it marks one. */
    record: sendParent(({ context }, params: { message: DeviceMessageKey; parameters?: Record<string, string>; progress?: OfferProgress }): OfferEvent => ({
      type: 'offer.record',
      packageId: context.packageId,
      message: params.message,
      parameters: params.parameters ?? {},
      ...(params.progress && { progress: params.progress }),
    })),
    /** The device delivers what it recorded (while a program runs, before a restart). */
    deliver: sendParent((): OfferEvent => ({ type: 'offer.deliver' })),
    countFailure: assign(({ context }, params: { error: unknown }) => ({ attempts: context.attempts + 1, retryAfterMs: retryAfterOf(params.error) })),
    /** Keeps what an interrupted download received; a content mismatch starts over. */
    keepPartial: assign({ partial: (_, params: { error: unknown }) => (params.error instanceof DownloadError ? params.error.partial : null) }),
    /** The HTTP source with the lowest metric (SMB paths are for desktop clients). */
    storeSource: assign({
      sourceUrl: (_, params: { location: PackageLocation }) =>
        params.location.locations.reduce<{ url: string; metric: number } | null>(
          (best, l) => (l.httpUrl !== null && (best === null || l.metric < best.metric) ? { url: l.httpUrl, metric: l.metric } : best),
          null,
        )?.url ?? '',
    }),
    storeContent: assign({ content: (_, params: { content: DownloadedContent }) => params.content, attempts: 0, retryAfterMs: null }),
    markDone: assign({ outcome: ({ context }) => ({ ...context.outcome, done: true }) }),
    markIdentityLost: assign({ outcome: ({ context }) => ({ ...context.outcome, identityLost: true }) }),
    /** The package's files are now on the device, under its LocalDestination. */
    install: assign({
      outcome: ({ context }) => ({ ...context.outcome, installed: { destination: context.instructions.localDestination, files: context.content.files } }),
    }),
    applySettings: assign({
      outcome: ({ context }, params: { evaluation: ConfigurationEvaluation }) => ({ ...context.outcome, settings: params.evaluation.settings }),
    }),
    log: ({ context }, params: { level: 'debug' | 'info' | 'warn'; message: string; error?: unknown }) => {
      // Quiet by default at fleet scale: a filtered level costs a check, not a metadata object per event.
      if (!context.logger.isLevelEnabled(params.level)) return;
      context.logger.log(params.level, params.message, {
        packageId: context.packageId,
        server: context.site.server,
        ...(params.error !== undefined && { error: errorText(params.error) }),
      });
    },
  },
}).createMachine({
  id: 'offer',
  context: ({ input }) => ({
    ...input,
    extension: input.instructions.extension,
    verdict: judgeOffer(
      {
        required: input.instructions.required,
        startTime: input.instructions.startTime,
        expiresAt: input.instructions.extension?.advertisement.expiresAt ?? null,
        flags: input.instructions.flags,
        packageSize: input.instructions.packageSize,
        isConfiguration: input.instructions.extension?.content.packageType === PACKAGE_TYPE.configuration,
        program: input.instructions.extension?.program ?? null,
      },
      {
        platform: input.profile.platform,
        connectionClasses: connectionClassesOf(input.profile.connectivity),
        freeStorageBytes: input.profile.freeStorageBytes,
        runsOptionalPrograms: input.profile.runsOptionalPrograms,
      },
      input.site.clock.now(),
    ),
    sourceUrl: '',
    partial: null,
    content: input.resumeFrom !== undefined && input.resumeFrom.step !== 'done' ? input.resumeFrom.content : NO_CONTENT,
    attempts: 0,
    retryAfterMs: null,
    outcome: { done: false, identityLost: false, installed: null, settings: null },
  }),
  output: ({ context }) => context.outcome,
  initial: 'judging',
  states: {
    judging: {
      always: [
        // A package the device had started before the simulator stopped carries on from there, whatever the verdict.
        { guard: { type: 'resumesFrom', params: { step: 'restartPending' } }, target: 'restarting' },
        {
          // Cut off mid-run: the program is not run again; the device says it was interrupted.
          guard: { type: 'resumesFrom', params: { step: 'started' } },
          target: 'done',
          actions: [
            { type: 'record', params: { message: 'executionFailed', parameters: { [PARAMETER.reason]: REASON.interrupted }, progress: HANDLED } },
            'markDone',
          ],
        },
        { guard: { type: 'resumesFrom', params: { step: 'downloaded' } }, target: 'applyingConfiguration' },
        {
          guard: { type: 'verdictIs', params: { kind: 'refuse' } },
          target: 'done',
          actions: [
            {
              type: 'record',
              params: ({ context }) => ({
                message: 'packageRefused',
                parameters: { [PARAMETER.reason]: context.verdict.kind === 'refuse' ? context.verdict.reason : '' },
              }),
            },
            'markDone',
          ],
        },
        {
          // The device says once that it is waiting, and why (the device statechart drops a repeat).
          guard: { type: 'verdictIs', params: { kind: 'defer' } },
          target: 'deferred',
          actions: {
            type: 'record',
            params: ({ context }) => ({
              message: 'packageDeferred',
              parameters: {
                [PARAMETER.reason]: context.verdict.kind === 'defer' && context.verdict.why === 'connection' ? REASON.connectionClass : REASON.notYetStarted,
              },
            }),
          },
        },
        { guard: { type: 'verdictIs', params: { kind: 'decline' } }, target: 'done', actions: 'markDone' },
        {
          guard: { type: 'verdictIs', params: { kind: 'insufficientStorage' } },
          target: 'done',
          actions: [
            {
              type: 'record',
              params: ({ context }) => ({
                message: 'downloadFailed',
                parameters: {
                  [PARAMETER.reason]: REASON.insufficientStorage,
                  [PARAMETER.packageSize]: String(context.instructions.packageSize),
                  [PARAMETER.freeStorage]: String(context.profile.freeStorageBytes),
                },
              }),
            },
            'markDone',
          ],
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
            packageId: context.packageId,
            clientLocation: { directoryService: 'MLCSIM', ipAddresses: [{ address: ipAddressOf(context.profile), subnet: '255.255.0.0' }] },
          },
        }),
      },
      on: {
        'locateContent.done': [
          {
            guard: { type: 'hasHttpSource', params: ({ event }) => ({ location: event.output }) },
            target: 'downloading',
            actions: [
              { type: 'storeSource', params: ({ event }) => ({ location: event.output }) },
              { type: 'record', params: { message: 'downloadStarting' } },
            ],
          },
          {
            target: 'done',
            actions: [{ type: 'record', params: { message: 'downloadFailed', parameters: { [PARAMETER.reason]: REASON.noHttpSource } } }, 'markDone'],
          },
        ],
        'locateContent.failed': [
          { guard: { type: 'unauthorized', params: ({ event }) => ({ error: event.error }) }, target: 'deferred', actions: 'markIdentityLost' },
          {
            target: 'deferred',
            actions: {
              type: 'log',
              params: ({ event }) => ({ level: 'warn', message: 'content location unavailable, deferring to the next poll', error: event.error }),
            },
          },
        ],
      },
    },
    downloading: {
      entry: {
        type: 'ask',
        params: ({ context }) => ({
          type: 'download',
          download: {
            url: context.sourceUrl,
            expectedSize: context.instructions.packageSize,
            expectedSha256: context.extension?.content.sha256 ?? null,
            partial: context.partial,
          },
        }),
      },
      on: {
        'download.done': [
          {
            guard: 'isConfigurationPackage',
            target: 'applyingConfiguration',
            actions: [
              { type: 'storeContent', params: ({ event }) => ({ content: event.output }) },
              { type: 'record', params: ({ event }) => ({ message: 'downloadSucceeded', progress: { step: 'downloaded', content: event.output } }) },
            ],
          },
          {
            // The post-install command starts as the download succeeds (the site records both from this message).
            target: 'running',
            actions: [
              { type: 'storeContent', params: ({ event }) => ({ content: event.output }) },
              { type: 'record', params: ({ event }) => ({ message: 'downloadSucceeded', progress: { step: 'started', content: event.output } }) },
            ],
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
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.contentMismatch, event.error) }) },
              'markDone',
            ],
          },
          {
            // A recurring download event (Instructions with Recurrence) whose retries ran out is not deleted: it
            // tries again at its next occurrence, which the device reaches at its next poll (reference §11).
            guard: 'isRecurring',
            target: 'deferred',
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.downloadInterrupted, event.error) }) },
              {
                type: 'log',
                params: ({ event }) => ({ level: 'info', message: 'download failed, recurring: tried again at its next occurrence', error: event.error }),
              },
            ],
          },
          {
            // A one-shot download event fails for good when its retries are used up (reference §11): the package is
            // handled. The site may list it again under a new id if the advertisement reruns after a failure.
            target: 'done',
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.downloadInterrupted, event.error) }) },
              'markDone',
            ],
          },
        ],
      },
    },
    downloadBackoff: { after: { retryDelay: 'downloading' } },
    running: {
      // The outbox goes out while the command runs, so the site sees "running" for long installs.
      entry: 'deliver',
      invoke: {
        src: 'runProgram',
        input: ({ context }) => context,
        onDone: [
          {
            guard: { type: 'restartRequested', params: ({ event }) => ({ result: event.output }) },
            target: 'restarting',
            actions: {
              type: 'record',
              params: ({ context, event }) => ({
                message: 'restartPending',
                parameters: programResult(event.output),
                progress: { step: 'restartPending', content: context.content },
              }),
            },
          },
          {
            guard: { type: 'exitCodeIsSuccess', params: ({ event }) => ({ result: event.output }) },
            target: 'done',
            actions: [
              { type: 'record', params: ({ event }) => ({ message: 'executionSucceeded', parameters: programResult(event.output), progress: HANDLED }) },
              'install',
              'markDone',
            ],
          },
          {
            target: 'done',
            actions: [
              {
                type: 'record',
                params: ({ event }) => ({ message: 'executionFailed', parameters: programResult(event.output, REASON.exitCode), progress: HANDLED }),
              },
              'markDone',
            ],
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
                parameters: { [PARAMETER.reason]: REASON.maxRunTime, [PARAMETER.maxRunTimeMinutes]: String(maxRunTimeMinutes(context)) },
                progress: HANDLED,
              }),
            },
            'markDone',
          ],
        },
      },
    },
    restarting: {
      // The client reports "restart pending" before it goes down.
      entry: 'deliver',
      after: {
        restart: { target: 'done', actions: [{ type: 'record', params: { message: 'executionSucceeded', progress: HANDLED } }, 'install', 'markDone'] },
      },
    },
    applyingConfiguration: {
      invoke: {
        src: 'evaluateConfiguration',
        input: ({ context }) => context,
        onDone: {
          target: 'done',
          actions: [
            {
              type: 'record',
              params: ({ event }) => ({
                message: 'executionSucceeded',
                parameters: Object.fromEntries(event.output.results.map((r) => [`${PARAMETER.configurationItemPrefix}${r.itemId}`, r.state])),
                progress: HANDLED,
              }),
            },
            { type: 'applySettings', params: ({ event }) => ({ evaluation: event.output }) },
            'markDone',
          ],
        },
        onError: {
          target: 'done',
          actions: [
            { type: 'record', params: ({ event }) => ({ message: 'executionFailed', parameters: failure(REASON.badContent, event.error), progress: HANDLED }) },
            'markDone',
          ],
        },
      },
    },
    /** Not handled this round (not yet started, connection, site trouble): handled again at the next poll. */
    deferred: { type: 'final' },
    done: { type: 'final' },
  },
});

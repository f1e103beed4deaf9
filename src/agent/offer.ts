/**
 * One package a handheld was offered, from its instructions to the end: the `offer` state of the device statechart
 * (./machine.ts), written here. Judge the instructions (src/domain/eligibility.ts), locate and download the content
 * (size- and hash-checked, resumed after a cut), then run its command line on the device's file system and registry
 * (src/device/post-install.ts) or, for a configuration package, apply its provisioning documents. Each outcome is a
 * status message recorded in the device's outbox; the outbox goes out while the command runs and before a restart.
 *
 *   judging ─► locatingContent ─► downloading ─► running.executing ─► done
 *      │                              │   │          │   ▲    └─► running.restarting ─► done
 *      │                 downloadBackoff   │          │   └─ a script's reboot: it continues ┘
 *      │                                   │          └─ failed from what happened / max run time ─► done
 *      │                                   └─ configuration package ─► applyingConfiguration ─► done
 *      └─ refused / declined / does not fit ─► done;  not yet started / connection ─► deferred
 *   downloading, retries used up: one-shot ─► done (11032, failed for good); recurring ─► deferred (11032, next occurrence)
 *
 * Each step with an effect is recorded with its status message (OfferProgress, kept in the device's memory): a
 * simulator restarted mid-offer resumes from judging straight to running.restarting, to done (a program or script
 * cut off mid-run is reported interrupted, never run again), or to applyingConfiguration with its documents.
 *
 * A state of the device's own statechart, not a child statechart it invokes: a child cost the device an actor to
 * make, and an event between the two for each status message, delivery and ending (see bench/).
 */
import { assign } from 'xstate';
import { freeBytesAt } from '../device/device-state.js';
import type { PostInstall, PostInstallOutcome, PostInstallResult } from '../device/post-install.js';
import { PARAMETER, REASON } from '../domain/device-status.js';
import { connectionClassesOf, judgeOffer, type Verdict } from '../domain/eligibility.js';
import { PACKAGE_TYPE } from '../domain/package.js';
import { RESTART_EXIT_CODES } from '../domain/program.js';
import type { Instructions, InstructionsExtension } from '../protocol/documents/instructions.js';
import type { PackageLocation } from '../protocol/documents/package-location.js';
import { hashUniform, seededRandom, type Random } from '../random.js';
import type { Clock } from '../time/clock.js';
import { deviceSetup, now, retryAfterOf, retryDelay } from './chart-setup.js';
import type { ConfigurationEvaluation, ConfigurationToApply } from './configuration-evaluator.js';
import type { HandheldContext, OfferContext, OfferProgress } from './device-context.js';
import { ipAddressOfUuid } from './device-identity.js';
import { DownloadError, type DownloadedContent } from './downloader.js';
import { isUnauthorized } from './site-connection.js';

/** The documented default when a server names no maximum run time. */
const DEFAULT_MAX_RUN_TIME_MINUTES = 120;

const NO_RETRIES = Object.freeze({ attempts: 0, retryAfterMs: null });
const NO_CONTENT: DownloadedContent = Object.freeze({ bytes: 0, files: [], documents: {} });
const HANDLED: OfferProgress = Object.freeze({ step: 'done' });
const STARTED: OfferProgress = Object.freeze({ step: 'started' });

/** How an offer ends, as its final state's output: handled for good, or deferred to the next poll. */
type OfferEnd = 'handled' | 'deferred';

/** The offer in hand: a state of the offer runs only while there is one. */
function offerOf(context: HandheldContext): OfferContext {
  if (context.offer === null) throw new Error(`no offer in hand for package ${context.current}`);
  return context.offer;
}

/** The offer with some of its fields changed (the context is immutable). */
function changedOffer(context: HandheldContext, changes: Partial<OfferContext>): { offer: OfferContext } {
  return { offer: Object.assign({}, offerOf(context), changes) };
}

/** The offer of the current package as its instructions come in: judged, and resumed where the device stopped. */
function openOffer(context: HandheldContext, instructions: Instructions): Partial<HandheldContext> {
  const resumeFrom = context.progress[context.current];
  // What a command cut off by a simulator restart had already changed on the device is the device's still.
  const state = resumeFrom?.step === 'restartPending' ? resumeFrom.state : context.state;
  // Opening the device's file system to measure it costs: once per offer.
  const freeBytes = freeBytesAt(context.profile, state, instructions.localDestination);
  const offer: OfferContext = {
    instructions,
    verdict: judgeOffer(
      {
        required: instructions.required,
        startTime: instructions.startTime,
        expiresAt: instructions.extension?.advertisement.expiresAt ?? null,
        flags: instructions.flags,
        packageSize: instructions.packageSize,
        isConfiguration: instructions.extension?.content.packageType === PACKAGE_TYPE.configuration,
        program: instructions.extension?.program ?? null,
      },
      {
        platform: context.profile.platform,
        connectionClasses: connectionClassesOf(context.profile.connectivity),
        freeStorageBytes: freeBytes,
        runsOptionalPrograms: context.profile.runsOptionalPrograms,
      },
      now(context),
    ),
    resumeFrom,
    sourceUrl: '',
    partial: null,
    content: resumeFrom?.step === 'downloaded' ? { ...NO_CONTENT, documents: resumeFrom.documents } : NO_CONTENT,
    retries: NO_RETRIES,
    freeBytes,
    deadline: 0,
    resume: null,
    identityLost: false,
  };
  return state === context.state ? { offer } : { offer, state };
}

/**
 * What a program does on this device (its exit code and run time) is drawn from a stream of its own, seeded by the
 * device and the package: not from the stream retries and poll jitter draw from, so an outage that makes a device
 * retry more does not change what its programs do, and a replay with site restarts reports the same outcomes.
 */
const outcomesOf = (context: HandheldContext): Random =>
  seededRandom(Math.floor(hashUniform('program outcome', context.profile.id, context.current) * 2 ** 32));

const extensionOf = (context: HandheldContext): InstructionsExtension | null => offerOf(context).instructions.extension;
const isConfiguration = (context: HandheldContext) => extensionOf(context)?.content.packageType === PACKAGE_TYPE.configuration;
const maxRunTimeMinutes = (context: HandheldContext) => extensionOf(context)?.program?.maxRunTimeMinutes ?? DEFAULT_MAX_RUN_TIME_MINUTES;

/** The command to run now, on the device as it is, within what is left of its maximum run time. */
function programOf(context: HandheldContext): { install: PostInstall; clock: Clock } {
  const offer = offerOf(context);
  const clock = context.deps.site.clock;
  return {
    install: {
      commandLine: offer.instructions.commandLine,
      localDestination: offer.instructions.localDestination,
      files: offer.content.files,
      profile: context.profile,
      state: context.state,
      random: outcomesOf(context),
      now: clock.now(),
      budgetMs: Math.max(0, offer.deadline - clock.now()),
      resume: offer.resume,
    },
    clock,
  };
}

/** A configuration package's items, its documents, and the device's settings they are evaluated against. */
function configurationOf(context: HandheldContext): ConfigurationToApply {
  return {
    items: extensionOf(context)?.configurationItems ?? [],
    documents: offerOf(context).content.documents,
    platform: context.profile.platform,
    settings: context.profile.settings,
  };
}

/** Why the device refuses a package it was offered (11034's reason), when its verdict is to refuse. */
const refusalReason = (verdict: Verdict) => (verdict.kind === 'refuse' ? verdict.reason : '');

/** Why the device waits for a package it was offered (11037's reason), when its verdict is to wait. */
const deferralReason = (verdict: Verdict) => (verdict.kind === 'defer' && verdict.why === 'connection' ? REASON.connectionClass : REASON.notYetStarted);

function failure(reason: string, error: unknown): Record<string, string> {
  return { [PARAMETER.reason]: reason, [PARAMETER.detail]: error instanceof Error ? error.message : String(error) };
}

function programResult(result: PostInstallResult, reason?: string): Record<string, string> {
  return {
    ...(reason !== undefined && { [PARAMETER.reason]: reason }),
    ...(result.outcome.kind === 'exited' && { [PARAMETER.exitCode]: String(result.outcome.exitCode) }),
    [PARAMETER.durationSeconds]: String(Math.round(result.durationMs / 1000)),
  };
}

/** Why the command failed, from what happened on the device (a missing file, a full volume, an abort...). */
function deviceFailure(result: PostInstallResult): Record<string, string> {
  const outcome = result.outcome;
  return outcome.kind === 'failed'
    ? { [PARAMETER.reason]: outcome.reason, [PARAMETER.detail]: outcome.detail, [PARAMETER.durationSeconds]: String(Math.round(result.durationMs / 1000)) }
    : {};
}

const exitCodeOf = (outcome: PostInstallOutcome) => (outcome.kind === 'exited' ? outcome.exitCode : null);

const scriptRebootDetail = (outcome: PostInstallOutcome) =>
  outcome.kind === 'reboot' ? `${outcome.resume.script} reboots the device and continues after it` : '';

/** The device's setup with what its offer state does (./chart-setup.ts); ./machine.ts extends it with the rest. */
export const offerSetup = deviceSetup.extend({
  actions: {
    /** The instructions are in: the offer of the current package starts. */
    openOffer: assign(({ context }, params: { instructions: Instructions }) => openOffer(context, params.instructions)),
    countDownloadFailure: assign(({ context }, params: { error: unknown }) =>
      changedOffer(context, { retries: { attempts: offerOf(context).retries.attempts + 1, retryAfterMs: retryAfterOf(params.error) } }),
    ),
    /** Keeps what an interrupted download received; a content mismatch starts over. */
    keepPartial: assign(({ context }, params: { error: unknown }) =>
      changedOffer(context, { partial: params.error instanceof DownloadError ? params.error.partial : null }),
    ),
    /** The HTTP source with the lowest metric (SMB paths are for desktop clients). */
    storeSource: assign(({ context }, params: { location: PackageLocation }) =>
      changedOffer(context, {
        sourceUrl:
          params.location.locations.reduce<{ url: string; metric: number } | null>(
            (best, l) => (l.httpUrl !== null && (best === null || l.metric < best.metric) ? { url: l.httpUrl, metric: l.metric } : best),
            null,
          )?.url ?? '',
      }),
    ),
    storeContent: assign(({ context }, params: { content: DownloadedContent }) => changedOffer(context, { content: params.content, retries: NO_RETRIES })),
    markIdentityLost: assign(({ context }) => changedOffer(context, { identityLost: true })),
    startRunClock: assign(({ context }) => changedOffer(context, { deadline: now(context) + maxRunTimeMinutes(context) * 60_000 })),
    /** What the command changed on the device (kept whether it succeeded or not), and a script to continue. */
    keepState: assign(({ context }, params: { result: PostInstallResult }) => ({
      state: params.result.state,
      ...changedOffer(context, { resume: params.result.outcome.kind === 'reboot' ? params.result.outcome.resume : null }),
    })),
    /** The device's settings after a configuration package: remediation changed them. */
    applySettings: assign(({ context }, params: { evaluation: ConfigurationEvaluation }) => ({
      profile: { ...context.profile, settings: params.evaluation.settings },
    })),
  },
  guards: {
    verdictIs: ({ context }, params: { kind: Verdict['kind'] }) => offerOf(context).verdict.kind === params.kind,
    /** The simulator stopped at this step of the offer (see OfferProgress); `scriptToContinue` for a restart pending. */
    resumesFrom: ({ context }, params: { step: OfferProgress['step']; scriptToContinue?: boolean }) => {
      const from = offerOf(context).resumeFrom;
      if (from?.step !== params.step) return false;
      return from.step !== 'restartPending' || params.scriptToContinue === undefined || from.scriptToContinue === params.scriptToContinue;
    },
    /** Cut off mid-run, or a script mid-reboot, when the simulator stopped. */
    resumesInterrupted: ({ context }) => {
      const step = offerOf(context).resumeFrom?.step;
      return step === 'started' || step === 'restartPending';
    },
    /** The device said already that it waits for this package, and for the same reason. */
    deferralAlreadySaid: ({ context }) => {
      const { verdict } = offerOf(context);
      return verdict.kind === 'defer' && context.deferrals[context.current] === deferralReason(verdict);
    },
    unauthorized: (_, params: { error: unknown }) => isUnauthorized(params.error),
    isConfigurationPackage: ({ context }) => isConfiguration(context),
    canRetryDownload: ({ context }) => offerOf(context).retries.attempts < context.settings.client.failureRetryCount,
    isRecurring: ({ context }) => offerOf(context).instructions.recurrence !== null,
    contentMismatch: (_, params: { error: unknown }) =>
      params.error instanceof DownloadError && (params.error.failure === 'hash' || params.error.failure === 'size'),
    hasHttpSource: (_, params: { location: PackageLocation }) => params.location.locations.some((l) => l.httpUrl !== null),
    outcomeIs: (_, params: { result: PostInstallResult; kind: PostInstallOutcome['kind'] }) => params.result.outcome.kind === params.kind,
    restartRequested: (_, params: { result: PostInstallResult }) =>
      (RESTART_EXIT_CODES as readonly (number | null)[]).includes(exitCodeOf(params.result.outcome)),
    exitCodeIsSuccess: ({ context }, params: { result: PostInstallResult }) =>
      (extensionOf(context)?.program?.successExitCodes ?? [0]).some((code) => code === exitCodeOf(params.result.outcome)),
    hasScriptToResume: ({ context }) => offerOf(context).resume !== null,
  },
  delays: {
    downloadRetryDelay: ({ context }) => {
      const { attempts, retryAfterMs } = offerOf(context).retries;
      return retryDelay(context.settings.client.failureRetryIntervalMs, attempts, context.deps.random, retryAfterMs);
    },
    restart: ({ context }) => context.profile.programBehaviour.restartSeconds * 1000,
  },
});

/** The device statechart's `offer` state: entered with the offer opened (openOffer), left from `done` or `deferred`. */
export const offerState = offerSetup.createStateConfig({
  id: 'offer',
  initial: 'judging',
  states: {
    judging: {
      always: [
        // A package the device had started before the simulator stopped carries on from there, whatever the verdict.
        { guard: { type: 'resumesFrom', params: { step: 'restartPending', scriptToContinue: false } }, target: 'running.restarting' },
        {
          // Cut off mid-run (or a script mid-reboot): it is not run again; the device says it was interrupted.
          guard: 'resumesInterrupted',
          target: 'done',
          actions: { type: 'record', params: { message: 'executionFailed', parameters: { [PARAMETER.reason]: REASON.interrupted }, progress: HANDLED } },
        },
        { guard: { type: 'resumesFrom', params: { step: 'downloaded' } }, target: 'applyingConfiguration' },
        {
          guard: { type: 'verdictIs', params: { kind: 'refuse' } },
          target: 'done',
          actions: {
            type: 'record',
            params: ({ context }) => ({ message: 'packageRefused', parameters: { [PARAMETER.reason]: refusalReason(offerOf(context).verdict) } }),
          },
        },
        // The device says once that it is waiting, and why: again only for another reason.
        { guard: 'deferralAlreadySaid', target: 'deferred' },
        {
          guard: { type: 'verdictIs', params: { kind: 'defer' } },
          target: 'deferred',
          actions: {
            type: 'record',
            params: ({ context }) => ({
              message: 'packageDeferred',
              parameters: { [PARAMETER.reason]: deferralReason(offerOf(context).verdict) },
            }),
          },
        },
        { guard: { type: 'verdictIs', params: { kind: 'decline' } }, target: 'done' },
        {
          guard: { type: 'verdictIs', params: { kind: 'insufficientStorage' } },
          target: 'done',
          actions: {
            type: 'record',
            params: ({ context }) => ({
              message: 'downloadFailed',
              parameters: {
                [PARAMETER.reason]: REASON.insufficientStorage,
                [PARAMETER.packageSize]: String(offerOf(context).instructions.packageSize),
                [PARAMETER.freeStorage]: String(offerOf(context).freeBytes),
              },
            }),
          },
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
            packageId: context.current,
            clientLocation: { directoryService: 'MLCSIM', ipAddresses: [{ address: ipAddressOfUuid(context.credentials.uuid), subnet: '255.255.0.0' }] },
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
            actions: { type: 'record', params: { message: 'downloadFailed', parameters: { [PARAMETER.reason]: REASON.noHttpSource } } },
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
            url: offerOf(context).sourceUrl,
            expectedSize: offerOf(context).instructions.packageSize,
            expectedSha256: extensionOf(context)?.content.sha256 ?? null,
            partial: offerOf(context).partial,
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
              {
                type: 'record',
                params: ({ event }) => ({ message: 'downloadSucceeded', progress: { step: 'downloaded', documents: event.output.documents } }),
              },
            ],
          },
          {
            // The post-install command starts as the download succeeds (the site records both from this message).
            target: 'running',
            actions: [
              { type: 'storeContent', params: ({ event }) => ({ content: event.output }) },
              { type: 'record', params: { message: 'downloadSucceeded', progress: STARTED } },
            ],
          },
        ],
        'download.failed': [
          {
            guard: 'canRetryDownload',
            target: 'downloadBackoff',
            actions: [
              { type: 'countDownloadFailure', params: ({ event }) => ({ error: event.error }) },
              { type: 'keepPartial', params: ({ event }) => ({ error: event.error }) },
              { type: 'log', params: ({ event }) => ({ level: 'info', message: 'download failed, will retry', error: event.error }) },
            ],
          },
          {
            // The content never matched the source: the command line never runs on it.
            guard: { type: 'contentMismatch', params: ({ event }) => ({ error: event.error }) },
            target: 'done',
            actions: { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.contentMismatch, event.error) }) },
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
            actions: { type: 'record', params: ({ event }) => ({ message: 'downloadFailed', parameters: failure(REASON.downloadInterrupted, event.error) }) },
          },
        ],
      },
    },
    downloadBackoff: { after: { downloadRetryDelay: 'downloading' } },
    running: {
      // The outbox goes out while the command runs, so the site sees "running" for long installs. The maximum run
      // time runs from here, restarts included.
      entry: ['askToDeliver', 'startRunClock'],
      initial: 'executing',
      states: {
        executing: {
          invoke: {
            src: 'runProgram',
            input: ({ context }) => programOf(context),
            onDone: [
              {
                guard: { type: 'outcomeIs', params: ({ event }) => ({ result: event.output, kind: 'timedOut' }) },
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ context }) => ({
                      message: 'executionFailed',
                      parameters: { [PARAMETER.reason]: REASON.maxRunTime, [PARAMETER.maxRunTimeMinutes]: String(maxRunTimeMinutes(context)) },
                      progress: HANDLED,
                    }),
                  },
                ],
              },
              {
                guard: { type: 'outcomeIs', params: ({ event }) => ({ result: event.output, kind: 'failed' }) },
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  { type: 'record', params: ({ event }) => ({ message: 'executionFailed', parameters: deviceFailure(event.output), progress: HANDLED }) },
                ],
              },
              {
                // A script's `reboot`: the device restarts, then the script continues on its next line.
                guard: { type: 'outcomeIs', params: ({ event }) => ({ result: event.output, kind: 'reboot' }) },
                target: 'restarting',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ event }) => ({
                      message: 'restartPending',
                      parameters: { [PARAMETER.reason]: REASON.scriptReboot, [PARAMETER.detail]: scriptRebootDetail(event.output.outcome) },
                      progress: { step: 'restartPending', state: event.output.state, scriptToContinue: true },
                    }),
                  },
                ],
              },
              {
                guard: { type: 'restartRequested', params: ({ event }) => ({ result: event.output }) },
                target: 'restarting',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ event }) => ({
                      message: 'restartPending',
                      parameters: programResult(event.output),
                      progress: { step: 'restartPending', state: event.output.state, scriptToContinue: false },
                    }),
                  },
                ],
              },
              {
                guard: { type: 'exitCodeIsSuccess', params: ({ event }) => ({ result: event.output }) },
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  { type: 'record', params: ({ event }) => ({ message: 'executionSucceeded', parameters: programResult(event.output), progress: HANDLED }) },
                ],
              },
              {
                target: '#offer.done',
                actions: [
                  { type: 'keepState', params: ({ event }) => ({ result: event.output }) },
                  {
                    type: 'record',
                    params: ({ event }) => ({ message: 'executionFailed', parameters: programResult(event.output, REASON.exitCode), progress: HANDLED }),
                  },
                ],
              },
            ],
            // Content the device could not make sense of in a way no check above names: the command fails, the device goes on.
            onError: {
              target: '#offer.done',
              actions: {
                type: 'record',
                params: ({ event }) => ({ message: 'executionFailed', parameters: failure(REASON.badContent, event.error), progress: HANDLED }),
              },
            },
          },
        },
        restarting: {
          // The client reports "restart pending" before it goes down.
          entry: 'askToDeliver',
          after: {
            restart: [
              { guard: 'hasScriptToResume', target: 'executing' },
              { target: '#offer.done', actions: { type: 'record', params: { message: 'executionSucceeded', progress: HANDLED } } },
            ],
          },
        },
      },
    },
    applyingConfiguration: {
      invoke: {
        src: 'evaluateConfiguration',
        input: ({ context }) => configurationOf(context),
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
          ],
        },
        onError: {
          target: 'done',
          actions: {
            type: 'record',
            params: ({ event }) => ({ message: 'executionFailed', parameters: failure(REASON.badContent, event.error), progress: HANDLED }),
          },
        },
      },
    },
    /** Not handled this round (not yet started, connection, site trouble): handled again at the next poll. */
    deferred: { type: 'final', output: 'deferred' satisfies OfferEnd },
    done: { type: 'final', output: 'handled' satisfies OfferEnd },
  },
});

// The device statechart with no socket: a fake site port gives canned answers, and a simulated clock drives every
// delay. Each spec checks which state follows an answer or an error, and what the device recorded and sent.
import { expect } from 'chai';
import { createActor } from 'xstate';
import { DEFAULT_DEVICE_SETTINGS } from '../src/domain/client-settings.js';
import { DEVICE_MESSAGE } from '../src/domain/device-status.js';
import { CONNECTION_FLAGS } from '../src/domain/eligibility.js';
import { PACKAGE_TYPE } from '../src/domain/package.js';
import { PROGRAM_FLAG_WINDOWS_CE } from '../src/domain/program.js';
import type { DeviceMemory, HandheldInput, OfferProgress } from '../src/agent/device-context.js';
import { handheldMachine } from '../src/agent/machine.js';
import { PRISTINE, type DeviceState } from '../src/device/device-state.js';
import { DownloadError, type DownloadedContent } from '../src/agent/downloader.js';
import { writeCabinet } from '../src/device/cab.js';
import { SiteRequestError, type PollAnswer } from '../src/agent/site-connection.js';
import type { OutgoingReport, SitePort } from '../src/agent/site-line.js';
import type { Outbox } from '../src/agent/status-outbox.js';
import { silentLogger } from '../src/logging.js';
import type { Instructions } from '../src/protocol/documents/instructions.js';
import { provisioningDocument, provisioningOf } from '../src/protocol/documents/provisioning.js';
import { randomFromState, seededRandom } from '../src/random.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import { profile } from './support/test-site.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PKG = 'PKG-1';

const policy = (packages: string[] = [PKG]): PollAnswer => ({
  policy: {
    client: { ...DEFAULT_DEVICE_SETTINGS.client, failureRetryCount: 2 },
    softwareInventory: null,
    fileCollection: null,
    machineInventory: null,
    packages,
  },
  auth: 'token-1',
  timestamp: '6/1/2009 8:00:00 AM',
});

const instructions = (overrides: Partial<Instructions> = {}): Instructions => ({
  id: PKG,
  required: true,
  name: 'App',
  shortDescription: '',
  longDescription: '',
  packageSize: 100,
  flags: CONNECTION_FLAGS.lowBandwidth | CONNECTION_FLAGS.highBandwidth,
  startTime: null,
  recurrence: null,
  localDestination: '\\Temp\\PKG1',
  commandLine: 'wceload.exe /noui App.cab',
  sourceFiles: true,
  extension: null,
  ...overrides,
});

/** A real cabinet of one program, which wceload installs to \\Program Files\\App. */
const CONTENT: DownloadedContent = {
  bytes: 100,
  files: [{ name: 'App.cab', data: writeCabinet([{ name: 'app.exe', data: Buffer.from('FileVersion=1.0.0.0\n'), attributes: 0x20, modified: new Date(0) }]) }],
  documents: {},
};

/** A package whose command line is a simulated program (`setup.exe`): its exit code and run time come from the profile. */
const SETUP: DownloadedContent = { bytes: 100, files: [{ name: 'setup.exe', data: Buffer.from('MZ') }], documents: {} };

/** A site with canned answers. Each exchange is a function the spec may replace; every call is recorded. */
class FakeSite implements SitePort {
  readonly clock = new SimulatedClock();
  readonly server = 'fake://site';
  readonly delivered: Outbox[] = [];
  readonly reported: OutgoingReport[][] = [];
  readonly calls: string[] = [];
  exchangesAtOnce?: number;
  /** Exchanges being answered now, and the most there were at once. */
  private answering = 0;
  mostAtOnce = 0;
  answerPoll: () => Promise<PollAnswer> = () => Promise.resolve(policy());
  answerInstructions: () => Promise<Instructions> = () => Promise.resolve(instructions());
  answerDownload: () => Promise<DownloadedContent> = () => Promise.resolve(CONTENT);

  poll = () => this.call('poll', this.answerPoll);
  instructions = () => this.call('instructions', this.answerInstructions);
  locate = () =>
    this.call('locate', () =>
      Promise.resolve({ packageId: PKG, locations: [{ metric: 1, httpUrl: 'http://dp/pkg.tar', smbPath: null, directoryService: null, subnets: [] }] }),
    );
  download: SitePort['download'] = () => this.call('download', this.answerDownload);
  deliver = (_credentials: unknown, outbox: Outbox) => {
    this.delivered.push(outbox);
    return this.call('deliver', () => Promise.resolve({ delivered: outbox.map((m) => m.parameters.Sequence ?? ''), error: null }));
  };
  report = (_credentials: unknown, reports: readonly OutgoingReport[]) => {
    this.reported.push([...reports]);
    return this.call('report', () => Promise.resolve(reports.map((r) => r.type)));
  };

  private call<T>(name: string, answer: () => Promise<T>): Promise<T> {
    this.calls.push(name);
    this.mostAtOnce = Math.max(this.mostAtOnce, ++this.answering);
    const answered = answer();
    const done = () => this.answering--;
    answered.then(done, done);
    return this.clock.track(answered);
  }

  /** Message ids the device delivered, in order, each once. */
  messageIds(): number[] {
    const seen = new Map<string, number>();
    for (const outbox of this.delivered) for (const m of outbox) seen.set(m.parameters.Sequence ?? '', m.messageId);
    return [...seen.values()];
  }
}

function start(site: FakeSite, overrides: Parameters<typeof profile>[0] = {}, memory?: DeviceMemory) {
  const actor = createActor(handheldMachine, {
    input: { profile: profile(overrides), deps: { site, random: seededRandom(1), logger: silentLogger() }, ...(memory && { memory }) },
    clock: site.clock,
  });
  actor.start();
  return actor;
}

/** A device whose program runs 10 s and asks for a restart (3010) of 5 minutes: a minute in, it is restarting. */
function startRestarting(site: FakeSite) {
  site.answerInstructions = () => Promise.resolve(instructions({ commandLine: 'setup.exe /q' }));
  site.answerDownload = () => Promise.resolve(SETUP);
  return start(site, { programBehaviour: { exitCodes: [{ code: 3010, weight: 1 }], durationSeconds: { min: 10, max: 10 }, restartSeconds: 300 } });
}

describe('the device statechart, through a fake site port', () => {
  it('polls, handles the package, delivers 11030, 11031 and 11035, and is idle again with nothing left', async () => {
    const site = new FakeSite();
    const device = start(site);
    await site.clock.advance(5 * MINUTE);
    expect(site.calls.slice(0, 4)).to.deep.equal(['poll', 'instructions', 'locate', 'download']);
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded, DEVICE_MESSAGE.executionSucceeded]);
    const { value, context } = device.getSnapshot();
    expect(value).to.equal('idle');
    expect(context.outbox).to.have.length(0);
    expect(context.done).to.deep.equal({ [PKG]: true });
    // wceload deleted the CAB (and the destination it left empty); the program is where the cabinet put it.
    expect(Object.keys(context.state.files)).to.deep.equal(['\\program files\\app', '\\program files\\app\\app.exe']);
    expect(context.credentials).to.include({ auth: 'token-1', timestamp: '6/1/2009 8:00:00 AM' });
  });

  it('started because its poll is due (a sleeping device waking), polls at once from the context it rested with, drawing nothing', async () => {
    const site = new FakeSite();
    const first = start(site);
    await site.clock.advance(5 * MINUTE);
    const { deps, ...resting } = first.getSnapshot().context;
    first.stop();
    const randomAt = deps.random.state();
    site.calls.length = 0;

    const random = randomFromState(randomAt);
    const input: HandheldInput = { profile: resting.profile, deps: { site, random, logger: silentLogger() }, resting, pollsAtOnce: true };
    const woken = createActor(handheldMachine, { input, clock: site.clock });
    woken.start();
    expect(site.calls, 'asks for its poll as it starts, before any time passes').to.deep.equal(['poll']);
    expect(woken.getSnapshot().value).to.equal('polling');
    expect(random.state(), 'draws nothing on waking').to.deep.equal(randomAt);
    await site.clock.advance(MINUTE);
    // It carries on from what it rested with: the package it handled is not handled again.
    const { value, context } = woken.getSnapshot();
    expect(value).to.equal('idle');
    expect(context.done).to.deep.equal({ [PKG]: true });
    expect(context.seq).to.equal(resting.seq);
    expect(site.calls).to.deep.equal(['poll']);
  });

  it('started afresh without its poll due, waits in idle for its first poll', async () => {
    const site = new FakeSite();
    const device = createActor(handheldMachine, {
      input: { profile: profile(), deps: { site, random: seededRandom(1), logger: silentLogger() }, firstPollAt: site.clock.now() + MINUTE },
      clock: site.clock,
    });
    device.start();
    expect(device.getSnapshot().value).to.equal('idle');
    expect(site.calls).to.deep.equal([]);
    await site.clock.advance(MINUTE);
    expect(site.calls[0]).to.equal('poll');
  });

  it('asks no more of its site at once than the port carries: the other devices wait their turn, and all get through', async () => {
    const site = new FakeSite();
    site.exchangesAtOnce = 2;
    // Each poll takes a few real milliseconds to answer (work the simulated clock waits for), so the polls would overlap.
    site.answerPoll = () =>
      new Promise((resolve) => {
        setTimeout(() => {
          resolve(policy());
        }, 5);
      });
    const devices = Array.from({ length: 6 }, (_, i) => start(site, { id: `DEV-${i}` }));
    await site.clock.advance(MINUTE);
    expect(site.mostAtOnce).to.equal(2);
    for (const device of devices) {
      expect(device.getSnapshot().value).to.equal('idle');
      expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true });
    }
    expect(site.calls.filter((c) => c === 'poll')).to.have.length(6);
  });

  it('lets a device carry its cycle on before the next device polls, when its exchanges wait their turn', async () => {
    const site = new FakeSite();
    site.exchangesAtOnce = 1;
    const devices = Array.from({ length: 3 }, (_, i) => start(site, { id: `DEV-${i}` }));
    await site.clock.advance(MINUTE);
    // One at a time: the first device's instructions, content and download come before the others' polls.
    expect(site.calls.slice(0, 5)).to.deep.equal(['poll', 'instructions', 'locate', 'download', 'deliver']);
    expect(site.calls.filter((c) => c === 'poll')).to.have.length(3);
    for (const device of devices) expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true });
  });

  it('goes straight from polling to idle when the package is done and nothing is due', async () => {
    const site = new FakeSite();
    const device = start(site);
    await site.clock.advance(5 * MINUTE);
    const states: unknown[] = [];
    device.subscribe((s) => states.push(s.value));
    await site.clock.advance(2 * HOUR);
    expect(states.filter((s) => s === 'polling')).to.have.length(2);
    expect(states).to.not.include('evaluating');
    expect(site.calls.filter((c) => c === 'instructions')).to.have.length(1);
  });

  it('retries a failed poll on the backoff, then gives up until the next interval', async () => {
    const site = new FakeSite();
    site.answerPoll = () => Promise.reject(new SiteRequestError('Poll', 503, 'down'));
    const device = start(site);
    await site.clock.advance(MINUTE);
    expect(device.getSnapshot().value).to.equal('pollBackoff');
    await site.clock.advance(HOUR - MINUTE);
    // The documented defaults (no poll response yet): one poll and five retries.
    expect(site.calls.filter((c) => c === 'poll')).to.have.length(6);
    expect(device.getSnapshot().value).to.equal('idle');
  });

  it('waits at least what a Retry-After asks', async () => {
    const site = new FakeSite();
    let polls = 0;
    site.answerPoll = () => {
      if (polls++ === 0) return Promise.reject(new SiteRequestError('Poll', 503, 'busy', 20 * MINUTE));
      return Promise.resolve(policy());
    };
    start(site);
    await site.clock.advance(19 * MINUTE);
    expect(polls).to.equal(1);
    await site.clock.advance(2 * MINUTE);
    expect(polls).to.equal(2);
  });

  it('defers a package whose instructions do not come, and handles it at the next poll', async () => {
    const site = new FakeSite();
    let asked = 0;
    site.answerInstructions = () => {
      if (asked++ === 0) return Promise.reject(new SiteRequestError('InstructionRequest', 500, 'oops'));
      return Promise.resolve(instructions());
    };
    const device = start(site);
    await site.clock.advance(5 * MINUTE);
    expect(device.getSnapshot().context.done).to.deep.equal({});
    expect(site.messageIds()).to.deep.equal([]);
    await site.clock.advance(HOUR);
    expect(site.messageIds()).to.include(DEVICE_MESSAGE.executionSucceeded);
  });

  it('says once that it waits for a package (11037), however many polls list it, and again when the reason changes', async () => {
    const site = new FakeSite();
    site.answerInstructions = () => Promise.resolve(instructions({ startTime: site.clock.now() + 10 * HOUR }));
    start(site);
    await site.clock.advance(3 * HOUR + 30 * MINUTE);
    expect(site.calls.filter((call) => call === 'instructions')).to.have.length.of.at.least(3);
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.packageDeferred]);
    // Now it waits for a docked connection (this device is on a WLAN).
    site.answerInstructions = () => Promise.resolve(instructions({ flags: CONNECTION_FLAGS.passThrough }));
    await site.clock.advance(3 * HOUR);
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.packageDeferred, DEVICE_MESSAGE.packageDeferred]);
    expect(site.delivered.flat().map((m) => m.parameters.Reason)).to.include.members(['NotYetStarted', 'ConnectionClass']);
    expect(site.calls).to.not.include('download');
  });

  it('refuses a desktop program with 11034 and never downloads it', async () => {
    const site = new FakeSite();
    site.answerInstructions = () =>
      Promise.resolve(
        instructions({
          extension: extension({ program: { name: 'Setup', flags: 0, maxRunTimeMinutes: 60, platforms: ['Windows XP'], successExitCodes: [0] } }),
        }),
      );
    start(site);
    await site.clock.advance(5 * MINUTE);
    expect(site.calls).to.not.include('download');
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.packageRefused]);
    expect(site.delivered.flat()[0]!.parameters.Reason).to.equal('PlatformNotSupported');
  });

  it('as a desktop client, refuses a Windows CE program and a configuration package with 11034, downloading neither', async () => {
    const site = new FakeSite();
    const offers: Instructions[] = [
      instructions({
        id: 'PKG-CE',
        extension: extension({
          program: { name: 'Install', flags: PROGRAM_FLAG_WINDOWS_CE, maxRunTimeMinutes: 60, platforms: ['Windows XP'], successExitCodes: [0] },
        }),
      }),
      instructions({ id: 'PKG-CONFIG', commandLine: '', extension: extension({ packageType: PACKAGE_TYPE.configuration }) }),
    ];
    site.answerPoll = () => Promise.resolve(policy(offers.map((o) => o.id)));
    let asked = 0;
    site.answerInstructions = () => Promise.resolve(offers[asked++ % offers.length]!);
    start(site, { id: 'XP-0001', name: 'desktop-1', platform: 'Windows XP', osVersion: '5.1.2600' });
    await site.clock.advance(5 * MINUTE);
    expect(site.calls).to.not.include('download');
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.packageRefused, DEVICE_MESSAGE.packageRefused]);
    expect(site.delivered.flat().map((m) => [m.packageId, m.parameters.Reason])).to.deep.equal([
      ['PKG-CE', 'PlatformNotSupported'],
      ['PKG-CONFIG', 'PlatformNotSupported'],
    ]);
  });

  it('retries an interrupted download from the bytes it has, then reports 11032 when the retries run out', async () => {
    const site = new FakeSite();
    const partials: (number | undefined)[] = [];
    site.download = (request) => {
      partials.push(request.partial?.length);
      return site.clock.track(Promise.reject(new DownloadError('http', 'cut', Buffer.alloc(10 * partials.length))));
    };
    start(site);
    await site.clock.advance(HOUR);
    expect(partials).to.deep.equal([undefined, 10, 20]);
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadFailed]);
    expect(site.delivered.flat().at(-1)!.parameters.Reason).to.equal('DownloadInterrupted');
  });

  it('a one-shot download that ran out of retries fails for good: the same id is not tried again, a new id is', async () => {
    const site = new FakeSite();
    let failing = true;
    let downloads = 0;
    site.download = () => {
      downloads++;
      return site.clock.track(failing ? Promise.reject(new DownloadError('http', 'cut', Buffer.alloc(0))) : Promise.resolve(CONTENT));
    };
    const device = start(site);
    await site.clock.advance(HOUR);
    expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true });
    failing = false;
    await site.clock.advance(HOUR);
    // Listed again under the same id: handled, so not downloaded again.
    expect(downloads).to.equal(3);
    // The site lists it under a new id (its rerun setting allows a rerun after a failure): downloaded, run.
    site.answerPoll = () => Promise.resolve(policy(['PKG-2']));
    site.answerInstructions = () => Promise.resolve(instructions({ id: 'PKG-2' }));
    await site.clock.advance(HOUR);
    expect(site.messageIds().slice(-3)).to.deep.equal([DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded, DEVICE_MESSAGE.executionSucceeded]);
    expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true, 'PKG-2': true });
  });

  it('a recurring download event (Recurrence) that ran out of retries tries again at the next poll, and succeeds', async () => {
    const site = new FakeSite();
    let failing = true;
    site.answerInstructions = () => Promise.resolve(instructions({ recurrence: { intervalMs: HOUR, behavior: 'Download and Execute' } }));
    site.download = () => site.clock.track(failing ? Promise.reject(new DownloadError('http', 'cut', Buffer.alloc(0))) : Promise.resolve(CONTENT));
    const device = start(site);
    await site.clock.advance(HOUR);
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadFailed]);
    expect(device.getSnapshot().context.done).to.deep.equal({});
    failing = false;
    await site.clock.advance(HOUR);
    expect(site.messageIds().slice(2)).to.deep.equal([DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded, DEVICE_MESSAGE.executionSucceeded]);
    expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true });
  });

  it('records restart pending (11036) and delivers it before the restart, then 11035', async () => {
    const site = new FakeSite();
    const device = startRestarting(site);
    await site.clock.advance(MINUTE);
    expect(device.getSnapshot().value).to.deep.equal({ offer: { running: 'restarting' } });
    expect(site.messageIds()).to.include(DEVICE_MESSAGE.restartPending).and.not.include(DEVICE_MESSAGE.executionSucceeded);
    await site.clock.advance(10 * MINUTE);
    expect(site.messageIds().slice(-2)).to.deep.equal([DEVICE_MESSAGE.restartPending, DEVICE_MESSAGE.executionSucceeded]);
  });

  // Not behaviour but what keeps a fleet fast: each assign copies the context with Object.assign, and V8 makes a copy
  // of more than 19 fields a hash table (the offer's had 21: 13 % more client CPU per lifecycle request, see bench/).
  // The offer in hand is copied so too when it changes.
  it('keeps the device statechart and its offer in hand each to at most 19 context fields', async () => {
    const site = new FakeSite();
    const device = startRestarting(site);
    await site.clock.advance(MINUTE);
    const { value, context } = device.getSnapshot();
    expect(value).to.deep.equal({ offer: { running: 'restarting' } });
    expect(Object.keys(context.offer ?? {})).to.have.length.within(10, 19);
    expect(Object.keys(context)).to.have.length.within(10, 19);
  });

  it('stops a program at its maximum run time with 11033', async () => {
    const site = new FakeSite();
    site.answerInstructions = () =>
      Promise.resolve(
        instructions({
          commandLine: 'setup.exe /q',
          extension: extension({
            program: { name: 'Install', flags: PROGRAM_FLAG_WINDOWS_CE, maxRunTimeMinutes: 5, platforms: ['Windows Mobile 6.5'], successExitCodes: [0] },
          }),
        }),
      );
    site.answerDownload = () => Promise.resolve(SETUP);
    start(site, { programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 3600, max: 3600 }, restartSeconds: 0 } });
    await site.clock.advance(30 * MINUTE);
    expect(site.messageIds().at(-1)).to.equal(DEVICE_MESSAGE.executionFailed);
    expect(site.delivered.flat().at(-1)!.parameters).to.include({ Reason: 'MaxRunTimeExceeded', MaxRunTimeMinutes: '5' });
  });

  it('a script that reboots: 11036 before the restart, then the script continues after it and 11035', async () => {
    const site = new FakeSite();
    const script = 'createdir \\Temp\\before\r\nreboot\r\ncreatedir \\Temp\\after\r\n';
    site.answerInstructions = () => Promise.resolve(instructions({ commandLine: 'setup.dms' }));
    site.answerDownload = () => Promise.resolve({ bytes: 100, files: [{ name: 'setup.dms', data: Buffer.from(script) }], documents: {} });
    const device = start(site, { programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 10, max: 10 }, restartSeconds: 300 } });
    await site.clock.advance(MINUTE);
    expect(device.getSnapshot().value).to.deep.equal({ offer: { running: 'restarting' } });
    expect(site.delivered.flat().at(-1)!.parameters).to.include({ Reason: 'ScriptReboot' });
    expect(Object.keys(device.getSnapshot().context.state.files)).to.include('\\temp\\before').and.not.include('\\temp\\after');
    await site.clock.advance(10 * MINUTE);
    expect(site.messageIds().slice(-2)).to.deep.equal([DEVICE_MESSAGE.restartPending, DEVICE_MESSAGE.executionSucceeded]);
    expect(Object.keys(device.getSnapshot().context.state.files)).to.include('\\temp\\after');
  });

  it('applies a configuration package from its provisioning document, and reports compliance per item', async () => {
    const site = new FakeSite();
    const document = provisioningDocument.encode(provisioningOf([{ kind: 'setting', name: 'PasswordType', expected: 'PIN' }]));
    site.answerInstructions = () =>
      Promise.resolve(
        instructions({
          commandLine: '',
          extension: extension({
            packageType: PACKAGE_TYPE.configuration,
            items: [{ id: 'CI-PIN', name: 'PIN', remediate: true, file: 'CI-PIN.xml', platforms: ['Windows Mobile 6.5'] }],
          }),
        }),
      );
    site.answerDownload = () =>
      Promise.resolve({ bytes: 10, files: [{ name: 'CI-PIN.xml', data: Buffer.from(document) }], documents: { 'CI-PIN.xml': document } });
    const device = start(site, { settings: { 'setting:PasswordType': 'none' } });
    await site.clock.advance(5 * MINUTE);
    expect(site.delivered.flat().at(-1)!.parameters).to.include({ 'ConfigurationItem:CI-PIN': 'remediated' });
    expect(device.getSnapshot().context.profile.settings['setting:PasswordType']).to.equal('PIN');
  });

  it('fails a configuration package whose provisioning document does not read, naming the item', async () => {
    const site = new FakeSite();
    site.answerInstructions = () =>
      Promise.resolve(
        instructions({
          commandLine: '',
          extension: extension({
            packageType: PACKAGE_TYPE.configuration,
            items: [{ id: 'CI-X', name: 'X', remediate: false, file: 'CI-X.xml', platforms: ['Windows Mobile 6.5'] }],
          }),
        }),
      );
    site.answerDownload = () =>
      Promise.resolve({ bytes: 10, files: [{ name: 'CI-X.xml', data: Buffer.alloc(0) }], documents: { 'CI-X.xml': '<wap-provisioningdoc><characteristic' } });
    start(site);
    await site.clock.advance(5 * MINUTE);
    const last = site.delivered.flat().at(-1)!;
    expect(last.messageId).to.equal(DEVICE_MESSAGE.executionFailed);
    expect(last.parameters).to.include({ Reason: 'BadContent' });
    expect(last.parameters.Detail).to.match(/CI-X/);
  });

  it('sends the reports the poll response enables, once per interval', async () => {
    const site = new FakeSite();
    const every = {
      enabled: true,
      intervalMs: 3 * HOUR,
      fileFilters: [{ filter: '*.exe', path: '\\Windows', recursive: true, excludeCompressed: false, excludeEncrypted: false }],
    };
    site.answerPoll = () => Promise.resolve({ ...policy([]), policy: { ...policy([]).policy, machineInventory: every, softwareInventory: every } });
    start(site);
    await site.clock.advance(5 * HOUR);
    expect(site.reported.map((batch) => batch.map((r) => r.type))).to.deep.equal([
      ['MachineInventory', 'SoftwareInventory'],
      ['MachineInventory', 'SoftwareInventory'],
    ]);
    expect(site.reported[0]![1]!.body).to.match(/^<FileReport><Directory Name="\\"/);
  });
});

function extension(options: {
  program?: NonNullable<Instructions['extension']>['program'];
  packageType?: number;
  items?: NonNullable<Instructions['extension']>['configurationItems'];
}) {
  return {
    advertisement: { id: 'TST20001', name: 'Ad', revision: 1, expiresAt: null },
    content: { packageId: 'TST00001', version: 1, packageType: options.packageType ?? PACKAGE_TYPE.software, sha256: 'a'.repeat(64) },
    program: options.program ?? null,
    configurationItems: options.items ?? [],
  };
}

describe('the device statechart after a simulator restart mid-offer (the progress its --state-dir kept)', () => {
  /** What a device remembers after the simulator stopped with this package at `step`. */
  const stoppedAt = (step: OfferProgress): DeviceMemory => ({
    credentials: { uuid: 'u', auth: 'token-1', timestamp: '' },
    outbox: [],
    boot: 'b',
    seq: 3,
    done: {},
    progress: { [PKG]: step },
    state: PRISTINE,
    reportsSentAt: {},
  });

  it('finishes a pending restart without downloading or running anything, keeping what the command changed', async () => {
    const site = new FakeSite();
    const changed = { ...PRISTINE, registry: { 'hklm\\software\\app': { values: {} } } } as unknown as DeviceState;
    const device = start(site, {}, stoppedAt({ step: 'restartPending', state: changed, scriptToContinue: false }));
    await site.clock.advance(10 * MINUTE);
    expect(site.calls).to.not.include('download');
    expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.executionSucceeded]);
    const { context } = device.getSnapshot();
    expect(context.done).to.deep.equal({ [PKG]: true });
    expect(context.progress).to.deep.equal({});
    expect(context.state).to.equal(changed);
  });

  for (const step of [{ step: 'started' }, { step: 'restartPending', state: PRISTINE, scriptToContinue: true }] as OfferProgress[]) {
    it(`reports a command cut off at ${step.step}${step.step === 'restartPending' ? ' (a script to continue)' : ''} as interrupted, and never runs it again`, async () => {
      const site = new FakeSite();
      const device = start(site, {}, stoppedAt(step));
      await site.clock.advance(2 * HOUR);
      expect(site.calls).to.not.include('download');
      expect(site.messageIds()).to.deep.equal([DEVICE_MESSAGE.executionFailed]);
      expect(site.delivered.flat()[0]?.parameters.Reason).to.equal('InterruptedByDeviceRestart');
      expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true });
      expect(site.calls.filter((c) => c === 'instructions')).to.have.length(1);
    });
  }

  it('marks each step as it records its message: started with 11031, handled with 11035', async () => {
    const site = new FakeSite();
    site.answerInstructions = () => Promise.resolve(instructions({ commandLine: 'setup.exe' }));
    site.answerDownload = () => Promise.resolve(SETUP);
    const device = start(site, { programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 60, max: 60 }, restartSeconds: 90 } });
    await site.clock.advance(30_000);
    expect(device.getSnapshot().context.progress).to.deep.equal({ [PKG]: { step: 'started' } });
    await site.clock.advance(2 * MINUTE);
    expect(device.getSnapshot().context.progress).to.deep.equal({});
    expect(device.getSnapshot().context.done).to.deep.equal({ [PKG]: true });
  });
});

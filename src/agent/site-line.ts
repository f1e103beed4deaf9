import type { AnyActorRef, AnyEventObject } from 'xstate';
import type { Identification } from '../protocol/documents/device-poll.js';
import type { Instructions } from '../protocol/documents/instructions.js';
import type { PackageLocation } from '../protocol/documents/package-location.js';
import type { PackageLocationRequest } from '../protocol/documents/package-location-request.js';
import type { ReportType } from '../protocol/wire.js';
import type { Clock } from '../time/clock.js';
import { downloadPackage, type DownloadedContent, type DownloadRequest } from './downloader.js';
import { isUnauthorized, type Credentials, type PollAnswer, type SiteConnection } from './site-connection.js';
import { deliverOutbox, type Delivery, type Outbox } from './status-outbox.js';

/** One report to send: an inventory document, or a collected file with its full device path. */
export interface OutgoingReport {
  type: ReportType;
  body: string;
  fileName?: string;
}

/**
 * Everything a handheld asks of its site, and the clock its delays run on. The statechart is given one in its
 * input: a fleet gives the HTTP connection (sitePortOf), a spec gives canned answers and a simulated clock.
 */
export interface SitePort {
  readonly clock: Clock;
  /** The management point, for logs. */
  readonly server: string;
  /**
   * Exchanges the port carries at once (over HTTP, its connections); a device's exchange beyond them waits its turn
   * before it makes its request. No limit when absent.
   */
  readonly exchangesAtOnce?: number;
  poll(credentials: Credentials, identification: Identification): Promise<PollAnswer>;
  instructions(credentials: Credentials, packageId: string): Promise<Instructions>;
  locate(credentials: Credentials, request: PackageLocationRequest): Promise<PackageLocation>;
  download(request: DownloadRequest): Promise<DownloadedContent>;
  deliver(credentials: Credentials, outbox: Outbox): Promise<Delivery>;
  /** Sends reports in order; resolves with the types sent before any failed, rejects on a 401. */
  report(credentials: Credentials, reports: readonly OutgoingReport[]): Promise<ReportType[]>;
}

/** The site port of an HTTP connection to a management point. */
export function sitePortOf(connection: SiteConnection): SitePort {
  return {
    clock: connection.clock,
    server: connection.url.href,
    exchangesAtOnce: connection.connections,
    poll: (credentials, identification) => connection.poll(credentials, identification),
    instructions: (credentials, packageId) => connection.instructions(credentials, packageId),
    locate: (credentials, request) => connection.locate(credentials, request),
    download: (request) => downloadPackage(connection, request),
    deliver: (credentials, outbox) => deliverOutbox(connection, credentials, outbox),
    report: async (credentials, reports) => {
      const sent: ReportType[] = [];
      for (const report of reports) {
        try {
          await connection.report(credentials, report.type, report.body, report.fileName);
        } catch (error) {
          // Refused credentials fail the exchange: the device re-establishes its identity and sends them again.
          if (isUnauthorized(error)) throw error;
          break;
        }
        sent.push(report.type);
      }
      return sent;
    },
  };
}

/** Every exchange a device has with its site: what a state asks for, and what comes back when it succeeds. */
interface SiteExchanges {
  poll: { request: { credentials: Credentials; identification: Identification }; output: PollAnswer };
  fetchInstructions: { request: { credentials: Credentials; packageId: string }; output: Instructions };
  locateContent: { request: { credentials: Credentials; location: PackageLocationRequest }; output: PackageLocation };
  download: { request: { download: DownloadRequest }; output: DownloadedContent };
  deliverStatus: { request: { credentials: Credentials; outbox: Outbox }; output: Delivery };
  sendReports: { request: { credentials: Credentials; reports: readonly OutgoingReport[] }; output: ReportType[] };
}
type Exchange = keyof SiteExchanges;

/** What a state asks the line for: `{ type: 'poll', credentials, identification }`. */
export type SiteRequest = { [K in Exchange]: { type: K } & SiteExchanges[K]['request'] }[Exchange];

/** What the line sends back: `poll.done` with the exchange's output, or `poll.failed` with its error. */
export type SiteAnswer = {
  [K in Exchange]: { type: `${K}.done`; output: SiteExchanges[K]['output'] } | { type: `${K}.failed`; error: unknown };
}[Exchange];

const EXCHANGES: { [K in Exchange]: (port: SitePort, request: SiteExchanges[K]['request']) => Promise<SiteExchanges[K]['output']> } = {
  poll: (port, { credentials, identification }) => port.poll(credentials, identification),
  fetchInstructions: (port, { credentials, packageId }) => port.instructions(credentials, packageId),
  locateContent: (port, { credentials, location }) => port.locate(credentials, location),
  download: (port, { download }) => port.download(download),
  deliverStatus: (port, { credentials, outbox }) => port.deliver(credentials, outbox),
  sendReports: (port, { credentials, reports }) => port.report(credentials, reports),
};

/** The answers' event types, made once: the statechart looks each answer up by its type. */
const ANSWERS = Object.fromEntries(Object.keys(EXCHANGES).map((type) => [type, { done: `${type}.done`, failed: `${type}.failed` }])) as {
  [K in Exchange]: { done: `${K}.done`; failed: `${K}.failed` };
};

/**
 * The exchange in flight per kind and device, across every line: keyed by the device's statechart itself, not by a
 * string made of its session and the kind (building and hashing that string at every exchange cost more).
 */
const inFlight = Object.fromEntries(Object.keys(EXCHANGES).map((type) => [type, new WeakMap<AnyActorRef, Promise<unknown>>()])) as Record<
  Exchange,
  WeakMap<AnyActorRef, Promise<unknown>>
>;

/** The same maps as a list, made once: a fleet asks `awaitsAnswer` each time a device reaches idle. */
const everyInFlight = Object.values(inFlight);

/** Whether a device has an exchange out, so an answer is still to come to it. */
export function awaitsAnswer(device: AnyActorRef): boolean {
  return everyInFlight.some((exchanges) => exchanges.has(device));
}

/**
 * The devices' line to their site: it runs each exchange a device's state asks for (the chart's `ask` actions, see
 * ./chart-setup.ts) and sends the answer back to that device as an event. One line serves every device of a port, as
 * the connection's socket pool does. Not an invoked actor per exchange: starting and stopping an actor per poll cost
 * a third of a fleet's CPU; nor one per device: it cost 2 KB of each idle device's memory (see bench/); nor an actor
 * the devices send their requests to: each request was then an event through XState's mailboxes as well. An answer
 * that comes after its state was left is handled where the statechart says, or dropped; one for a stopped device is
 * dropped.
 *
 * A device has one exchange of a kind in flight at a time: a second (a delivery asked for while the last is still
 * out) goes when the first is answered. So the site gets each device's requests of an action in the order the device
 * made them, whatever the network does, and what it decides per request of a device (a fault's roll) is the same in
 * every replay.
 *
 * The line runs as many exchanges at once as its port carries (exchangesAtOnce); the others wait their turn before
 * they make their requests. A fleet that asks more at once than it has connections (2,000 fresh devices on 64) then
 * holds what each device asked, not an encoded request queued in the HTTP client for a hundred milliseconds: that
 * outlived the young generation, and collecting it cost a fifth of the client's CPU (see bench/). A device's cycle
 * already begun goes first: its exchanges after the poll take their turns before the polls waiting (each kind in the
 * order asked), so a congested fleet finishes cycles rather than holding every device midway.
 */
export class SiteLine {
  private readonly turns: Turns;

  constructor(private readonly port: SitePort) {
    this.turns = new Turns(port);
  }

  /** Runs the exchange `request` names for `device`, whose answer comes back to it as an event. */
  ask(device: AnyActorRef, request: SiteRequest): void {
    const { port, turns } = this;
    const exchange = EXCHANGES[request.type] as (port: SitePort, request: SiteRequest) => Promise<unknown>;
    const answer = ANSWERS[request.type];
    const exchanges = inFlight[request.type];
    const before = exchanges.get(device);
    let work: Promise<unknown>;
    const begins = request.type === 'poll';
    if (before === undefined) work = turns.run(() => exchange(port, request), begins);
    // After the one before it, however that ended; tracked while it waits, so a simulated clock does not move between.
    else work = port.clock.track(before.then(nothing, nothing).then(() => turns.run(() => exchange(port, request), begins)));
    exchanges.set(device, work);
    work.then(
      (output) => {
        reply(turns, exchanges, work, device, { type: answer.done, output });
      },
      (error: unknown) => {
        reply(turns, exchanges, work, device, { type: answer.failed, error });
      },
    );
  }
}

/**
 * Exchanges run at most `exchangesAtOnce` at a time; as one's answer reaches its device, the next waiting starts: one
 * that carries on a device's cycle before one that begins a cycle (a poll). In the order asked instead, 2,000 fresh
 * devices on 64 connections each waited behind every other device's poll between two of its exchanges, and what a
 * device held meanwhile was promoted out of the young generation: 57 KB a lifecycle, against 34 KB cycles first.
 */
class Turns {
  private readonly limit: number;
  private running = 0;
  private readonly waiting: { continuing: (() => void)[]; beginning: (() => void)[] } = { continuing: [], beginning: [] };

  constructor(private readonly port: SitePort) {
    this.limit = port.exchangesAtOnce ?? Infinity;
  }

  /** Runs an exchange when there is room; `begins`: it begins a device's cycle (waits behind those carrying on). */
  run<T>(exchange: () => Promise<T>, begins: boolean): Promise<T> {
    if (this.running < this.limit) return this.start(exchange);
    const queue = begins ? this.waiting.beginning : this.waiting.continuing;
    // Tracked while it waits, so a simulated clock does not move past it.
    return this.port.clock.track(new Promise<T>((resolve, reject) => queue.push(() => void this.start(exchange).then(resolve, reject))));
  }

  private start<T>(exchange: () => Promise<T>): Promise<T> {
    const work = exchange();
    this.running++;
    return work;
  }

  /** A started exchange's answer has reached its device: its turn passes to the next waiting. */
  passOn(): void {
    this.running--;
    (this.waiting.continuing.shift() ?? this.waiting.beginning.shift())?.();
  }
}

/**
 * Hands a device its answer; then the turn passes on, so a device carrying on its cycle has asked for its next
 * exchange by then and goes before the polls waiting. A function of the module, not a closure per exchange: tsx
 * names every closure it makes (a defineProperty each), a per cent of a fleet's CPU on this path.
 */
function reply(turns: Turns, exchanges: WeakMap<AnyActorRef, Promise<unknown>>, work: Promise<unknown>, device: AnyActorRef, answer: AnyEventObject): void {
  // The exchange is answered: the next of its kind for that device may go.
  if (exchanges.get(device) === work) exchanges.delete(device);
  try {
    device.send(answer);
  } finally {
    turns.passOn();
  }
}

const nothing = (): void => undefined;

const lines = new WeakMap<SitePort, SiteLine>();

/** The line of a port, made at its first use. */
export function siteLineOf(port: SitePort): SiteLine {
  let line = lines.get(port);
  if (!line) {
    line = new SiteLine(port);
    lines.set(port, line);
  }
  return line;
}

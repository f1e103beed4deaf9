import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { DeviceStatusMessage } from '../domain/device-status.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import { devicePoll } from '../protocol/documents/device-poll.js';
import { instructions, type Instructions } from '../protocol/documents/instructions.js';
import { instructionsRequest } from '../protocol/documents/instructions-request.js';
import { packageLocation, type PackageLocation } from '../protocol/documents/package-location.js';
import { packageLocationRequest, type PackageLocationRequest } from '../protocol/documents/package-location-request.js';
import { pollResponse, type PollResponse } from '../protocol/documents/poll-response.js';
import { statusDocument } from '../protocol/documents/status.js';
import { CLIENT_VERSION, HEADERS, managementPointUrl, MANAGEMENT_SYSTEM, type Action, type ReportType } from '../protocol/wire.js';
import { ProtocolError } from '../protocol/xml.js';
import { errorText, type Logger } from '../logging.js';
import type { Clock } from '../time/clock.js';
import { DecodeCache } from './decode-cache.js';

/** The wait a Retry-After header asks for (seconds, or an HTTP date), in milliseconds; null without one. */
export function retryAfterMs(header: unknown, now: number): number | null {
  if (typeof header !== 'string' || header.trim() === '') return null;
  if (/^\d+$/.test(header.trim())) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** An exchange with the site that did not succeed at the HTTP level. `status` is null when no answer came. */
export class SiteRequestError extends Error {
  constructor(
    readonly action: string,
    readonly status: number | null,
    readonly reason: string,
    /** How long the site asked the device to wait (429/503 with Retry-After). */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`${action}: ${status === null ? 'no answer' : `HTTP ${status}`}: ${reason}`);
    this.name = 'SiteRequestError';
  }
}

/** Whether the site refused a device's credentials (401): the device must poll again to be known. */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof SiteRequestError && error.status === 401;
}

/**
 * What a device presents on every request: its UUID, and the two opaque values the server set in its last poll
 * answer (X-Device-Auth, X-Device-Timestamp), echoed back as the reference says. Empty until a server sets them.
 */
export interface Credentials {
  uuid: string;
  auth: string;
  timestamp: string;
}

/** A poll's answer: the response document, and the opaque values the server set for the device to echo. */
export interface PollAnswer {
  policy: PollResponse;
  auth: string | null;
  timestamp: string | null;
}

/** One exchange as it crossed the wire, for `--wire-log`. */
export interface WireExchange {
  device: string;
  action: string;
  status: number | null;
  ms: number;
  request: { headers: Record<string, string>; body: string };
  response: { headers: Record<string, string | string[] | undefined>; body: string } | null;
  error?: string;
}

export interface SiteConnectionOptions {
  serverUrl: string;
  clock: Clock;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Concurrent connections to the site, for the whole fleet (256 by default). */
  maxSockets?: number;
  /** Told of every exchange: endpoint (action, report type, or Content), wall-clock milliseconds, success. */
  onExchange?: (endpoint: string, ms: number, ok: boolean) => void;
  /** At debug level, every exchange is logged: device, action, HTTP status, milliseconds, and any error. */
  logger?: Logger;
  /** Given every device-management exchange whole, for the devices `wireLogFilter` accepts. */
  onWire?: (exchange: WireExchange) => void;
  wireLogFilter?: (uuid: string) => boolean;
}

/** An answer from the site: status, headers, and the body as text (device management) or a stream (content). */
export interface SiteResponse<Body> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Body;
}

/**
 * The device side of the wire protocol. One connection (one keep-alive socket pool) serves a whole fleet; each call
 * names the device it speaks for, so a device costs no HTTP client of its own. It speaks HTTP through undici, not
 * axios: at fleet rates the client is the bottleneck, and undici costs a third of axios per exchange (see bench/).
 * An answer that is not 200, or that does not decode, fails the exchange and counts as an error for its endpoint.
 */
export class SiteConnection {
  private readonly agent: Agent;
  /** The management point: the server URL's path, or the documented one for a bare origin. */
  readonly url: URL;
  readonly clock: Clock;
  private readonly onExchange: SiteConnectionOptions['onExchange'];
  private readonly onWire: SiteConnectionOptions['onWire'];
  private readonly logger: Logger | undefined;
  private readonly wireLogFilter: SiteConnectionOptions['wireLogFilter'];
  // What many devices receive word for word is decoded once for all of them.
  private readonly policies = new DecodeCache(pollResponse.decode);
  private readonly instructionsFor = new DecodeCache(instructions.decode);
  private readonly locations = new DecodeCache(packageLocation.decode);
  /** Each live device's last DevicePoll, by its identification: gone with it when the device sleeps or stops. */
  private readonly pollBodies = new WeakMap<Identification, { auth: string; timestamp: string; body: string }>();

  constructor(options: SiteConnectionOptions) {
    this.clock = options.clock;
    this.onExchange = options.onExchange;
    this.onWire = options.onWire;
    this.logger = options.logger;
    this.wireLogFilter = options.wireLogFilter;
    this.url = managementPointUrl(options.serverUrl);
    const timeout = options.timeoutMs ?? 30_000;
    this.agent = new Agent({ connections: options.maxSockets ?? 256, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /** Closes the pooled sockets. */
  close(): Promise<void> {
    return this.agent.close();
  }

  async poll(credentials: Credentials, identification: Identification): Promise<PollAnswer> {
    const { document, headers } = await this.exchange(credentials, 'Poll', this.pollBody(credentials, identification), this.policies.get);
    return { policy: document, auth: single(headers[HEADERS.auth]), timestamp: single(headers[HEADERS.timestamp]) };
  }

  /**
   * A device's DevicePoll, encoded again only when its credentials change: a device keeps one identification while
   * it is live (HandheldContext.identification, frozen), and most of its polls send the same document.
   */
  private pollBody(credentials: Credentials, identification: Identification): string {
    const last = this.pollBodies.get(identification);
    if (last?.auth === credentials.auth && last.timestamp === credentials.timestamp) return last.body;
    const body = devicePoll.encode({
      managementSystem: MANAGEMENT_SYSTEM,
      identification,
      // As real devices sent: `0` until the server has set a value.
      connection: { authorizationToken: credentials.auth || '0', timestamp: credentials.timestamp || '0' },
    });
    if (Object.isFrozen(identification)) this.pollBodies.set(identification, { auth: credentials.auth, timestamp: credentials.timestamp, body });
    return body;
  }

  async instructions(credentials: Credentials, packageId: string): Promise<Instructions> {
    return (await this.exchange(credentials, 'InstructionRequest', instructionsRequest.encode({ packageId }), this.instructionsFor.get)).document;
  }

  async locate(credentials: Credentials, request: PackageLocationRequest): Promise<PackageLocation> {
    return (await this.exchange(credentials, 'LocationRequest', packageLocationRequest.encode(request), this.locations.get)).document;
  }

  /** Sends status messages in one Status document; a 200 means the server has them (the answer's body is not read). */
  async reportStatus(credentials: Credentials, messages: DeviceStatusMessage[]): Promise<void> {
    await this.exchange(credentials, 'Status', statusDocument.encode({ messages }), ignoreBody);
  }

  /** Sends one report: an inventory document, or one collected file's bytes with its full device path. */
  async report(credentials: Credentials, type: ReportType, body: string, fileName?: string): Promise<void> {
    await this.exchange(credentials, 'Report', body, ignoreBody, {
      [HEADERS.reportType]: type,
      ...(fileName !== undefined && { [HEADERS.fileName]: fileName }),
    });
  }

  private async exchange<T>(
    credentials: Credentials,
    action: Action,
    body: string,
    decode: (text: string) => T,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ document: T; headers: SiteResponse<string>['headers'] }> {
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      [HEADERS.uuid]: credentials.uuid,
      [HEADERS.auth]: credentials.auth,
      [HEADERS.timestamp]: credentials.timestamp,
      [HEADERS.clientVersion]: CLIENT_VERSION,
      [HEADERS.action]: action,
      ...extraHeaders,
    };
    const endpoint = extraHeaders[HEADERS.reportType] ? `${action}/${extraHeaders[HEADERS.reportType]}` : action;
    const wire = this.onWire && (this.wireLogFilter?.(credentials.uuid) ?? true) ? this.onWire : undefined;
    const started = performance.now();
    let response: SiteResponse<string> | null = null;
    try {
      response = await this.clock.track(this.post(headers, body));
      if (response.status !== 200) {
        throw new SiteRequestError(endpoint, response.status, response.body.slice(0, 300), retryAfterMs(response.headers['retry-after'], this.clock.now()));
      }
      const document = decode(response.body);
      this.onExchange?.(endpoint, performance.now() - started, true);
      wire?.(wireEntry(credentials.uuid, endpoint, headers, body, response, started));
      this.debug(credentials.uuid, endpoint, response.status, started);
      return { document, headers: response.headers };
    } catch (error) {
      this.onExchange?.(endpoint, performance.now() - started, false);
      wire?.({ ...wireEntry(credentials.uuid, endpoint, headers, body, response, started), error: String(error) });
      this.debug(credentials.uuid, endpoint, response?.status ?? null, started, error);
      if (error instanceof SiteRequestError || error instanceof ProtocolError) throw error;
      throw new SiteRequestError(endpoint, null, (error as Error).message);
    }
  }

  private debug(device: string, action: string, status: number | null, started: number, error?: unknown): void {
    if (!this.logger?.isLevelEnabled('debug')) return;
    const ms = Math.round(performance.now() - started);
    this.logger.debug('exchange', { device, action, status, ms, server: this.url.href, ...(error !== undefined && { error: errorText(error) }) });
  }

  /**
   * One POST to the management point, its answer collected as text. Through undici's dispatcher directly: its
   * `request()` wraps every answer in a stream, which costs about a tenth more CPU per fleet poll.
   */
  private post(headers: Record<string, string>, body: string): Promise<SiteResponse<string>> {
    return new Promise((resolve, reject) => {
      this.agent.dispatch(
        { origin: this.url.origin, path: this.url.pathname + this.url.search, method: 'POST', headers, body },
        new TextAnswer(resolve, reject),
      );
    });
  }

  /** Starts fetching package content from a distribution point URL, from byte `from` on (an HTTP Range). */
  async download(url: string, from: number): Promise<SiteResponse<Readable>> {
    const headers = from > 0 ? { range: `bytes=${from}-` } : {};
    const started = performance.now();
    try {
      const { statusCode, headers: answer, body } = await this.clock.track(request(url, { headers, dispatcher: this.agent }));
      this.onExchange?.('Content', performance.now() - started, statusCode < 400);
      return { status: statusCode, headers: answer, body };
    } catch (error) {
      this.onExchange?.('Content', performance.now() - started, false);
      throw new SiteRequestError('Content', null, (error as Error).message);
    }
  }
}

const ignoreBody = () => undefined;

const single = (value: string | string[] | undefined): string | null => (Array.isArray(value) ? (value[0] ?? null) : (value ?? null));

function wireEntry(
  device: string,
  action: string,
  headers: Record<string, string>,
  body: string,
  response: SiteResponse<string> | null,
  started: number,
): WireExchange {
  return {
    device,
    action,
    status: response?.status ?? null,
    ms: Math.round((performance.now() - started) * 10) / 10,
    request: { headers, body },
    response: response && { headers: response.headers, body: response.body },
  };
}

/**
 * Collects one answer as text, for undici's dispatcher. A class rather than a literal of callbacks: a fleet makes
 * one per request, and methods are not closures made anew each time.
 */
class TextAnswer implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private status = 0;
  private headers: SiteResponse<string>['headers'] = {};

  constructor(
    private readonly resolve: (response: SiteResponse<string>) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  // Present so that undici takes this for a handler of its current interface.
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: SiteResponse<string>['headers']): void {
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.resolve({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks).toString('utf8') });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

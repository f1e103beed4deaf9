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
import { HttpTransport, type ContentResponse, type SiteResponse, type SiteTransport } from './site-transport.js';

export type { SiteResponse } from './site-transport.js';

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
  /** How requests reach the site: HTTP (the default, a new HttpTransport), or a replay's embedded site in process. */
  transport?: SiteTransport;
  /** Told of every exchange: endpoint (action, report type, or Content), wall-clock milliseconds, success. */
  onExchange?: (endpoint: string, ms: number, ok: boolean) => void;
  /** At debug level, every exchange is logged: device, action, HTTP status, milliseconds, and any error. */
  logger?: Logger;
  /** Given every device-management exchange whole, for the devices `wireLogFilter` accepts. */
  onWire?: (exchange: WireExchange) => void;
  wireLogFilter?: (uuid: string) => boolean;
}

/**
 * The device side of the wire protocol. One connection (one transport: over HTTP, one keep-alive socket pool) serves a
 * whole fleet; each call names the device it speaks for, so a device costs no HTTP client of its own.
 * An answer that is not 200, or that does not decode, fails the exchange and counts as an error for its endpoint.
 */
export class SiteConnection {
  private readonly transport: SiteTransport;
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
    this.transport = options.transport ?? new HttpTransport();
  }

  /** Requests it carries at once: its transport's connections. */
  get connections(): number {
    return this.transport.connections;
  }

  /** Closes the transport (over HTTP, the pooled sockets). */
  close(): Promise<void> {
    return this.transport.close();
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
      response = await this.clock.track(this.transport.post(this.url, headers, body));
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

  /** Starts fetching package content from a distribution point URL, from byte `from` on (an HTTP Range). */
  async download(url: string, from: number): Promise<ContentResponse> {
    const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-` } : {};
    const started = performance.now();
    try {
      const response = await this.clock.track(this.transport.get(url, headers));
      this.onExchange?.('Content', performance.now() - started, response.status < 400);
      return response;
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

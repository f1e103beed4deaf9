import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import {
  complianceReport,
  DEVICE_MANAGEMENT_PATH,
  HEADERS,
  instructionRequest,
  instructionResponse,
  packageLocationRequest,
  packageLocationResponse,
  pollRequest,
  pollResponse,
  registrationRequest,
  registrationResponse,
  reportResponse,
  statusReport,
  type ComplianceReport,
  type DeviceAction,
  type DeviceIdentity,
  type InstructionResponse,
  type PackageLocationResponse,
  type PollResponse,
  type ReportResponse,
  type ReportType,
  type StatusReport,
  type StatusReportType,
} from '../protocol/documents.js';
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

export interface Credentials {
  uuid: string;
  authToken: string | null;
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
 */
export class SiteConnection {
  private readonly agent: Agent;
  private readonly deviceManagementUrl: URL;
  readonly clock: Clock;
  private readonly onExchange: SiteConnectionOptions['onExchange'];
  // What many devices receive word for word is decoded once for all of them. Not registrations or report answers:
  // those name one device.
  private readonly policies = new DecodeCache(pollResponse.decode);
  private readonly instructionsFor = new DecodeCache(instructionResponse.decode);
  private readonly locations = new DecodeCache(packageLocationResponse.decode);
  private lastPoll: { policyVersion: number | null; text: string } | null = null;

  constructor(options: SiteConnectionOptions) {
    this.clock = options.clock;
    this.onExchange = options.onExchange;
    this.deviceManagementUrl = new URL(DEVICE_MANAGEMENT_PATH, options.serverUrl);
    const timeout = options.timeoutMs ?? 30_000;
    this.agent = new Agent({ connections: options.maxSockets ?? 256, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /** Closes the pooled sockets. */
  close(): Promise<void> {
    return this.agent.close();
  }

  async register(identity: DeviceIdentity): Promise<string> {
    const credentials = { uuid: identity.uuid, authToken: null };
    return (await this.exchange(credentials, 'Register', registrationRequest.encode({ device: identity }), registrationResponse.decode)).authToken;
  }

  poll(credentials: Credentials, policyVersion: number | null): Promise<PollResponse> {
    return this.exchange(credentials, 'Poll', this.pollDocument(policyVersion), this.policies.get);
  }

  /**
   * A device names itself in the headers, so every device that holds the site's current policy polls with the same
   * document: it is encoded again only when the version asked about changes.
   */
  private pollDocument(policyVersion: number | null): string {
    if (this.lastPoll?.policyVersion !== policyVersion) this.lastPoll = { policyVersion, text: pollRequest.encode({ policyVersion }) };
    return this.lastPoll.text;
  }

  instructions(credentials: Credentials, advertisementId: string): Promise<InstructionResponse> {
    return this.exchange(credentials, 'InstructionRequest', instructionRequest.encode({ advertisementId }), this.instructionsFor.get);
  }

  locate(credentials: Credentials, packageId: string, version: number): Promise<PackageLocationResponse> {
    return this.exchange(credentials, 'PackageLocationRequest', packageLocationRequest.encode({ packageId, version }), this.locations.get);
  }

  reportStatus(credentials: Credentials, type: StatusReportType, report: StatusReport): Promise<ReportResponse> {
    return this.exchange(credentials, 'Report', statusReport.encode(type, report), reportResponse.decode, type);
  }

  reportCompliance(credentials: Credentials, report: ComplianceReport): Promise<ReportResponse> {
    return this.exchange(credentials, 'Report', complianceReport.encode(report), reportResponse.decode, 'ComplianceReport');
  }

  private async exchange<T>(credentials: Credentials, action: DeviceAction, body: string, decode: (text: string) => T, reportType?: ReportType): Promise<T> {
    const headers: Record<string, string> = {
      'content-type': 'application/xml; charset=utf-8',
      [HEADERS.uuid]: credentials.uuid,
      [HEADERS.timestamp]: new Date(this.clock.now()).toISOString(),
      [HEADERS.action]: action,
    };
    if (credentials.authToken !== null) headers[HEADERS.auth] = credentials.authToken;
    if (reportType) headers[HEADERS.reportType] = reportType;
    const name = reportType ? `${action}/${reportType}` : action;
    const response = await this.timed(name, () => this.post(headers, body));
    if (response.status !== 200) {
      throw new SiteRequestError(name, response.status, response.body.slice(0, 300), retryAfterMs(response.headers['retry-after'], this.clock.now()));
    }
    return decode(response.body);
  }

  /**
   * One POST to the device management point, its answer collected as text. Through undici's dispatcher directly:
   * its `request()` wraps every answer in a stream, which costs about a tenth more CPU per fleet poll.
   */
  private post(headers: Record<string, string>, body: string): Promise<SiteResponse<string>> {
    return new Promise((resolve, reject) => {
      this.agent.dispatch(
        { origin: this.deviceManagementUrl.origin, path: this.deviceManagementUrl.pathname, method: 'POST', headers, body },
        new TextAnswer(resolve, reject),
      );
    });
  }

  /** Starts fetching package content from a distribution point URL, from byte `from` on (an HTTP Range). */
  download(url: string, from: number): Promise<SiteResponse<Readable>> {
    const headers = from > 0 ? { range: `bytes=${from}-` } : {};
    return this.timed('Content', async () => {
      const { statusCode, headers: answer, body } = await request(url, { headers, dispatcher: this.agent });
      return { status: statusCode, headers: answer, body };
    });
  }

  /** Runs one HTTP exchange: tracked on the clock, timed, and turned into a SiteRequestError if no answer came. */
  private async timed<T extends { status: number }>(endpoint: string, exchange: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const response = await this.clock.track(exchange());
      this.onExchange?.(endpoint, performance.now() - started, response.status < 400);
      return response;
    } catch (error) {
      this.onExchange?.(endpoint, performance.now() - started, false);
      throw new SiteRequestError(endpoint, null, (error as Error).message);
    }
  }
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

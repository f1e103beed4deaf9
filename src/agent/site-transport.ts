import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';

/** An answer from the site: status, headers, and the body as text (device management) or a stream (content). */
export interface SiteResponse<Body> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Body;
}

/**
 * How a fleet's requests reach their site. Over HTTP (HttpTransport) against any server; a replay hands the same
 * requests to its embedded site in the same thread (simulator/embedded-site-transport.ts). A request that gets no
 * answer (refused, cut off) rejects with the error the socket gave.
 */
export interface SiteTransport {
  /** Requests it carries at once (over HTTP, its connections); Infinity when there is no such limit. */
  readonly connections: number;
  /** One POST to the management point, its answer collected as text. */
  post(url: URL, headers: Record<string, string>, body: string): Promise<SiteResponse<string>>;
  /** One GET of package content from a distribution point, its body a stream. */
  get(url: string, headers: Record<string, string>): Promise<SiteResponse<Readable>>;
  close(): Promise<void>;
}

export interface HttpTransportOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Concurrent connections to the site, for the whole fleet (256 by default). */
  maxSockets?: number;
}

/**
 * HTTP through undici, not axios: at fleet rates the client is the bottleneck, and undici costs a third of axios per
 * exchange (see bench/). One keep-alive socket pool serves a whole fleet.
 */
export class HttpTransport implements SiteTransport {
  private readonly agent: Agent;
  readonly connections: number;

  constructor(options: HttpTransportOptions = {}) {
    const timeout = options.timeoutMs ?? 30_000;
    this.connections = options.maxSockets ?? 256;
    this.agent = new Agent({ connections: this.connections, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /**
   * Through undici's dispatcher directly: its `request()` wraps every answer in a stream, which costs about a tenth more
   * CPU per fleet poll.
   */
  post(url: URL, headers: Record<string, string>, body: string): Promise<SiteResponse<string>> {
    return new Promise((resolve, reject) => {
      this.agent.dispatch({ origin: url.origin, path: url.pathname + url.search, method: 'POST', headers, body }, new TextAnswer(resolve, reject));
    });
  }

  async get(url: string, headers: Record<string, string>): Promise<SiteResponse<Readable>> {
    const { statusCode, headers: answer, body } = await request(url, { headers, dispatcher: this.agent });
    return { status: statusCode, headers: answer, body };
  }

  /** Closes the pooled sockets. */
  close(): Promise<void> {
    return this.agent.close();
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

import { Agent, type Dispatcher } from 'undici';

/** An answer from the site: status, headers, and the body as text (device management) or bytes (content). */
export interface SiteResponse<Body> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Body;
}

/**
 * Package content as it arrived: the whole body, or the bytes that came before the connection was lost (`cutOff`,
 * the socket's error), which a download resumes after. Collected, not streamed: a device keeps its package whole
 * until it has run it, and a stream per download cost more than the bytes.
 */
export interface ContentResponse extends SiteResponse<Buffer> {
  cutOff: Error | null;
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
  /** One GET of package content from a distribution point; rejects only when no answer began. */
  get(url: string, headers: Record<string, string>): Promise<ContentResponse>;
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

  get(url: string, headers: Record<string, string>): Promise<ContentResponse> {
    const target = new URL(url);
    return new Promise((resolve, reject) => {
      this.agent.dispatch({ origin: target.origin, path: target.pathname + target.search, method: 'GET', headers }, new ContentAnswer(resolve, reject));
    });
  }

  /** Closes the pooled sockets. */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * Collects one answer's bytes, for undici's dispatcher. A class rather than a literal of callbacks: a fleet makes
 * one per request, and methods are not closures made anew each time.
 */
abstract class CollectedAnswer<Response> implements Dispatcher.DispatchHandler {
  protected readonly chunks: Buffer[] = [];
  protected status = 0;
  protected headers: SiteResponse<unknown>['headers'] = {};
  /** Whether the answer's status line and headers came. */
  protected started = false;

  constructor(
    protected readonly resolve: (response: Response) => void,
    protected readonly reject: (error: Error) => void,
  ) {}

  // Present so that undici takes this for a handler of its current interface.
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: SiteResponse<unknown>['headers']): void {
    this.status = statusCode;
    this.headers = headers;
    this.started = true;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  abstract onResponseEnd(): void;
  abstract onResponseError(controller: Dispatcher.DispatchController, error: Error): void;
}

/** A device-management answer, as text; any failure before its end fails the exchange. */
class TextAnswer extends CollectedAnswer<SiteResponse<string>> {
  onResponseEnd(): void {
    this.resolve({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks).toString('utf8') });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

/** Package content, as bytes; a connection lost after the answer began gives what arrived, to resume after. */
class ContentAnswer extends CollectedAnswer<ContentResponse> {
  onResponseEnd(): void {
    this.resolve({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks), cutOff: null });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.started) this.resolve({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks), cutOff: error });
    else this.reject(error);
  }
}

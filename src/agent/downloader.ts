import { createHash } from 'node:crypto';
import { Parser, type ReadEntry } from 'tar';
import type { PackageFile } from '../device/post-install.js';
import { retryAfterMs, type SiteConnection } from './site-connection.js';

export type DownloadFailure = 'http' | 'size' | 'hash' | 'archive';

/** A download that cannot be used. `size` and `hash` mean the content does not match the source (status 10057). */
export class DownloadError extends Error {
  constructor(
    readonly failure: DownloadFailure,
    readonly reason: string,
    /** The bytes received before an HTTP failure cut the download short: the next attempt resumes after them. */
    readonly partial: Buffer | null = null,
    /** How long the distribution point asked the device to wait (429/503 with Retry-After). */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`download ${failure} failure: ${reason}`);
    this.name = 'DownloadError';
  }
}

export interface DownloadRequest {
  url: string;
  /** PackageSize from the instructions. */
  expectedSize: number;
  /** From mlc-sim's instructions extension; a documented server gives none, and the size is all that is checked. */
  expectedSha256: string | null;
  /** Bytes an earlier attempt received: asked for again only from the end of them, with an HTTP Range. */
  partial: Buffer | null;
}

/**
 * What the device keeps of a verified package until it has run it: its files, and the text of the provisioning
 * documents among them (a configuration package's settings). A tar archive (our site's packages) is unpacked; any
 * other content (a CAB from another server) is one file, named as the URL names it.
 */
export interface DownloadedContent {
  bytes: number;
  files: readonly PackageFile[];
  documents: Readonly<Record<string, string>>;
}

/**
 * Downloads a package over HTTP, resuming after an earlier attempt's bytes, and proves it is the one the
 * instructions name: exact size, SHA-256 when given, and a tar archive that reads cleanly. Anything else is a DownloadError, and
 * the program never runs. The whole transfer is tracked on the clock, so simulated time waits for it.
 */
export function downloadPackage(connection: SiteConnection, request: DownloadRequest): Promise<DownloadedContent> {
  return connection.clock.track(transfer(connection, request));
}

async function transfer(connection: SiteConnection, request: DownloadRequest): Promise<DownloadedContent> {
  const have = request.partial?.length ?? 0;
  let response;
  try {
    response = await connection.download(request.url, have);
  } catch (error) {
    throw new DownloadError('http', `no answer for ${contentPath(request.url)}: ${(error as Error).message}`, request.partial);
  }
  const { status, headers, body, cutOff } = response;
  if (status !== 200 && status !== 206) {
    // 416: what we hold is not a prefix of this content any more; start again from the first byte.
    const keep = status === 416 ? null : request.partial;
    throw new DownloadError('http', `HTTP ${status} for ${contentPath(request.url)}`, keep, retryAfterMs(headers['retry-after'], connection.clock.now()));
  }
  // A 206 must continue exactly where we stopped; a 200 is the whole archive again.
  const resumed = status === 206 && String(headers['content-range']).startsWith(`bytes ${have}-`);
  const archive = resumed && request.partial ? Buffer.concat([request.partial, body]) : body;
  if (cutOff) throw new DownloadError('http', `connection lost after ${archive.length} bytes: ${cutOff.message}`, archive);
  if (archive.length !== request.expectedSize) {
    throw new DownloadError('size', `got ${archive.length} bytes, the policy says ${request.expectedSize}`);
  }
  if (request.expectedSha256 !== null) {
    const known = verifiedArchives.find(request.expectedSha256, archive);
    if (known !== undefined) return { bytes: archive.length, ...(await known) };
    const sha256 = createHash('sha256').update(archive).digest('hex');
    if (sha256 !== request.expectedSha256) throw new DownloadError('hash', `SHA-256 ${sha256} does not match the policy's ${request.expectedSha256}`);
  }
  if (!isTar(archive)) {
    const name = decodeURIComponent(new URL(request.url).pathname.split('/').pop() || 'package.bin');
    return { bytes: archive.length, files: [{ name, data: archive }], documents: {} };
  }
  return { bytes: archive.length, ...(await (request.expectedSha256 === null ? readArchive(archive) : verifiedArchives.add(request.expectedSha256, archive))) };
}

/**
 * Archives verified and unpacked once per SHA-256 for every device: a rollout's devices each download the same
 * package, and hashing and unpacking it again was a fifth of a device's download. An entry holds the very bytes
 * whose hash was checked: a device that received exactly those bytes (compared, which costs far less than hashing)
 * has content with that hash, and gets them unpacked. Frozen, as every device that got them shares it. One that
 * does not unpack is not kept. Bounded, oldest first: a site has few packages at a time.
 */
class VerifiedArchives {
  private readonly verified = new Map<string, { archive: Buffer; unpacked: Promise<Unpacked> }>();

  constructor(private readonly capacity: number) {}

  /** The content of an archive with this hash, when the bytes are those verified before. */
  find(sha256: string, archive: Buffer): Promise<Unpacked> | undefined {
    const known = this.verified.get(sha256);
    return known?.archive.equals(archive) ? known.unpacked : undefined;
  }

  /** Unpacks an archive whose hash was just checked, for every device that receives the same bytes. */
  add(sha256: string, archive: Buffer): Promise<Unpacked> {
    const unpacked = readArchive(archive).then(frozen);
    unpacked.catch(() => this.verified.delete(sha256));
    if (this.verified.size >= this.capacity) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(sha256, { archive, unpacked });
    return unpacked;
  }
}

/** Frozen down to each file (its bytes are a Buffer, which cannot be frozen: nothing writes to them). */
const frozen = (content: Unpacked): Unpacked =>
  Object.freeze({ files: Object.freeze(content.files.map((file) => Object.freeze(file))), documents: Object.freeze(content.documents) });

type Unpacked = Pick<DownloadedContent, 'files' | 'documents'>;

const verifiedArchives = new VerifiedArchives(64);

/**
 * The content a URL names, without its origin: what a failure reports, so that the same replay reports the same
 * words whatever port its embedded site had.
 */
const contentPath = (url: string) => new URL(url).pathname;

/** A POSIX tar archive has `ustar` at byte 257 of its first header. */
const isTar = (content: Buffer) => content.length >= 512 && content.subarray(257, 262).toString('latin1') === 'ustar';

function readArchive(archive: Buffer): Promise<Unpacked> {
  return new Promise((resolve, reject) => {
    const files: PackageFile[] = [];
    const documents: Record<string, string> = {};
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      if (entry.type !== 'File') {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
      });
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        files.push({ name: entry.path, data });
        if (entry.path.endsWith('.xml')) documents[entry.path] = data.toString('utf8');
      });
    });
    parser.on('error', (error: Error) => {
      reject(new DownloadError('archive', `not a readable tar archive: ${error.message}`));
    });
    parser.on('end', () => {
      resolve({ files, documents });
    });
    parser.end(archive);
  });
}

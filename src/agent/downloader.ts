import { createHash } from 'node:crypto';
import { Parser } from 'tar';
import type { SiteConnection } from './site-connection.js';

export type DownloadFailure = 'http' | 'size' | 'hash' | 'archive';

/** A download that cannot be used. `size` and `hash` mean the content does not match the source (status 10057). */
export class DownloadError extends Error {
  constructor(
    readonly failure: DownloadFailure,
    readonly reason: string,
  ) {
    super(`download ${failure} failure: ${reason}`);
    this.name = 'DownloadError';
  }
}

export interface DownloadRequest {
  url: string;
  expectedSize: number;
  expectedSha256: string;
}

/** What the device keeps of a verified package: the archive's file list (the content itself is not needed). */
export interface DownloadedContent {
  bytes: number;
  files: string[];
}

/**
 * Downloads a package archive over HTTP and proves it is the one the policy names: exact size, SHA-256, and a tar
 * archive that reads cleanly. Anything else is a DownloadError, and the program never runs.
 */
export async function downloadPackage(connection: SiteConnection, request: DownloadRequest): Promise<DownloadedContent> {
  let response;
  try {
    response = await connection.download(request.url);
  } catch (error) {
    throw new DownloadError('http', `no answer from ${request.url}: ${(error as Error).message}`);
  }
  if (response.status !== 200) throw new DownloadError('http', `HTTP ${response.status} from ${request.url}`);
  const archive = Buffer.from(response.data);
  if (archive.length !== request.expectedSize) {
    throw new DownloadError('size', `got ${archive.length} bytes, the policy says ${request.expectedSize}`);
  }
  const sha256 = createHash('sha256').update(archive).digest('hex');
  if (sha256 !== request.expectedSha256) throw new DownloadError('hash', `SHA-256 ${sha256} does not match the policy's ${request.expectedSha256}`);
  return { bytes: archive.length, files: await listArchive(archive) };
}

function listArchive(archive: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const files: string[] = [];
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry) => {
      if (entry.type === 'File') files.push(entry.path);
      entry.resume();
    });
    parser.on('error', (error: Error) => reject(new DownloadError('archive', `not a readable tar archive: ${error.message}`)));
    parser.on('end', () => resolve(files));
    parser.end(archive);
  });
}

import type { OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import type { ActiveFault } from '../admin/contract.js';
import type { FaultHit } from './faults.js';

export const TEXT = 'text/plain; charset=utf-8';

/**
 * The site's answer to a device request, before it goes out: over HTTP (sendAnswer) or to a replay's fleet in the
 * same thread (simulator/embedded-site-transport.ts). `fault` is one that strikes after handling: the site did the
 * work, and the device gets the answer spoiled (see spoiledBody, trickleSlices) or a cut connection (`reset`).
 */
export interface DeviceAnswer {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  /** Bytes, or a document as text, which goes out as UTF-8 (a replay's fleet takes the text as it is). */
  body: Buffer | string;
  fault?: ActiveFault | undefined;
}

/** An answer's body as the bytes that go out. */
export const bytesOf = (body: Buffer | string): Buffer => (typeof body === 'string' ? Buffer.from(body) : body);

/** A line of text with a status: a refusal, an error the device can read. */
export function textAnswer(status: number, message: string, headers: Record<string, string> = {}): DeviceAnswer {
  return { status, contentType: TEXT, headers, body: Buffer.from(message) };
}

/**
 * A fault that strikes before the request is handled: the site never processes it. Answers for http-error and
 * retry-after; waits out a latency fault and returns null, as it does without a fault, so the request is then served.
 */
export async function faultBeforeHandling(hit: FaultHit | undefined, endpoint: string): Promise<DeviceAnswer | null> {
  if (!hit) return null;
  const { fault } = hit;
  const refusal = `fault ${fault.id} injected on ${endpoint}`;
  if (fault.kind === 'http-error') return textAnswer(fault.status, refusal);
  if (fault.kind === 'retry-after') return textAnswer(fault.status, refusal, { 'retry-after': String(fault.retryAfterSeconds) });
  if (fault.kind === 'latency') await sleep(hit.latencyMs);
  return null;
}

/**
 * The body a device receives when a fault spoils it after handling: half of it (a document that is not well-formed,
 * truncated content), or damaged content. Unchanged otherwise; `reset` and `trickle` are about the connection.
 */
export function spoiledBody(answer: DeviceAnswer): Buffer {
  const body = bytesOf(answer.body);
  switch (answer.fault?.kind) {
    case 'malformed':
    case 'truncate-content':
      return half(body);
    case 'corrupt-content':
      return corrupt(body);
    default:
      return body;
  }
}

/** What a reset connection lets through before it is cut: nothing of an empty answer (not even its headers), else half. */
export const beforeReset = (body: Buffer): Buffer | null => (body.length === 0 ? null : half(body));

/** A trickle: the body in tenth-of-a-second slices at `bytesPerSecond`, like a device on a poor link. */
export async function* trickleSlices(body: Buffer, bytesPerSecond: number): AsyncGenerator<Buffer> {
  const slice = Math.max(1, Math.round(bytesPerSecond / 10));
  for (let offset = 0; offset < body.length; offset += slice) {
    yield body.subarray(offset, offset + slice);
    await sleep(100);
  }
}

/** Sends an answer over HTTP, as its fault (if any) would have it arrive. */
export async function sendAnswer(reply: FastifyReply, answer: DeviceAnswer): Promise<FastifyReply> {
  reply.code(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
  const fault = answer.fault;
  if (fault?.kind === 'reset') {
    const body = bytesOf(answer.body);
    const sent = beforeReset(body);
    if (sent === null) {
      reply.raw.destroy();
      return reply;
    }
    writeHeadRaw(reply, answer.contentType, body.length);
    reply.raw.write(sent, () => reply.raw.destroy());
    return reply;
  }
  if (fault?.kind === 'trickle') {
    const body = bytesOf(answer.body);
    writeHeadRaw(reply, answer.contentType, body.length);
    for await (const slice of trickleSlices(body, fault.bytesPerSecond)) {
      if (reply.raw.destroyed) break;
      reply.raw.write(slice);
    }
    reply.raw.end();
    return reply;
  }
  return reply.type(answer.contentType).send(spoiledBody(answer));
}

/** Takes the response over from fastify (to cut or pace it), keeping the status and headers set so far. */
function writeHeadRaw(reply: FastifyReply, contentType: string, length: number): void {
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': contentType, 'content-length': length });
}

const half = (body: Buffer) => body.subarray(0, Math.floor(body.length / 2));

/** Flips every 512th byte: same length, a different hash, and tar headers that no longer check out. */
function corrupt(archive: Buffer): Buffer {
  const copy = Buffer.from(archive);
  for (let i = 0; i < copy.length; i += 512) copy.writeUInt8(copy.readUInt8(i) ^ 0xff, i);
  return copy;
}

import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ActiveFault } from '../admin/contract.js';
import type { FaultHit } from './faults.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fault that strikes before the request is handled: the site never processes it. Answers for http-error and
 * retry-after (and returns true); waits out a latency fault (and returns false, so the request is then served).
 */
export async function faultBeforeHandling(
  hit: FaultHit | undefined,
  reply: FastifyReply,
  refuse: (status: number, fault: ActiveFault) => FastifyReply,
): Promise<boolean> {
  if (!hit) return false;
  const { fault } = hit;
  if (fault.kind === 'http-error') {
    refuse(fault.status, fault);
    return true;
  }
  if (fault.kind === 'retry-after') {
    reply.header('retry-after', String(fault.retryAfterSeconds));
    refuse(fault.status, fault);
    return true;
  }
  if (fault.kind === 'latency') await sleep(hit.latencyMs);
  return false;
}

/**
 * Sends a handled request's answer, as a fault after handling would spoil it: the site did the work, but the device
 * gets a cut connection (reset), a document that is not well-formed (malformed), damaged content, or a trickle.
 */
export async function deliver(reply: FastifyReply, fault: ActiveFault | undefined, contentType: string, body: Buffer): Promise<FastifyReply> {
  switch (fault?.kind) {
    case 'reset':
      // An empty answer cut after its headers would be complete: cut it before them.
      if (body.length === 0) {
        reply.raw.destroy();
        return reply;
      }
      writeHeadRaw(reply, contentType, body.length);
      reply.raw.write(body.subarray(0, Math.floor(body.length / 2)), () => reply.raw.destroy());
      return reply;
    case 'malformed':
    case 'truncate-content':
      return reply.type(contentType).send(body.subarray(0, Math.floor(body.length / 2)));
    case 'corrupt-content':
      return reply.type(contentType).send(corrupt(body));
    case 'trickle':
      await trickle(reply, contentType, body, fault.bytesPerSecond);
      return reply;
    default:
      return reply.type(contentType).send(body);
  }
}

/** Takes the response over from fastify (to cut or pace it), keeping the status and headers set so far. */
function writeHeadRaw(reply: FastifyReply, contentType: string, length: number): void {
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': contentType, 'content-length': length });
}

/** Flips every 512th byte: same length, a different hash, and tar headers that no longer check out. */
function corrupt(archive: Buffer): Buffer {
  const copy = Buffer.from(archive);
  for (let i = 0; i < copy.length; i += 512) copy.writeUInt8(copy.readUInt8(i) ^ 0xff, i);
  return copy;
}

/** Writes the body in tenth-of-a-second slices at `bytesPerSecond`, like a device on a poor link. */
async function trickle(reply: FastifyReply, contentType: string, body: Buffer, bytesPerSecond: number): Promise<void> {
  writeHeadRaw(reply, contentType, body.length);
  const slice = Math.max(1, Math.round(bytesPerSecond / 10));
  for (let offset = 0; offset < body.length && !reply.raw.destroyed; offset += slice) {
    reply.raw.write(body.subarray(offset, offset + slice));
    await sleep(100);
  }
  reply.raw.end();
}

/**
 * Microsoft Cabinet archives (MS-CAB), the format of Windows CE's CAB installs: a writer for the site (one folder,
 * stored or MSZIP-compressed) and a reader for the device (stored and MSZIP folders, any number; header, folder and
 * data reserves skipped). Cabinet sets spanning several files and LZX/Quantum compression are refused. MSZIP is
 * deflate per 32 KB block, each block's history being the blocks before it: node:zlib with a dictionary does it.
 * No maintained npm package reads and writes cabinets (the ones there are extract only, or wrap a native tool).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DEVICE_FAILURE, DeviceError } from './device-error.js';

export interface CabinetFile {
  /** Path inside the cabinet, backslash-separated. */
  name: string;
  data: Buffer;
  /** CAB attribute bits: 0x01 read-only, 0x02 hidden, 0x04 system, 0x20 archive. */
  attributes: number;
  modified: Date;
}

export type CabinetCompression = 'none' | 'mszip';

const SIGNATURE = 'MSCF';
const HEADER_BYTES = 36;
const FOLDER_BYTES = 8;
const DATA_HEADER_BYTES = 8;
const BLOCK = 32_768;
const COMPRESSION = { none: 0, mszip: 1 } as const;
const FLAG = { previous: 0x1, next: 0x2, reserve: 0x4 } as const;
const NAME_IS_UTF8 = 0x80;
const MAX_HISTORY = 32_768;

/** A DOS date and time; DOS dates start in 1980, so anything earlier is written as its first day. */
function dosDate(when: Date): { date: number; time: number } {
  const date = when.getUTCFullYear() < 1980 ? new Date(Date.UTC(1980, 0, 1)) : when;
  return {
    date: ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
  };
}

function fromDosDate(date: number, time: number): Date {
  return new Date(Date.UTC((date >> 9) + 1980, ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2));
}

/** The CFDATA checksum: the block's bytes XORed as little-endian 32-bit words, then its two size fields. */
function checksum(bytes: Buffer, seed: number): number {
  let sum = seed;
  const whole = bytes.length - (bytes.length % 4);
  for (let i = 0; i < whole; i += 4) sum ^= bytes.readUInt32LE(i);
  let tail = 0;
  for (let i = whole; i < bytes.length; i++) tail = (tail << 8) | (bytes[i] ?? 0);
  return (sum ^ tail) >>> 0;
}

/** Writes the files into one cabinet, in one folder, in their order. */
export function writeCabinet(files: readonly CabinetFile[], compression: CabinetCompression = 'mszip'): Buffer {
  const names = files.map((f) => {
    const utf8 = /[^\x20-\x7e]/.test(f.name);
    return { bytes: Buffer.from(`${f.name}\0`, utf8 ? 'utf8' : 'latin1'), utf8 };
  });
  const stream = Buffer.concat(files.map((f) => f.data));
  const blocks: Buffer[] = [];
  for (let offset = 0; offset < stream.length || blocks.length === 0; offset += BLOCK) {
    const block = stream.subarray(offset, offset + BLOCK);
    const history = stream.subarray(Math.max(0, offset - MAX_HISTORY), offset);
    const body = compression === 'none' ? block : Buffer.concat([Buffer.from('CK'), deflateRawSync(block, history.length > 0 ? { dictionary: history } : {})]);
    const header = Buffer.alloc(DATA_HEADER_BYTES);
    header.writeUInt16LE(body.length, 4);
    header.writeUInt16LE(block.length, 6);
    header.writeUInt32LE(checksum(header.subarray(4, 8), checksum(body, 0)), 0);
    blocks.push(header, body);
  }
  const filesOffset = HEADER_BYTES + FOLDER_BYTES;
  const fileTable = files.map((f, index) => {
    const entry = Buffer.alloc(16);
    const { date, time } = dosDate(f.modified);
    entry.writeUInt32LE(f.data.length, 0);
    entry.writeUInt32LE(
      files.slice(0, index).reduce((sum, g) => sum + g.data.length, 0),
      4,
    );
    entry.writeUInt16LE(0, 8);
    entry.writeUInt16LE(date, 10);
    entry.writeUInt16LE(time, 12);
    entry.writeUInt16LE((f.attributes & 0x7f) | (names[index]?.utf8 ? NAME_IS_UTF8 : 0), 14);
    return Buffer.concat([entry, names[index]?.bytes ?? Buffer.alloc(1)]);
  });
  const dataOffset = filesOffset + fileTable.reduce((sum, e) => sum + e.length, 0);
  const data = Buffer.concat(blocks);
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(SIGNATURE, 0, 'latin1');
  header.writeUInt32LE(dataOffset + data.length, 8);
  header.writeUInt32LE(filesOffset, 16);
  header.writeUInt8(3, 24);
  header.writeUInt8(1, 25);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(files.length, 28);
  const folder = Buffer.alloc(FOLDER_BYTES);
  folder.writeUInt32LE(dataOffset, 0);
  folder.writeUInt16LE(blocks.length / 2, 4);
  folder.writeUInt16LE(COMPRESSION[compression], 6);
  return Buffer.concat([header, folder, ...fileTable, data]);
}

/** Whether bytes start like a cabinet. */
export const isCabinet = (bytes: Buffer) => bytes.length >= HEADER_BYTES && bytes.toString('latin1', 0, 4) === SIGNATURE;

/** Reads every file of a cabinet; anything it cannot read is a DeviceError (BadCabinet) saying what. */
export function readCabinet(bytes: Buffer, name = 'cabinet'): CabinetFile[] {
  const fail = (reason: string): never => {
    throw new DeviceError(DEVICE_FAILURE.badCabinet, `${name}: ${reason}`);
  };
  if (!isCabinet(bytes)) fail('not a Microsoft Cabinet archive (no MSCF signature)');
  try {
    return read(bytes, fail);
  } catch (error) {
    if (error instanceof DeviceError) throw error;
    return fail(`damaged (${(error as Error).message})`);
  }
}

function read(bytes: Buffer, fail: (reason: string) => never): CabinetFile[] {
  if (bytes.readUInt32LE(8) > bytes.length) fail(`cut short: ${bytes.length} of ${bytes.readUInt32LE(8)} bytes`);
  const major = bytes.readUInt8(25);
  if (major !== 1) fail(`cabinet format version ${major} is not 1`);
  const folderCount = bytes.readUInt16LE(26);
  const fileCount = bytes.readUInt16LE(28);
  const flags = bytes.readUInt16LE(30);
  if (flags & (FLAG.previous | FLAG.next)) fail('part of a cabinet set spanning several files');
  let offset = HEADER_BYTES;
  let folderReserve = 0;
  let dataReserve = 0;
  if (flags & FLAG.reserve) {
    const headerReserve = bytes.readUInt16LE(offset);
    folderReserve = bytes.readUInt8(offset + 2);
    dataReserve = bytes.readUInt8(offset + 3);
    offset += 4 + headerReserve;
  }
  const folders = Array.from({ length: folderCount }, () => {
    const folder = { dataOffset: bytes.readUInt32LE(offset), blocks: bytes.readUInt16LE(offset + 4), compression: bytes.readUInt16LE(offset + 6) & 0xf };
    offset += FOLDER_BYTES + folderReserve;
    return folder;
  });
  const streams = folders.map((folder, index) => {
    if (folder.compression !== COMPRESSION.none && folder.compression !== COMPRESSION.mszip) {
      fail(`folder ${index} uses ${['', '', 'Quantum', 'LZX'][folder.compression] ?? `compression ${folder.compression}`}, which this reader does not read`);
    }
    const parts: Buffer[] = [];
    let at = folder.dataOffset;
    let history = Buffer.alloc(0);
    for (let block = 0; block < folder.blocks; block++) {
      const compressed = bytes.readUInt16LE(at + 4);
      const expected = bytes.readUInt16LE(at + 6);
      const start = at + DATA_HEADER_BYTES + dataReserve;
      const body = bytes.subarray(start, start + compressed);
      if (body.length < compressed) fail(`folder ${index} block ${block} is cut short`);
      let plain = body;
      if (folder.compression === COMPRESSION.mszip) {
        if (body.toString('latin1', 0, 2) !== 'CK') fail(`folder ${index} block ${block} has no MSZIP signature`);
        plain = inflateRawSync(body.subarray(2), history.length > 0 ? { dictionary: history } : {});
      }
      if (plain.length !== expected) fail(`folder ${index} block ${block} holds ${plain.length} bytes, its header says ${expected}`);
      parts.push(plain);
      history = Buffer.concat([history, plain]).subarray(-MAX_HISTORY);
      at = start + compressed;
    }
    return Buffer.concat(parts);
  });
  offset = bytes.readUInt32LE(16);
  return Array.from({ length: fileCount }, () => {
    const size = bytes.readUInt32LE(offset);
    const start = bytes.readUInt32LE(offset + 4);
    const folder = bytes.readUInt16LE(offset + 8);
    const attributes = bytes.readUInt16LE(offset + 14);
    const end = bytes.indexOf(0, offset + 16);
    if (end < 0) fail('a file name has no end');
    const fileName = bytes.toString(attributes & NAME_IS_UTF8 ? 'utf8' : 'latin1', offset + 16, end);
    const stream = streams[folder];
    if (!stream) fail(`${fileName} is in folder ${folder}, which the cabinet does not have`);
    if (start + size > stream.length) fail(`${fileName} runs past the end of its folder`);
    const file = {
      name: fileName,
      data: stream.subarray(start, start + size),
      attributes: attributes & 0x7f,
      modified: fromDosDate(bytes.readUInt16LE(offset + 10), bytes.readUInt16LE(offset + 12)),
    };
    offset = end + 1;
    return file;
  });
}

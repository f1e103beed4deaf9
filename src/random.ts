import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

type Generator = ReturnType<typeof xoroshiro128plus>;

/** Seeded randomness: every random choice in a device or a fleet comes from one of these, so a seed replays exactly. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** One of `choices`, with probability proportional to its weight. */
  weighted<T>(choices: readonly { value: T; weight: number }[]): T;
  /** An independent generator derived from this one, e.g. one per device. */
  fork(): Random;
  /** Where this generator is in its stream: four 32-bit integers, from which `randomFromState` goes on exactly. */
  state(): RandomState;
}

/** A generator's place in its stream (xoroshiro128+: four 32-bit integers), e.g. a sleeping device's. */
export type RandomState = readonly number[];

/** A class, not closures: every handheld holds one, so its methods live once on the prototype. */
class SeededRandom implements Random {
  constructor(private readonly generator: Generator) {}

  next(): number {
    return uniformFloat64(this.generator);
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  weighted<T>(choices: readonly { value: T; weight: number }[]): T {
    const total = choices.reduce((sum, c) => sum + c.weight, 0);
    let roll = this.next() * total;
    for (const choice of choices) {
      roll -= choice.weight;
      if (roll < 0) return choice.value;
    }
    const last = choices.at(-1);
    if (!last) throw new Error('weighted() needs at least one choice');
    return last.value;
  }

  fork(): Random {
    return seededRandom(this.generator.next());
  }

  state(): RandomState {
    return this.generator.getState();
  }
}

export function seededRandom(seed: number): Random {
  return new SeededRandom(xoroshiro128plus(seed));
}

/** The generator that goes on from `state` (see Random.state). */
export function randomFromState(state: RandomState): Random {
  return new SeededRandom(xoroshiro128plusFromState(state));
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** 32-bit FNV-1a of `bytes`, continuing from `hash` (the FNV offset basis to start). */
export function fnv1a32(bytes: Uint8Array, hash = FNV_OFFSET): number {
  let h = hash;
  for (const byte of bytes) h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
  return h;
}

/** MurmurHash3's finalizer: every input bit reaches every output bit, so near inputs give unrelated outputs. */
function avalanche(hash: number): number {
  let h = hash;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A number in [0, 1), uniform, that is a pure function of `parts`: for a random decision that must not depend on the
 * order things happen in, as a draw from a shared generator would. 32-bit FNV-1a over each part's UTF-8 text, each
 * part tagged with its type and followed by a separator (so `('ab', 'c')`, `('a', 'bc')` and `(1)`, `('1')` all
 * differ; parts are names and numbers, never holding a NUL), then MurmurHash3's finalizer (so counters 7 and 8 give
 * unrelated numbers), over 2^32.
 */
export function hashUniform(...parts: readonly (string | number)[]): number {
  let hash = FNV_OFFSET;
  for (const part of parts) hash = fnv1a32(utf8.encode(`${typeof part === 'number' ? 'n' : 's'}${part}\u0000`), hash);
  return avalanche(hash) / 2 ** 32;
}

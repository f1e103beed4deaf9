import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

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
}

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
}

export function seededRandom(seed: number): Random {
  return new SeededRandom(xoroshiro128plus(seed));
}

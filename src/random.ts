import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

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

export function seededRandom(seed: number): Random {
  const generator = xoroshiro128plus(seed);
  const next = () => uniformFloat64(generator);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    weighted(choices) {
      const total = choices.reduce((sum, c) => sum + c.weight, 0);
      let roll = next() * total;
      for (const choice of choices) {
        roll -= choice.weight;
        if (roll < 0) return choice.value;
      }
      return choices[choices.length - 1]!.value;
    },
    fork: () => seededRandom(generator.next()),
  };
}

import { expect } from 'chai';
import { fnv1a32, hashUniform, randomFromState, seededRandom } from '../src/random.js';

describe('randomness', () => {
  describe('hashUniform: a draw that is a pure function of what it is about', () => {
    it('is 32-bit FNV-1a underneath (the published test vectors)', () => {
      const bytes = (text: string) => new TextEncoder().encode(text);
      expect(fnv1a32(bytes(''))).to.equal(0x811c9dc5);
      expect(fnv1a32(bytes('a'))).to.equal(0xe40c292c);
      expect(fnv1a32(bytes('foobar'))).to.equal(0xbf9cf968);
    });

    it('gives the same number in [0, 1) for the same parts, in any call order', () => {
      const parts = [7, 'hit', 3, '9C3D0000-0000-0000-0000-00616377656E', 'Poll', 12] as const;
      const first = hashUniform(...parts);
      hashUniform(1, 'something else');
      expect(hashUniform(...parts)).to.equal(first);
      expect(first).to.be.at.least(0).and.below(1);
    });

    it('differs when any part differs, where the parts split, or whether a part is a number or text', () => {
      const draws = [
        hashUniform(1, 'device', 'Poll', 0),
        hashUniform(2, 'device', 'Poll', 0),
        hashUniform(1, 'devicf', 'Poll', 0),
        hashUniform(1, 'device', 'Status', 0),
        hashUniform(1, 'device', 'Poll', 1),
        hashUniform(1, 'devic', 'ePoll', 0),
        hashUniform(1, 'device', 'Poll', '0'),
        hashUniform(1, 'device', 'Poll'),
      ];
      expect(new Set(draws).size).to.equal(draws.length);
    });

    it('is uniform over a device’s successive requests, with no pull from one to the next', () => {
      const n = 100_000;
      const draws = Array.from({ length: n }, (_, i) => hashUniform(5, 'hit', 1, 'D2D8C6C1-0000-4000-8000-000000000042', 'Content', i));
      const mean = draws.reduce((a, b) => a + b, 0) / n;
      expect(mean).to.be.closeTo(0.5, 0.01);
      // Each tenth of [0, 1) holds a tenth of the draws; a rate of 0.3 hits three in ten.
      const deciles = Array.from({ length: 10 }, () => 0);
      for (const u of draws) deciles[Math.floor(u * 10)]!++;
      for (const count of deciles) expect(count / n).to.be.closeTo(0.1, 0.005);
      expect(draws.filter((u) => u < 0.3).length / n).to.be.closeTo(0.3, 0.01);
      // Counters one apart (a request and the next) give unrelated draws.
      let covariance = 0;
      for (let i = 1; i < n; i++) covariance += (draws[i]! - mean) * (draws[i - 1]! - mean);
      expect(covariance / (n - 1) / (1 / 12)).to.be.closeTo(0, 0.02);
    });

    it('is uniform across devices for the same request number', () => {
      const n = 50_000;
      const hits = Array.from({ length: n }, (_, i) => hashUniform(5, 'hit', 1, `device-${i}`, 'Poll', 0)).filter((u) => u < 0.3).length;
      expect(hits / n).to.be.closeTo(0.3, 0.01);
    });
  });

  describe('seededRandom', () => {
    it('replays the same draws from the same seed, and forks independent streams in a fixed order', () => {
      const draw = (seed: number) => {
        const root = seededRandom(seed);
        const [a, b] = [root.fork(), root.fork()];
        return [a.next(), a.next(), b.next(), root.next()];
      };
      expect(draw(3)).to.deep.equal(draw(3));
      expect(draw(3)).to.not.deep.equal(draw(4));
      const [a1, , b1] = draw(3);
      expect(a1).to.not.equal(b1);
    });

    it('goes on exactly from where a stream stood, given its state (a sleeping device’s)', () => {
      const stream = seededRandom(9).fork();
      stream.next();
      const state = stream.state();
      expect(state).to.have.length(4);
      const resumed = randomFromState(state);
      const next = () => [stream.next(), stream.int(1, 6), stream.fork().next()];
      const again = () => [resumed.next(), resumed.int(1, 6), resumed.fork().next()];
      expect(again()).to.deep.equal(next());
    });
  });
});

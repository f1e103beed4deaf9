/* global console */
// Mocha's spec reporter, closing with the plain "N passed, N failed, N skipped" line that CI reads.
import Mocha from 'mocha';

export default class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const { passes, failures, pending } = runner.stats;
      console.log(`${passes} passed, ${failures} failed, ${pending} skipped`);
    });
  }
}

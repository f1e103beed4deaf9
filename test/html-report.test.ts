import { expect } from 'chai';
import { silentLogger } from '../src/logging.js';
import { renderHtmlReport } from '../simulator/html-report.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';

describe('the HTML report', () => {
  let report: FleetReport;
  let html: string;
  before(async () => {
    report = await replayScenario(
      { ...(await loadScenario('config/scenarios/first-round.yaml')), devices: 12 },
      { limitMs: 24 * 3_600_000, logger: silentLogger() },
    );
    html = renderHtmlReport(report);
  });

  it('is one self-contained document: no scripts, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html).to.include('</html>');
    expect(html).to.not.match(/<script|<link|<img|https?:\/\/(?!www\.w3)/i);
  });

  it('draws a rollout line for each advertisement that reached devices, and an outcome bar for each program', () => {
    const reached = report.advertisements.filter((a) => a.targeted > 0 && a.rollout.curve.length > 0);
    expect(reached.length).to.be.above(0);
    expect(html.match(/<polyline /g)).to.have.length(reached.length);
    for (const ad of report.advertisements) expect(html).to.include(`${ad.id} ${ad.name}`);
    const driver = report.advertisements.find((a) => a.id === 'MLC20002')!;
    expect(driver.notApplicable).to.be.above(0);
    expect(html).to.include(`<title>Not applicable: ${driver.notApplicable}</title>`);
  });

  it('gives free storage per platform and volume, from the devices’ machine inventory', () => {
    expect(report.storage.length).to.be.above(0);
    const [first] = report.storage;
    expect(html).to.include('<h2>Free storage per platform (latest machine inventory)</h2>');
    expect(html).to.include(`<td>${first!.platform}</td><td>Object Store</td>`);
  });

  it('escapes what it did not write itself', () => {
    const hostile = { ...report, advertisements: report.advertisements.map((a) => ({ ...a, name: '<b>&"x"' })) };
    const page = renderHtmlReport(hostile);
    expect(page).to.not.include('<b>&"x"');
    expect(page).to.include('&#60;b&#62;&#38;&#34;x&#34;');
  });
});

/* global document, mlcCharts, uPlot */
// The HTML report's charts, drawn from the data html-report.ts embeds in the page (see chartData there).

(function () {
  const data = JSON.parse(document.getElementById('chart-data').textContent);
  const { timeChart, figure, duration } = mlcCharts;
  const xLabel = `time since the run started (${data.clock === 'real' ? 'wall clock' : 'simulated'})`;
  const OUTCOMES = [
    { key: 'succeeded', label: 'Succeeded', colour: '#2e9e6b' },
    { key: 'failed', label: 'Failed', colour: '#c0392b' },
    { key: 'retrying', label: 'Retrying', colour: '#7a5cc7' },
    { key: 'inProgress', label: 'Other in progress', colour: '#d9822b' },
    { key: 'notApplicable', label: 'Not applicable (rejected, expired, will not rerun)', colour: '#6b7385' },
  ];
  const windowsNote = data.windows.length
    ? `Shaded: ${data.windows.map((w) => `${w.label} ${duration(w.fromSeconds)}–${w.untilSeconds === null ? 'end' : duration(w.untilSeconds)}`).join('; ')}.`
    : '';

  /** A step curve from the advertisement's start to the end of the run, on the run's axis: [xs, ys]. */
  function onRunAxis(ad, points) {
    const xs = [ad.availableSeconds];
    const ys = [0];
    for (const [seconds, value] of points) {
      const x = ad.availableSeconds + seconds;
      // Several changes in one second: the chart shows where that second ended.
      if (x === xs[xs.length - 1]) ys[ys.length - 1] = value;
      else {
        xs.push(x);
        ys.push(value);
      }
    }
    xs.push(Math.max(data.endSeconds, xs[xs.length - 1] + 1));
    ys.push(ys[ys.length - 1]);
    return [xs, ys];
  }

  function marksOf(ad) {
    const marks = [{ seconds: ad.availableSeconds, label: `${ad.id} advertised`, colour: '#2f6fdf' }];
    if (ad.expiresSeconds !== null) marks.push({ seconds: ad.expiresSeconds, label: `${ad.id} expires`, colour: '#b5407a' });
    return marks;
  }

  // Rollout: every advertisement that can finish somewhere, each from its own start, to the end of the run.
  const rolloutSection = document.getElementById('rollout');
  const drawn = data.advertisements.filter((ad) => ad.canFinish > 0);
  if (drawn.length > 0) {
    const tables = drawn.map((ad) =>
      onRunAxis(
        ad,
        ad.rollout.map(([seconds, finished]) => [seconds, (100 * finished) / ad.canFinish]),
      ),
    );
    const { plot, caption } = figure(rolloutSection, 'rollout-chart');
    timeChart(plot, {
      title: 'Rollout: devices finished, as a share of those that can finish',
      xLabel,
      yLabel: '% of devices that can finish',
      yMax: 100,
      yValue: (v) => `${Math.round(v)}%`,
      series: drawn.map((ad) => ({ label: `${ad.id} ${ad.name}` })),
      data: uPlot.join(tables),
      endSeconds: data.endSeconds,
      windows: data.windows,
      marks: data.advertisements.flatMap((ad) =>
        ad.expiresSeconds === null ? [] : [{ seconds: ad.expiresSeconds, label: `${ad.id} expires`, colour: '#b5407a' }],
      ),
    });
    caption.textContent = `Each curve starts when its advertisement became available. ${windowsNote}`;
  }
  const missing = data.advertisements.filter((ad) => ad.canFinish === 0);
  if (missing.length > 0) {
    const note = document.createElement('p');
    note.id = 'rollout-missing';
    note.textContent = `Not drawn: ${missing.map((ad) => `${ad.id} ${ad.name} (${ad.targeted === 0 ? 'targets no device' : 'no targeted device can finish it'})`).join('; ')}.`;
    rolloutSection.append(note);
  }

  // Per advertisement: where its devices are over time, failures and rejections included.
  const outcomesSection = document.getElementById('outcomes');
  for (const ad of data.advertisements.filter((a) => a.targeted > 0)) {
    const columns = OUTCOMES.map((_, i) =>
      onRunAxis(
        ad,
        ad.outcomes.map((p) => [p[0], p[i + 1]]),
      ),
    );
    const { plot, caption } = figure(outcomesSection, `outcomes-${ad.id}`);
    timeChart(plot, {
      title: `${ad.id} ${ad.name}: targeted devices by outcome`,
      xLabel,
      yLabel: 'devices',
      yMax: ad.targeted,
      series: OUTCOMES.map((o) => ({ label: o.label, colour: o.colour })),
      data: [columns[0][0], ...columns.map((c) => c[1])],
      endSeconds: data.endSeconds,
      windows: data.windows,
      marks: marksOf(ad),
    });
    const last = ad.outcomes[ad.outcomes.length - 1] ?? [0, 0, 0, 0, 0, 0];
    caption.innerHTML =
      `At the end of the run (${duration(data.endSeconds)}): ` +
      OUTCOMES.map((o, i) => `<span data-outcome="${o.key}">${last[i + 1]}</span> ${o.label.split(' (')[0].toLowerCase()}`).join(', ') +
      ` of ${ad.targeted} targeted. ${windowsNote}`;
  }
})();

/* global window, document, ResizeObserver, uPlot */
// Time-series charts on uPlot, shared by the HTML report and the live dashboard (a classic script: the report inlines
// it, the dashboard serves it). The x axis is seconds since the run started, ticked at round durations.

(function () {
  /** Tick steps in seconds: every tick falls on a round duration (10m, 30m, 1h...), never 23m01s. */
  const ROUND_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800];
  const COLOURS = ['#2f6fdf', '#d9822b', '#2e9e6b', '#b5407a', '#7a5cc7', '#8a8f2e', '#c0392b', '#16a2b8'];

  /** Seconds as the report writes durations: 45s, 10m, 1h30m. */
  function duration(seconds) {
    const s = Math.round(seconds);
    if (s < 60) return `${s}s`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = s % 60;
    if (h === 0) return rest === 0 ? `${m}m` : `${m}m${String(rest).padStart(2, '0')}s`;
    return m === 0 ? `${h}h` : `${h}h${String(m).padStart(2, '0')}m`;
  }

  /** Shaded windows (outages, faults) under the series, and labelled vertical marks (availability, expiry). */
  function overlays(windows, marks) {
    return {
      hooks: {
        drawClear: [
          (u) => {
            const { ctx, bbox } = u;
            ctx.save();
            for (const w of windows) {
              const from = u.valToPos(w.fromSeconds, 'x', true);
              const until = u.valToPos(w.untilSeconds ?? u.scales.x.max, 'x', true);
              ctx.fillStyle = w.active === false ? 'rgba(192,57,43,0.07)' : 'rgba(192,57,43,0.16)';
              ctx.fillRect(Math.max(from, bbox.left), bbox.top, Math.min(until, bbox.left + bbox.width) - Math.max(from, bbox.left), bbox.height);
            }
            ctx.restore();
          },
        ],
        draw: [
          (u) => {
            const { ctx, bbox } = u;
            ctx.save();
            ctx.font = `${Math.round(12 * window.devicePixelRatio)}px system-ui,sans-serif`;
            for (const mark of marks) {
              const x = Math.round(u.valToPos(mark.seconds, 'x', true));
              if (x < bbox.left || x > bbox.left + bbox.width) continue;
              ctx.strokeStyle = mark.colour;
              ctx.fillStyle = mark.colour;
              ctx.setLineDash([6, 4]);
              ctx.lineWidth = 2;
              ctx.beginPath();
              ctx.moveTo(x, bbox.top);
              ctx.lineTo(x, bbox.top + bbox.height);
              ctx.stroke();
              ctx.textAlign = x > bbox.left + bbox.width / 2 ? 'right' : 'left';
              ctx.fillText(mark.label, x + (ctx.textAlign === 'left' ? 6 : -6), bbox.top + 14 * window.devicePixelRatio);
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  /**
   * A titled chart of step lines over the run's time, sized to its container (and resized with it).
   * spec: { title, yLabel, xLabel, series: [{ label, colour? }], data: [xs, ...ys], endSeconds, yMax?, windows?, marks?, yValue? }
   */
  function timeChart(container, spec) {
    const height = spec.height ?? 260;
    const stepped = uPlot.paths.stepped({ align: 1 });
    const options = {
      title: spec.title,
      width: Math.max(200, container.clientWidth),
      height,
      plugins: [overlays(spec.windows ?? [], spec.marks ?? [])],
      scales: {
        x: { time: false, range: (_u, min, max) => [0, Math.max(spec.endSeconds ?? max, 60)] },
        y: { range: (_u, _min, max) => [0, spec.yMax ?? Math.max(1, max * 1.05)] },
      },
      axes: [
        {
          label: spec.xLabel,
          incrs: ROUND_STEPS,
          space: 70,
          values: (_u, splits) => {
            // uPlot draws axes on the canvas: the ticks also go on the container, where a reader of the DOM finds them.
            const ticks = splits.map(duration);
            container.dataset.xTicks = ticks.join(' ');
            return ticks;
          },
        },
        { label: spec.yLabel, values: (_u, splits) => splits.map(spec.yValue ?? ((v) => String(v))), size: 60 },
      ],
      series: [
        { label: 'time', value: (_u, v) => (v === null ? '-' : duration(v)) },
        ...spec.series.map((s, i) => ({
          label: s.label,
          stroke: s.colour ?? COLOURS[i % COLOURS.length],
          width: 2,
          paths: s.paths === 'linear' ? undefined : stepped,
          spanGaps: true,
          points: { show: false },
          value: (_u, v) => (v === null ? '-' : (spec.yValue ?? String)(v)),
        })),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    container.dataset.xLabel = spec.xLabel;
    container.dataset.yLabel = spec.yLabel;
    const chart = new uPlot(options, spec.data, container);
    new ResizeObserver(() => {
      const width = Math.max(200, container.clientWidth);
      if (width !== chart.width) chart.setSize({ width, height });
    }).observe(container);
    return chart;
  }

  /** A chart's container: a figure with room for a caption the page fills in. */
  function figure(parent, id) {
    const figureElement = document.createElement('figure');
    figureElement.className = 'chart';
    if (id) figureElement.id = id;
    const plot = document.createElement('div');
    const caption = document.createElement('figcaption');
    figureElement.append(plot, caption);
    parent.append(figureElement);
    return { plot, caption };
  }

  window.mlcCharts = { timeChart, figure, duration, COLOURS };
})();

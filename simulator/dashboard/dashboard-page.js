/* global document, EventSource, fetch, mlcCharts */
// The live dashboard's page: draws the samples the server streams (server-sent events, one a second), and asks for
// a state's devices or one device only when clicked.

(function () {
  const { timeChart, figure, duration } = mlcCharts;
  const OUTCOMES = [
    { label: 'Succeeded', colour: '#2e9e6b', states: ['succeeded'] },
    { label: 'Failed', colour: '#c0392b', states: ['failed'] },
    { label: 'Retrying', colour: '#7a5cc7', states: ['retrying'] },
    { label: 'Other in progress', colour: '#d9822b', states: ['accepted', 'waiting', 'downloading', 'downloadComplete', 'running', 'rebootPending'] },
    { label: 'Not applicable', colour: '#6b7385', states: ['rejected', 'expired', 'willNotRerun'] },
  ];
  const xLabel = 'time since the run started (run clock)';
  let samples = [];
  let scenarioWindows = [];
  const charts = new Map();
  const $ = (id) => document.getElementById(id);
  const el = (tag, attributes = {}, text = '') => {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== '') element.textContent = text;
    return element;
  };

  /** Draws or updates a chart; a new set of series (a new state, endpoint or message id) draws it anew. */
  function chart(key, parent, spec) {
    const seriesKey = spec.series.map((s) => s.label).join('\n');
    const existing = charts.get(key);
    if (existing && existing.seriesKey === seriesKey) {
      existing.plot.setData(spec.data);
      return;
    }
    if (existing) {
      existing.plot.destroy();
      existing.figure.remove();
    }
    const { plot: container } = figure(parent, `chart-${key}`);
    charts.set(key, { seriesKey, plot: timeChart(container, spec), figure: container.parentElement });
  }

  function windowsNow() {
    const seen = new Map();
    for (const w of scenarioWindows) seen.set(`${w.label}@${w.fromSeconds}`, { ...w, active: false });
    const latest = samples[samples.length - 1];
    for (const w of latest ? latest.faults : []) seen.set(`${w.label}@${w.fromSeconds}`, { ...w, active: true });
    return [...seen.values()];
  }

  const keysOf = (objects) => [...new Set(objects.flatMap((o) => Object.keys(o)))].sort();
  const xs = () => samples.map((s) => s.seconds);

  function render() {
    const latest = samples[samples.length - 1];
    if (!latest) return;
    const windows = windowsNow();
    $('sim-time').textContent = latest.simTime.replace('.000Z', 'Z');
    $('sim-elapsed').textContent = duration(latest.seconds);
    $('sim-elapsed').dataset.seconds = String(latest.seconds);
    $('wall-time').textContent = latest.wallTime.slice(11, 19);
    const active = windows.filter((w) => w.active);
    $('faults').textContent = active.length ? `Active now: ${active.map((w) => w.label).join('; ')}` : 'No fault active now.';

    const states = keysOf(samples.map((s) => s.deviceStates));
    // `serve` has no fleet in its process: the site's side only.
    if (!charts.has('device-states')) $('device-states').textContent = states.length ? '' : 'No fleet in this process: the site alone.';
    if (states.length)
      chart('device-states', $('device-states'), {
        title: 'Devices by statechart state',
        xLabel,
        yLabel: 'devices',
        series: states.map((label) => ({ label })),
        data: [xs(), ...states.map((state) => samples.map((s) => s.deviceStates[state] ?? 0))],
        windows,
      });

    renderAdvertisements(latest, windows);

    const ids = keysOf(samples.flatMap((s) => s.advertisements.map((a) => a.byMessageId)));
    const total = (s, id) => s.advertisements.reduce((n, a) => n + (a.byMessageId[id] ?? 0), 0);
    chart('messages', $('messages'), {
      title: 'Status messages per minute of run time, by message id',
      xLabel,
      yLabel: 'messages / minute',
      series: ids.map((label) => ({ label, paths: 'linear' })),
      data: [
        xs(),
        ...ids.map((id) =>
          samples.map((s, i) => {
            const before = samples[i - 1];
            const minutes = before ? (s.seconds - before.seconds) / 60 : 0;
            return minutes > 0 ? Math.round((total(s, id) - total(before, id)) / minutes) : null;
          }),
        ),
      ],
      windows,
    });

    renderRequests(windows);
  }

  function renderAdvertisements(latest, windows) {
    const parent = $('advertisements');
    for (const ad of latest.advertisements) {
      let section = $(`ad-${ad.id}`);
      if (!section) {
        section = el('section', { id: `ad-${ad.id}` });
        section.append(el('h3', {}, `${ad.id} ${ad.name}`), el('p', { class: 'rollout' }), el('div', { class: 'scroll' }), el('div'));
        parent.append(section);
      }
      const [, rollout, tableBox, chartBox] = section.children;
      const cells = Object.entries(ad.byState)
        .filter(([, count]) => count > 0)
        .map(([state, count]) => `<tr><td>${state}</td><td class="n"><button data-ad="${ad.id}" data-state="${state}">${count}</button></td></tr>`)
        .join('');
      tableBox.innerHTML = `<table><thead><tr><th>ConfigMgr state (targeted ${ad.targeted})</th><th class="n">devices</th></tr></thead><tbody>${cells}</tbody></table>`;
      const history = samples.map((s) => s.advertisements.find((a) => a.id === ad.id));
      const count = (a, group) => (a ? group.states.reduce((n, state) => n + (a.byState[state] ?? 0), 0) : 0);
      const canFinish = ad.targeted - count(ad, OUTCOMES[4]);
      rollout.textContent =
        canFinish > 0
          ? `Rollout so far: ${ad.byState.succeeded} of the ${canFinish} devices that can finish it (${Math.floor((100 * ad.byState.succeeded) / canFinish)}%).`
          : 'No targeted device can finish it.';
      chart(`ad-${ad.id}`, chartBox, {
        title: `${ad.id}: targeted devices by outcome`,
        xLabel,
        yLabel: 'devices',
        series: OUTCOMES.map((o) => ({ label: o.label, colour: o.colour })),
        data: [xs(), ...OUTCOMES.map((o) => history.map((a) => count(a, o)))],
        windows,
      });
    }
  }

  function renderRequests(windows) {
    const endpoints = keysOf(samples.map((s) => s.requests));
    const of = (field) => endpoints.map((e) => samples.map((s) => (s.requests[e] ? s.requests[e][field] : 0)));
    chart('request-rate', $('requests'), {
      title: 'Requests per second, by endpoint',
      xLabel,
      yLabel: 'requests / s (wall clock)',
      series: endpoints.map((label) => ({ label, paths: 'linear' })),
      data: [xs(), ...of('count')],
      windows,
    });
    chart('error-rate', $('requests'), {
      title: 'Errors per second, by endpoint',
      xLabel,
      yLabel: 'errors / s (wall clock)',
      series: endpoints.map((label) => ({ label, paths: 'linear' })),
      data: [xs(), ...of('errors')],
      windows,
    });
    const select = $('endpoint');
    if ([...select.options].map((o) => o.value).join() !== endpoints.join()) {
      const chosen = select.value;
      select.replaceChildren(...endpoints.map((e) => el('option', { value: e }, e)));
      if (endpoints.includes(chosen)) select.value = chosen;
    }
    const endpoint = select.value;
    const percentile = (field) => samples.map((s) => (s.requests[endpoint] ? s.requests[endpoint][field] : null));
    chart('latency', $('latency'), {
      title: `Latency of ${endpoint || 'no endpoint yet'}, each second`,
      xLabel,
      yLabel: 'ms (wall clock)',
      series: [
        { label: 'p50', paths: 'linear' },
        { label: 'p95', paths: 'linear' },
        { label: 'p99', paths: 'linear' },
      ],
      data: [xs(), percentile('p50Ms'), percentile('p95Ms'), percentile('p99Ms')],
      windows,
    });
  }

  async function showDevices(advertisement, state) {
    const answer = await fetch(`api/devices?advertisement=${encodeURIComponent(advertisement)}&state=${encodeURIComponent(state)}`).then((r) => r.json());
    const list = $('device-list');
    list.replaceChildren(
      el('p', {}, `${advertisement}, ${state}: ${answer.total} devices${answer.total > answer.devices.length ? `, the first ${answer.devices.length}` : ''}`),
      ...answer.devices.map((id) => el('button', { 'data-device': id }, id)),
    );
  }

  async function showDevice(id) {
    const response = await fetch(`api/device?id=${encodeURIComponent(id)}`);
    const view = $('device-view');
    if (!response.ok) {
      view.replaceChildren(el('p', {}, `No device ${id} in this fleet.`));
      return;
    }
    const device = await response.json();
    const rows = (pairs) => pairs.map(([k, v]) => `<tr><td>${k}</td><td>${v ?? '-'}</td></tr>`).join('');
    view.innerHTML =
      `<h3 id="device-id"></h3><p>State: <b id="device-state"></b></p>` +
      `<div class="scroll"><table><tbody>${rows(Object.entries(device.context))}</tbody></table></div>` +
      `<h4>Last events (since first looked at)</h4><ol id="device-events"></ol>` +
      `<h4>Last status messages at the site</h4><div class="scroll"><table><thead><tr><th>Time</th><th>Advertisement</th><th>Message</th></tr></thead><tbody id="device-history"></tbody></table></div>`;
    $('device-id').textContent = `${device.id} (${device.platform})`;
    $('device-id').dataset.device = device.id;
    $('device-state').textContent = device.state ?? 'not in this process (the site alone: its side only)';
    $('device-events').replaceChildren(...device.events.map((e) => el('li', {}, `${e.time} ${e.type}`)));
    $('device-history').replaceChildren(
      ...device.history.map((m) => {
        const row = el('tr');
        row.append(el('td', {}, m.time), el('td', {}, m.advertisementId), el('td', {}, String(m.messageId)));
        return row;
      }),
    );
  }

  document.addEventListener('click', (event) => {
    const target = event.target;
    if (target.dataset.state) void showDevices(target.dataset.ad, target.dataset.state);
    else if (target.dataset.device && target.tagName === 'BUTTON') void showDevice(target.dataset.device);
  });
  $('device-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void showDevice($('device-input').value.trim());
  });
  $('endpoint').addEventListener('change', render);

  const events = new EventSource('events');
  events.addEventListener('history', (event) => {
    const history = JSON.parse(event.data);
    samples = history.samples;
    scenarioWindows = history.windows;
    $('status').textContent = 'live';
    render();
  });
  events.addEventListener('sample', (event) => {
    samples.push(JSON.parse(event.data));
    render();
  });
  events.addEventListener('error', () => {
    $('status').textContent = 'disconnected (the run is over, or the simulator stopped)';
    events.close();
  });
})();

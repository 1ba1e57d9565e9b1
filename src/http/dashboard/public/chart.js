// Heartbeats (bars) and active seats (a step line) over time, as inline SVG drawn at the
// container's pixel width so labels stay readable on a phone.

import { h, s } from './dom.js';

const HEIGHT = 250;
const MARGIN = { left: 44, right: 14, top: 22, bottom: 26 };
const BEATS_HEIGHT = 104;
const GAP = 34;

/** Draws the series into `container`, and again whenever the window is resized. */
export function heartbeatChart(container, series) {
  const draw = () => container.replaceChildren(render(series, Math.max(280, container.clientWidth || 600)));
  draw();
  let frame = 0;
  const onResize = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => (container.isConnected ? draw() : window.removeEventListener('resize', onResize)));
  };
  window.addEventListener('resize', onResize);
}

/** What the chart shows, in words (also read by screen readers). */
export function summarise(series) {
  const beats = series.points.reduce((sum, p) => sum + p.beats, 0);
  const seats = series.points.map((p) => p.activeSeats).filter((v) => v !== null);
  const peak = seats.length ? Math.max(...seats) : null;
  return `${beats} heartbeat${beats === 1 ? '' : 's'}, ${peak === null ? 'no seat samples yet' : `peak ${peak} active seat${peak === 1 ? '' : 's'}`}`;
}

function render(series, width) {
  const { points, stepSeconds } = series;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const n = Math.max(points.length, 1);
  const slot = plotWidth / n;
  const x = (i) => MARGIN.left + i * slot;
  const beatsTop = MARGIN.top;
  const beatsBase = beatsTop + BEATS_HEIGHT;
  const seatsTop = beatsBase + GAP;
  const seatsBase = HEIGHT - MARGIN.bottom;

  const maxBeats = niceMax(Math.max(0, ...points.map((p) => p.beats)));
  const known = points.map((p, i) => [i, p.activeSeats]).filter(([, v]) => v !== null);
  const maxSeats = niceMax(Math.max(0, ...known.map(([, v]) => v)));
  const yBeats = (v) => beatsBase - (v / maxBeats) * (beatsBase - beatsTop);
  const ySeats = (v) => seatsBase - (v / maxSeats) * (seatsBase - seatsTop);

  const svg = s('svg', {
    class: 'chart',
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img',
    'aria-label': `Heartbeats and active seats: ${summarise(series)}`,
  });

  // Panels: label, axis lines, the top value.
  for (const [label, top, base, max] of [
    [`Heartbeats per ${stepLabel(stepSeconds)}`, beatsTop, beatsBase, maxBeats],
    ['Active seats', seatsTop, seatsBase, maxSeats],
  ]) {
    svg.append(
      s('text', { x: MARGIN.left, y: top - 8, class: 'chart-title' }, label),
      s('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: base, y2: base, class: 'axis' }),
      s('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: top, y2: top, class: 'gridline' }),
      s('text', { x: MARGIN.left - 6, y: top + 4, class: 'tick', 'text-anchor': 'end' }, formatCount(max)),
      s('text', { x: MARGIN.left - 6, y: base + 4, class: 'tick', 'text-anchor': 'end' }, '0'),
    );
  }

  // Heartbeat bars, each with its figure as a tooltip.
  const barWidth = Math.max(1, slot * 0.8);
  points.forEach((p, i) => {
    if (p.beats === 0) return;
    const y = yBeats(p.beats);
    svg.append(
      s(
        'rect',
        { x: x(i) + (slot - barWidth) / 2, y, width: barWidth, height: Math.max(1, beatsBase - y), class: 'bar' },
        s('title', {}, `${timeLabel(p.at, stepSeconds)}: ${p.beats} heartbeat${p.beats === 1 ? '' : 's'}`),
      ),
    );
  });

  // Active seats: a step line through the samples, with a dot on each.
  if (known.length > 0) {
    let d = '';
    known.forEach(([i, v], k) => {
      const cx = x(i) + slot / 2;
      d += k === 0 ? `M${cx},${ySeats(v)}` : `H${cx}V${ySeats(v)}`;
    });
    svg.append(s('path', { d, class: 'seats-line' }));
    for (const [i, v] of known) {
      svg.append(
        s(
          'circle',
          { cx: x(i) + slot / 2, cy: ySeats(v), r: 2.5, class: 'seats-dot' },
          s('title', {}, `${timeLabel(points[i].at, stepSeconds)}: ${v} active seat${v === 1 ? '' : 's'}`),
        ),
      );
    }
  } else {
    svg.append(
      s(
        'text',
        { x: MARGIN.left + plotWidth / 2, y: (seatsTop + seatsBase) / 2 + 4, class: 'chart-note', 'text-anchor': 'middle' },
        'No seat samples yet: the sweeper takes one each run',
      ),
    );
  }

  // Time ticks under the seats panel.
  const spanSeconds = points.length * stepSeconds;
  const ticks = Math.max(2, Math.min(6, Math.floor(plotWidth / (spanSeconds > 43_200 ? 130 : 90))));
  for (let t = 0; t < ticks; t++) {
    const i = Math.round((t * (points.length - 1)) / (ticks - 1));
    if (!points[i]) continue;
    const anchor = t === 0 ? 'start' : t === ticks - 1 ? 'end' : 'middle';
    const tx = t === ticks - 1 ? x(i) + slot : x(i) + (t === 0 ? 0 : slot / 2);
    svg.append(s('text', { x: tx, y: HEIGHT - 8, class: 'tick', 'text-anchor': anchor }, timeLabel(points[i].at, stepSeconds, spanSeconds <= 43_200)));
  }
  return h('div', { class: 'chart-frame' }, svg);
}

function niceMax(v) {
  if (v <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= v) return m * magnitude;
  return 10 * magnitude;
}

function formatCount(v) {
  return v >= 10_000 ? `${Math.round(v / 1000)}k` : String(v);
}

function stepLabel(seconds) {
  const minutes = seconds / 60;
  if (minutes < 60) return minutes === 1 ? 'minute' : `${minutes} min`;
  const hours = minutes / 60;
  return hours === 1 ? 'hour' : hours === 24 ? 'day' : `${hours} h`;
}

const pad = (n) => String(n).padStart(2, '0');

/** Hours and minutes; with the date too unless `short` (ranges of half a day or less). */
function timeLabel(iso, stepSeconds, short = false) {
  const d = new Date(iso);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (stepSeconds >= 86_400) return md;
  if (short) return hm;
  return `${md} ${hm}`;
}

// Vital-sign charts (uPlot, canvas): the mean of each bucket as a line with its min–max as a
// band, blood pressure as systolic and diastolic lines, and the alert thresholds in force drawn
// as dashed lines. Each chart also says in words what it shows, for screen readers.
import uPlot from 'uplot';
import { h } from './dom.js';
import type { Threshold } from './summary.js';
import { formatValue, unitOf, vitalLabel } from './vitals.js';

export interface Bucket {
  start: number;
  count: number;
  value?: { min: number; mean: number; max: number };
  systolic?: { min: number; mean: number; max: number };
  diastolic?: { min: number; mean: number; max: number };
}

const LINE = '#0b5cad';
const LINE2 = '#7a3db8';
const BAND = 'rgba(11, 92, 173, 0.15)';
const THRESHOLD = '#b00020';

function thresholdPlugin(lines: { value: number; label: string }[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = THRESHOLD;
          ctx.fillStyle = THRESHOLD;
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textAlign = 'left';
          ctx.textBaseline = 'bottom';
          for (const line of lines) {
            const y = u.valToPos(line.value, 'y', true);
            if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.fillText(line.label, u.bbox.left + 4 * devicePixelRatio, y - 3 * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

function thresholdLines(type: string, thresholds: readonly Threshold[]): { value: number; label: string }[] {
  const out: { value: number; label: string }[] = [];
  for (const t of thresholds.filter((x) => x.type === type)) {
    if (t.below !== undefined) out.push({ value: t.below, label: `alert below ${t.below}` });
    if (t.above !== undefined) out.push({ value: t.above, label: `alert above ${t.above}` });
    if (t.systolic !== undefined) out.push({ value: t.systolic, label: `systolic alert ${t.systolic}` });
    if (t.diastolic !== undefined) out.push({ value: t.diastolic, label: `diastolic alert ${t.diastolic}` });
  }
  return out;
}

/** A chart card for one vital over [from, to]; the caller appends it, then calls draw(). */
export function vitalChart(
  type: string,
  buckets: readonly Bucket[],
  thresholds: readonly Threshold[],
  range: { from: number; to: number },
): { card: HTMLElement; destroy(): void } {
  const filled = buckets.filter((b) => b.count > 0);
  const title = `${vitalLabel(type)} (${unitOf(type)})`;
  const card = h('figure', { class: 'chart', 'data-type': type }, h('h3', null, title));
  if (filled.length === 0) {
    card.append(h('p', { class: 'empty' }, 'No readings in this period.'));
    return { card, destroy() {} };
  }
  const last = filled.at(-1)!;
  const lastText = formatValue(type, {
    ...(last.value ? { value: last.value.mean } : {}),
    ...(last.systolic ? { systolic: last.systolic.mean, diastolic: last.diastolic?.mean ?? 0 } : {}),
  });
  const lines = thresholdLines(type, thresholds);
  card.append(
    h(
      'figcaption',
      { class: 'visually-hidden' },
      `${title}: ${filled.length} periods with readings; the latest average is ${lastText}.` +
        (lines.length ? ` Alert thresholds: ${lines.map((l) => l.label).join(', ')}.` : ''),
    ),
  );
  const plotBox = h('div', { class: 'plot', role: 'img', 'aria-label': `${title} chart` });
  card.append(plotBox);
  const xs = filled.map((b) => b.start / 1000);
  const bp = type === 'blood_pressure';
  const data: uPlot.AlignedData = bp
    ? [xs, filled.map((b) => b.systolic?.mean ?? null), filled.map((b) => b.diastolic?.mean ?? null)]
    : [
        xs,
        filled.map((b) => b.value?.mean ?? null),
        filled.map((b) => b.value?.min ?? null),
        filled.map((b) => b.value?.max ?? null),
      ];
  const series: uPlot.Series[] = bp
    ? [{}, { label: 'Systolic', stroke: LINE, width: 2 }, { label: 'Diastolic', stroke: LINE2, width: 2 }]
    : [
        {},
        { label: 'Average', stroke: LINE, width: 2 },
        { label: 'Min', stroke: 'transparent', points: { show: false } },
        { label: 'Max', stroke: 'transparent', points: { show: false } },
      ];
  const values = (data.slice(1) as (number | null)[][]).flat().filter((v): v is number => v !== null);
  const all = [...values, ...lines.map((l) => l.value)];
  const pad = Math.max(1, (Math.max(...all) - Math.min(...all)) * 0.1);
  let plot: uPlot | undefined;
  const make = (width: number) => {
    plot?.destroy();
    plot = new uPlot(
      {
        width: Math.max(240, width),
        height: 180,
        series,
        bands: bp ? [] : [{ series: [3, 2], fill: BAND }],
        scales: {
          x: { time: true, range: [range.from / 1000, range.to / 1000] },
          y: { range: [Math.min(...all) - pad, Math.max(...all) + pad] },
        },
        axes: [{}, { size: 44 }],
        legend: { show: false },
        cursor: { show: true, drag: { x: false, y: false } },
        plugins: [thresholdPlugin(lines)],
      },
      data,
      plotBox,
    );
  };
  let observer: ResizeObserver | undefined;
  queueMicrotask(() => {
    make(plotBox.clientWidth || 320);
    let lastWidth = plotBox.clientWidth;
    observer = new ResizeObserver(() => {
      if (Math.abs(plotBox.clientWidth - lastWidth) > 8) {
        lastWidth = plotBox.clientWidth;
        plot?.setSize({ width: Math.max(240, lastWidth), height: 180 });
      }
    });
    observer.observe(plotBox);
  });
  return {
    card,
    destroy() {
      observer?.disconnect();
      plot?.destroy();
    },
  };
}

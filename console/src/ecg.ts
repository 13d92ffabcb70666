// A live ECG strip: the last few seconds of waveform from the SSE stream, drawn on a canvas.
// Hidden until the first ECG chunk arrives.
import { h } from './dom.js';

const SECONDS = 5;

export function ecgStrip(): { el: HTMLElement; push(samples: number[], rateHz: number): void } {
  const canvas = h('canvas', {
    width: 600,
    height: 120,
    role: 'img',
    'aria-label': 'Live ECG waveform, last 5 seconds',
  });
  const el = h('figure', { class: 'chart ecg', hidden: true }, h('h3', null, 'ECG (live, mV)'), canvas);
  let buffer: number[] = [];
  let rate = 250;
  let frame = 0;
  const draw = () => {
    frame = 0;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const width = (canvas.width = Math.max(300, canvas.clientWidth * devicePixelRatio));
    const height = canvas.height;
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = '#1b6e35';
    ctx.lineWidth = 1.5 * devicePixelRatio;
    const n = SECONDS * rate;
    const min = Math.min(...buffer, -0.5);
    const max = Math.max(...buffer, 1.5);
    ctx.beginPath();
    buffer.forEach((v, i) => {
      const x = (i / n) * width;
      const y = height - ((v - min) / (max - min)) * (height - 10) - 5;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  };
  return {
    el,
    push(samples, rateHz) {
      rate = rateHz;
      el.hidden = false;
      buffer = buffer.concat(samples).slice(-SECONDS * rateHz);
      if (!frame) frame = requestAnimationFrame(draw);
    },
  };
}

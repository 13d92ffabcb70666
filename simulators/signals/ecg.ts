// A synthetic single-lead ECG: each beat is a sum of Gaussian P, Q, R, S and T waves (after
// McSharry et al., 2003), with the QT interval scaled to the RR interval (Bazett). Beats
// follow the body's heart rate, so R-peaks come at the rate the heart-rate readings show.
// The synthesizer keeps the beat train between chunks, so consecutive chunks join up.
import { normalAt, stream } from './random.js';

interface Wave {
  /** Offset from the R peak, seconds, at an RR of 1 s. */
  readonly at: number;
  readonly amplitudeMv: number;
  readonly widthS: number;
  /** Whether the offset scales with sqrt(RR) (the QT interval does, the QRS does not). */
  readonly scales: boolean;
}

const WAVES: readonly Wave[] = [
  { at: -0.17, amplitudeMv: 0.12, widthS: 0.022, scales: true }, // P
  { at: -0.028, amplitudeMv: -0.12, widthS: 0.009, scales: false }, // Q
  { at: 0, amplitudeMv: 1.15, widthS: 0.011, scales: false }, // R
  { at: 0.03, amplitudeMv: -0.25, widthS: 0.01, scales: false }, // S
  { at: 0.29, amplitudeMv: 0.3, widthS: 0.05, scales: true }, // T
];

const HRV = stream('ecg-hrv');
const NOISE = stream('ecg-noise');

export interface EcgChunk {
  /** Epoch ms of the first sample. */
  readonly ts: number;
  readonly samples: number[];
}

interface Beat {
  readonly t: number;
  readonly rrS: number;
}

export class EcgSynthesizer {
  private beats: Beat[] = [];

  constructor(
    private readonly seed: number,
    readonly sampleRateHz: number,
  ) {}

  /**
   * Samples on the global grid (k / sampleRateHz seconds since the epoch) in [from, to).
   * `heartRate(t)` is the body's heart rate, /min.
   */
  chunk(from: number, to: number, heartRate: (t: number) => number): EcgChunk {
    const periodMs = 1000 / this.sampleRateHz;
    const first = Math.ceil(from / periodMs);
    const end = Math.ceil(to / periodMs);
    const samples: number[] = [];
    if (end <= first) return { ts: first * periodMs, samples };
    this.extendBeats(first * periodMs, end * periodMs, heartRate);
    let lo = 0;
    for (let k = first; k < end; k += 1) {
      const t = k * periodMs;
      while (lo < this.beats.length && (this.beats[lo] as Beat).t < t - 1500) lo += 1;
      let mv = 0.06 * Math.sin((2 * Math.PI * 0.25 * t) / 1000) + 0.012 * normalAt(this.seed, NOISE, k);
      for (let i = lo; i < this.beats.length; i += 1) {
        const beat = this.beats[i] as Beat;
        if (beat.t > t + 1000) break;
        mv += beatShape((t - beat.t) / 1000, beat.rrS);
      }
      samples.push(Math.round(mv * 1000) / 1000);
    }
    return { ts: first * periodMs, samples };
  }

  /** Makes the beat train cover [from - 1.5 s, to + 1 s]; restarts it after a gap. */
  private extendBeats(from: number, to: number, heartRate: (t: number) => number): void {
    const last = this.beats.at(-1);
    if (!last || last.t < from - 2000) {
      const rrS = 60 / heartRate(from);
      const phase = (normalAt(this.seed, HRV, Math.floor(from), 3) + 3) / 6;
      this.beats = [{ t: from - 1500 + phase * rrS * 1000, rrS }];
    }
    this.beats = this.beats.filter((beat) => beat.t >= from - 2000);
    let tail = this.beats.at(-1) as Beat;
    while (tail.t < to + 1000) {
      const rrS = (60 / heartRate(tail.t)) * (1 + 0.015 * normalAt(this.seed, HRV, Math.round(tail.t)));
      tail = { t: tail.t + rrS * 1000, rrS };
      this.beats.push(tail);
    }
  }
}

function beatShape(dtS: number, rrS: number): number {
  const scale = Math.sqrt(Math.min(rrS, 1.6));
  let mv = 0;
  for (const wave of WAVES) {
    const at = wave.scales ? wave.at * scale : wave.at;
    const width = wave.scales ? wave.widthS * scale : wave.widthS;
    const x = (dtS - at) / width;
    if (x > -5 && x < 5) mv += wave.amplitudeMv * Math.exp(-0.5 * x * x);
  }
  return mv;
}

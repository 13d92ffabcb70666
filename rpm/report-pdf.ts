// The clinical report as a PDF for the chart, written with pdfkit (a well-kept, pure JavaScript
// PDF writer): the hub makes it in-process from the report's numbers, with vector charts, and
// needs no headless browser on the server (a browser there would be a large attack surface and
// a second process to keep alive). The console's report page has its own print stylesheet for
// printing from the browser. The patient is named by the hub's pseudonymous id only: no
// demographics go into the file.
import PDFDocument from 'pdfkit';
import { AGP_PERCENTILES, GLUCOSE_RANGES, type ClinicalReport } from './clinical-report.js';

const BAND_COLOURS: Record<string, string> = {
  very_low: '#8b0000',
  low: '#e0584f',
  in_range: '#2e8b57',
  high: '#e8a317',
  very_high: '#c46b00',
};

export function reportPdf(report: ClinicalReport, generatedAt: Date): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 48,
    info: { Title: `RPM report ${report.patientId}`, Producer: 'VitalGate', Creator: 'VitalGate' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const from = report.period.from.slice(0, 10);
  const to = report.period.to.slice(0, 10);
  doc.fontSize(18).text('Remote monitoring report');
  doc.moveDown(0.3).fontSize(11);
  doc.text(`Patient: ${report.patientId}`);
  doc.text(`Period: ${from} to ${to} (${report.period.days} days, ${report.period.timeZone})`);
  doc
    .fillColor('#555')
    .text(`Generated ${generatedAt.toISOString()} from sealed minute rollups`)
    .fillColor('black');

  const section = (title: string) => doc.moveDown(0.8).fontSize(13).text(title).moveDown(0.2).fontSize(10);
  const g = report.glucose;
  section('Glucose');
  if (!g) doc.text('No readings in the period.');
  else {
    doc.text(`${g.readings} readings, mean ${g.mean} mg/dL`);
    doc.text(
      `Time in ranges: ${GLUCOSE_RANGES.map((r) => `${r.band.replace('_', ' ')} ${g.timeInRanges[r.band]} %`).join(', ')}`,
    );
    // Time in ranges as one stacked bar.
    const x0 = doc.page.margins.left;
    const width = doc.page.width - x0 - doc.page.margins.right;
    let x = x0;
    const y = doc.y + 4;
    for (const r of GLUCOSE_RANGES) {
      const w = (width * g.timeInRanges[r.band]) / 100;
      if (w > 0) doc.rect(x, y, w, 10).fill(BAND_COLOURS[r.band]!);
      x += w;
    }
    doc.fillColor('black');
    doc.y = y + 18;
    agpChart(doc, g.agp);
  }

  const bp = report.bloodPressure;
  section('Blood pressure');
  if (!bp) doc.text('No readings in the period.');
  else {
    const part = (name: string, p: { n: number; systolic: number; diastolic: number } | null) =>
      p ? `${name} ${p.systolic}/${p.diastolic} mmHg (${p.n})` : `${name}: no readings`;
    doc.text(`${bp.readings} readings; ${part('morning', bp.morning)}; ${part('evening', bp.evening)}`);
    doc.text(
      `At or above ${bp.target.systolic}/${bp.target.diastolic} mmHg: ${bp.aboveTarget} % of readings`,
    );
  }

  const w = report.weight;
  section('Weight');
  doc.text(
    w
      ? `${w.readings} readings: ${w.first} kg to ${w.last} kg (change ${w.change > 0 ? '+' : ''}${w.change} kg${w.kgPerWeek === null ? '' : `, trend ${w.kgPerWeek} kg/week`})`
      : 'No readings in the period.',
  );

  section('Oxygen saturation and heart rate');
  doc.text(
    report.spo2
      ? `SpO2: ${report.spo2.minutes} minutes with readings, mean ${report.spo2.mean} %, below 90 %: ${report.spo2.below90} %`
      : 'SpO2: no readings in the period.',
  );
  doc.text(
    report.heartRate
      ? `Heart rate: ${report.heartRate.minutes} minutes with readings, mean ${report.heartRate.mean} /min, below 50: ${report.heartRate.below50} %, above 100: ${report.heartRate.above100} %`
      : 'Heart rate: no readings in the period.',
  );

  const a = report.alerts;
  section('Alerts');
  doc.text(
    `${a.raised} raised, ${a.acknowledged} acknowledged${a.medianMinutesToAck === null ? '' : ` (median ${a.medianMinutesToAck} min, longest ${a.longestMinutesToAck} min to acknowledge)`}, ${a.unacknowledged} not acknowledged`,
  );
  doc.end();
  return done;
}

/** The ambulatory glucose profile: the 5-95 and 25-75 percentile bands and the median by hour. */
function agpChart(doc: PDFKit.PDFDocument, agp: NonNullable<ClinicalReport['glucose']>['agp']): void {
  const left = doc.page.margins.left + 28;
  const width = doc.page.width - left - doc.page.margins.right;
  const top = doc.y + 6;
  const height = 140;
  const maxY = 350;
  const px = (hour: number) => left + (width * hour) / 23;
  const py = (v: number) => top + height - (height * Math.min(v, maxY)) / maxY;
  doc.lineWidth(0.5).strokeColor('#999').rect(left, top, width, height).stroke();
  for (const v of [54, 70, 180, 250]) {
    doc
      .strokeColor('#ccc')
      .moveTo(left, py(v))
      .lineTo(left + width, py(v))
      .stroke();
    doc
      .fillColor('#555')
      .fontSize(7)
      .text(String(v), left - 24, py(v) - 3, { width: 20, align: 'right' });
  }
  if (agp.length > 0) {
    const band = (lo: 'p5' | 'p25', hi: 'p75' | 'p95', colour: string) => {
      doc.moveTo(px(agp[0]!.hour), py(agp[0]![hi]));
      for (const p of agp) doc.lineTo(px(p.hour), py(p[hi]));
      for (const p of [...agp].reverse()) doc.lineTo(px(p.hour), py(p[lo]));
      doc.closePath().fill(colour);
    };
    band('p5', 'p95', '#d6e4f0');
    band('p25', 'p75', '#8fb3d9');
    doc.lineWidth(1.5).strokeColor('#1f4e79').moveTo(px(agp[0]!.hour), py(agp[0]!.p50));
    for (const p of agp) doc.lineTo(px(p.hour), py(p.p50));
    doc.stroke();
  }
  doc.fillColor('#555').fontSize(7);
  for (const h of [0, 6, 12, 18, 23])
    doc.text(`${String(h).padStart(2, '0')}:00`, px(h) - 12, top + height + 2, {
      width: 24,
      align: 'center',
    });
  doc
    .fillColor('black')
    .fontSize(8)
    .text(
      `Ambulatory glucose profile (mg/dL by hour of day): median line, ${AGP_PERCENTILES[1]}-${AGP_PERCENTILES[3]} and ${AGP_PERCENTILES[0]}-${AGP_PERCENTILES[4]} percentile bands`,
      doc.page.margins.left,
      top + height + 14,
    );
  doc.fontSize(10);
}

// Device alarms on a real (in-memory) SQLite control plane and the ingest's bus, with a test
// clock: cadence per device kind and per patient, once per silence, cleared by the next reading,
// and an open alarm kept across a restart (cleared by the device, not raised twice).
import { describe, expect, it } from 'vitest';
import { DeviceWatch } from '../../../care/device-watch.js';
import { AlertParameterRepository } from '../../../core/store/alert-settings.js';
import { ControlPlane } from '../../../core/store/control-plane.js';
import { openDatabase } from '../../../core/store/database.js';
import { AlertBus } from '../../../ingest/alerts.js';

const PATIENT = 'pat_devicewatch1';
const H = 3_600_000;

function setup() {
  const clock = { now: 1_800_000_000_000 };
  const db = openDatabase(':memory:');
  const store = new ControlPlane(db, () => clock.now);
  store.patients.add({ id: PATIENT, sealedDemographics: Buffer.alloc(1), keyVersion: 1, pseudonym: 'p' });
  for (const [id, kind] of [
    ['cuff-1', 'bp_monitor'],
    ['wear-1', 'wearable'],
  ] as const) {
    store.devices.add({ id, kind, patientId: PATIENT });
    store.db.prepare("UPDATE devices SET status = 'active' WHERE id = ?").run(id);
  }
  const bus = new AlertBus();
  const watch = (b = bus) => new DeviceWatch({ store, bus: b, now: () => clock.now });
  const reading = (b: AlertBus, deviceId: string) =>
    b.emit('reading', {
      patientId: PATIENT,
      deviceId,
      ts: clock.now,
      reading: { type: 'heart_rate', value: 70, unit: '/min' } as never,
    });
  const missing = () => store.alerts.list({ patientId: PATIENT }).filter((a) => a.rule === 'data_missing');
  return { clock, db, store, bus, watch, reading, missing };
}

describe('device watch', () => {
  it('a cuff is given 26 h, or the patient’s own cadence; a reading clears the alarm', () => {
    const { clock, db, bus, watch, reading, missing } = setup();
    const w = watch();
    reading(bus, 'wear-1');
    reading(bus, 'cuff-1');
    new AlertParameterRepository(db).set(PATIENT, 'data_missing', 'wearable', 30 * 3_600);
    clock.now += 25 * H;
    expect(w.tick()).toBe(0);
    clock.now += 1 * H + 1;
    expect(w.tick()).toBe(1);
    expect(missing()).toEqual([expect.objectContaining({ deviceId: 'cuff-1', status: 'open' })]);
    reading(bus, 'cuff-1');
    expect(missing()[0]!.status).toBe('cleared');
    expect(w.tick()).toBe(0);
    clock.now += 4 * H;
    expect(w.tick()).toBe(1); // the wearable, on the patient's own 30 h
    expect(missing()[0]).toMatchObject({ deviceId: 'wear-1', status: 'open' });
  });

  it('an open alarm survives a restart: not raised twice, cleared when the device is heard', () => {
    const { clock, watch, reading, missing } = setup();
    const first = watch();
    clock.now += 27 * H;
    expect(first.tick()).toBe(2);
    first.close();
    const bus = new AlertBus();
    const second = watch(bus);
    clock.now += 27 * H;
    expect(second.tick()).toBe(0);
    expect(missing()).toHaveLength(2);
    reading(bus, 'wear-1');
    expect(
      missing()
        .filter((a) => a.status === 'open')
        .map((a) => a.deviceId),
    ).toEqual(['cuff-1']);
  });
});

// The LiveFeed over ingest's in-process bus: each accepted reading and each alert change.
import type { AlertRecord } from '../../core/store/ingest-state.js';
import type { AlertBus } from '../../ingest/alerts.js';
import type { LiveEvent, LiveFeed } from '../ports.js';

export function liveFeedFromBus(bus: AlertBus): LiveFeed {
  return {
    subscribe(listener: (event: LiveEvent) => void) {
      const onReading = (e: { patientId: string | null; deviceId: string; ts: number; reading: object }) => {
        const { type, ts: _ts, ...values } = e.reading as Record<string, unknown> & { type: string };
        listener({
          kind: 'reading',
          patientId: e.patientId,
          point: { ts: e.ts, deviceId: e.deviceId, type: type as never, values },
        });
      };
      const onAlert = (e: { type: 'raised' | 'cleared'; alert: AlertRecord }) =>
        listener({ kind: 'alert', patientId: e.alert.patientId, change: e.type, alert: e.alert });
      bus.on('reading', onReading);
      bus.on('alert', onAlert);
      return () => {
        bus.off('reading', onReading);
        bus.off('alert', onAlert);
      };
    },
  };
}

// API metrics in the hub's shared prom-client registry. Labels are route patterns, methods,
// statuses and refusal reasons: never a patient, a user or a raw URL.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export class ApiMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly phiRefusals: Counter<'reason'>;
  readonly logins: Counter<'outcome'>;
  readonly liveStreams: Gauge;

  constructor(registry: Registry, liveSessions: () => number) {
    this.requests =
      existing(registry, 'vitalgate_api_requests_total') ??
      new Counter({
        name: 'vitalgate_api_requests_total',
        help: 'HTTPS API requests by route pattern and status',
        labelNames: ['method', 'route', 'status'],
        registers: [registry],
      });
    this.duration =
      existing(registry, 'vitalgate_api_request_duration_seconds') ??
      new Histogram({
        name: 'vitalgate_api_request_duration_seconds',
        help: 'HTTPS API request duration by route pattern',
        labelNames: ['route'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      });
    this.phiRefusals =
      existing(registry, 'vitalgate_api_phi_refusals_total') ??
      new Counter({
        name: 'vitalgate_api_phi_refusals_total',
        help: 'PHI requests refused, by reason (role, assignment, network)',
        labelNames: ['reason'],
        registers: [registry],
      });
    this.logins =
      existing(registry, 'vitalgate_api_logins_total') ??
      new Counter({
        name: 'vitalgate_api_logins_total',
        help: 'Login steps by outcome',
        labelNames: ['outcome'],
        registers: [registry],
      });
    this.liveStreams =
      existing(registry, 'vitalgate_api_live_streams') ??
      new Gauge({
        name: 'vitalgate_api_live_streams',
        help: 'Open live (SSE) streams',
        registers: [registry],
      });
    if (!existing(registry, 'vitalgate_api_sessions_live')) {
      new Gauge({
        name: 'vitalgate_api_sessions_live',
        help: 'Staff sessions that have not ended or expired',
        registers: [registry],
        collect() {
          this.set(liveSessions());
        },
      });
    }
  }
}

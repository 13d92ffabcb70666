// The site geofence: the position a browser reports (`X-VitalGate-Position: lat,lon,accuracyM`)
// against the configured sites (centre and radius). The position is the client's word, so it can
// only take access away: a position inside a site never grants anything the network policy and
// adaptive access would refuse. Coordinates are never logged or audited; only the site's name is.
import { VitalGateError } from '../../core/errors.js';
import { distanceM } from '../../core/geo.js';

export const POSITION_HEADER = 'x-vitalgate-position';

export interface GeofenceSite {
  name: string;
  lat: number;
  lon: number;
  radiusM: number;
}

export interface ReportedPosition {
  lat: number;
  lon: number;
  accuracyM: number;
}

const NUMBER = String.raw`-?\d{1,3}(?:\.\d{1,10})?`;
const POSITION = new RegExp(`^(${NUMBER}),(${NUMBER}),(\\d{1,7}(?:\\.\\d{1,3})?)$`);

/** The reported position, undefined when none was sent; POSITION_INVALID when it is malformed. */
export function parsePosition(header: string | string[] | undefined): ReportedPosition | undefined {
  if (header === undefined || header === '') return undefined;
  const m = typeof header === 'string' ? POSITION.exec(header.replace(/\s+/g, '')) : null;
  const position = m ? { lat: Number(m[1]), lon: Number(m[2]), accuracyM: Number(m[3]) } : undefined;
  if (!position || Math.abs(position.lat) > 90 || Math.abs(position.lon) > 180) {
    throw new VitalGateError(
      'POSITION_INVALID',
      `${POSITION_HEADER} must be "latitude,longitude,accuracy in metres" in decimal degrees`,
    );
  }
  return position;
}

/** The site whose circle holds the position, if any. */
export function siteContaining(
  sites: readonly GeofenceSite[],
  position: ReportedPosition,
): GeofenceSite | undefined {
  return sites.find((s) => distanceM(s, position) <= s.radiusM);
}

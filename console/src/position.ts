// The device's position for the site geofence: asked of the browser only once the API says a
// role's PHI needs it (GEOFENCE_POSITION_REQUIRED), then kept up to date in memory (never stored)
// and sent with each API request as `X-VitalGate-Position: lat,lon,accuracy`. The hub treats it
// as the client's word: it can only take access away, never grant it.
export const POSITION_HEADER = 'x-vitalgate-position';

let current: string | undefined;
let watching = false;

/** The header value of the last position the browser reported, if any. */
export function positionHeader(): string | undefined {
  return current;
}

/**
 * Starts following the browser's position (the browser asks the user once); `first` runs when
 * the first position arrives (the console then draws the refused page again).
 */
export function sharePosition(first: () => void): void {
  if (watching || !('geolocation' in navigator)) return;
  watching = true;
  navigator.geolocation.watchPosition(
    (p) => {
      const had = current !== undefined;
      current = `${p.coords.latitude.toFixed(6)},${p.coords.longitude.toFixed(6)},${Math.round(p.coords.accuracy)}`;
      if (!had) first();
    },
    () => {
      current = undefined;
    },
    { enableHighAccuracy: true, maximumAge: 60_000 },
  );
}

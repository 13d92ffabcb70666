// Vital signs and alert rules as clinicians name them: labels, units, how to print a value.
export type VitalType =
  | 'heart_rate'
  | 'spo2'
  | 'blood_pressure'
  | 'respiratory_rate'
  | 'body_temperature'
  | 'blood_glucose'
  | 'body_weight'
  | 'steps'
  | 'ecg';

export const VITALS: Readonly<Record<string, { label: string; unit: string; digits: number }>> = {
  heart_rate: { label: 'Heart rate', unit: 'bpm', digits: 0 },
  spo2: { label: 'SpO₂', unit: '%', digits: 0 },
  blood_pressure: { label: 'Blood pressure', unit: 'mmHg', digits: 0 },
  respiratory_rate: { label: 'Resp. rate', unit: '/min', digits: 0 },
  body_temperature: { label: 'Temperature', unit: '°C', digits: 1 },
  blood_glucose: { label: 'Glucose', unit: 'mg/dL', digits: 0 },
  body_weight: { label: 'Weight', unit: 'kg', digits: 1 },
  steps: { label: 'Steps', unit: 'steps', digits: 0 },
  ecg: { label: 'ECG', unit: 'mV', digits: 2 },
};

/** The order vitals are shown in. */
export const VITAL_ORDER = [
  'heart_rate',
  'spo2',
  'blood_pressure',
  'respiratory_rate',
  'body_temperature',
  'blood_glucose',
  'body_weight',
] as const;

export const RULES: Readonly<Record<string, string>> = {
  spo2_low: 'Low SpO₂',
  heart_rate_high: 'High heart rate',
  heart_rate_low: 'Low heart rate',
  blood_pressure_high: 'Very high blood pressure',
  glucose_low: 'Low blood glucose',
  temperature_high: 'Fever',
  geofence_exit: 'Left the home area',
};

export const KINDS: Readonly<Record<string, string>> = {
  wearable: 'Wearable',
  pulse_oximeter: 'Pulse oximeter',
  bp_monitor: 'BP monitor',
  glucometer: 'Glucometer',
  weight_scale: 'Scale',
  thermometer: 'Thermometer',
  gateway: 'Gateway (phone or home hub)',
};

export function ruleLabel(rule: string): string {
  return RULES[rule] ?? rule.replace(/_/g, ' ');
}

export function vitalLabel(type: string): string {
  return VITALS[type]?.label ?? type.replace(/_/g, ' ');
}

export function formatValue(
  type: string,
  v: { value?: number; systolic?: number; diastolic?: number },
): string {
  if (v.systolic !== undefined) return `${Math.round(v.systolic)}/${Math.round(v.diastolic ?? 0)}`;
  if (v.value === undefined) return '–';
  return v.value.toFixed(VITALS[type]?.digits ?? 1);
}

export function unitOf(type: string): string {
  return VITALS[type]?.unit ?? '';
}

export const TREND_TEXT = { rising: '↑ rising', falling: '↓ falling', steady: '→ steady' } as const;

export function ageOf(birthDate: string, now = new Date()): number {
  const b = new Date(`${birthDate}T00:00:00Z`);
  let age = now.getUTCFullYear() - b.getUTCFullYear();
  const m = now.getUTCMonth() - b.getUTCMonth();
  if (m < 0 || (m === 0 && now.getUTCDate() < b.getUTCDate())) age -= 1;
  return age;
}

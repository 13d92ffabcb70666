// Patients with their demographics sealed under the patient's own data key. Erasing a patient
// shreds that key, which makes the demographics and every stored reading unreadable.
import { randomBytes } from 'node:crypto';
import type { AuditLog } from './audit.js';
import { VitalGateError } from './errors.js';
import type { Keyring } from './keyring.js';
import type { PatientRepository } from './store/patients.js';

export interface Demographics {
  name: string;
  birthDate: string;
  mrn?: string | undefined;
}

export interface Patient extends Demographics {
  id: string;
  createdAt: number;
}

export function patientKeySubject(patientId: string): string {
  return `patient:${patientId}`;
}

export const PATIENT_ID_PATTERN = /^pat_[A-Za-z0-9_-]{8,40}$/;

export class PatientRegistry {
  constructor(
    private readonly patients: PatientRepository,
    private readonly keyring: Keyring,
    private readonly audit: AuditLog,
  ) {}

  add(demographics: Demographics, actor: string): { id: string } {
    validateDemographics(demographics);
    const id = `pat_${randomBytes(12).toString('base64url')}`;
    const sealed = this.keyring.seal(
      patientKeySubject(id),
      Buffer.from(JSON.stringify(demographics)),
      `${id}:demographics`,
    );
    this.patients.add({
      id,
      sealedDemographics: sealed.ciphertext,
      keyVersion: sealed.keyVersion,
      pseudonym: this.keyring.pseudonym(id),
    });
    this.audit.append({ actor, action: 'patient.create', target: `patient:${id}`, outcome: 'success' });
    return { id };
  }

  /** Decrypts a patient's demographics. Callers audit the PHI read. */
  get(id: string): Patient {
    const record = this.patients.require(id);
    if (record.erasedAt !== null) throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
    const plain = this.keyring.open(
      patientKeySubject(id),
      record.keyVersion,
      record.sealedDemographics,
      `${id}:demographics`,
    );
    return { id, createdAt: record.createdAt, ...(JSON.parse(plain.toString('utf8')) as Demographics) };
  }

  /** Crypto-shredding: the patient's data key is destroyed; their data cannot be read again. */
  erase(id: string, actor: string, reason: string): void {
    this.patients.require(id);
    this.keyring.shred(patientKeySubject(id));
    this.patients.markErased(id);
    this.audit.append({
      actor,
      action: 'patient.erase',
      target: `patient:${id}`,
      outcome: 'success',
      details: { reason },
    });
  }
}

function validateDemographics(d: Demographics): void {
  if (typeof d.name !== 'string' || d.name.trim().length === 0 || d.name.length > 200) {
    throw new VitalGateError('PATIENT_INVALID', 'name must be 1 to 200 characters');
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d.birthDate ?? '');
  const parsed = date ? new Date(`${d.birthDate}T00:00:00Z`) : undefined;
  if (
    !parsed ||
    Number.isNaN(parsed.getTime()) ||
    parsed.toISOString().slice(0, 10) !== d.birthDate ||
    parsed.getTime() > Date.now()
  ) {
    throw new VitalGateError('PATIENT_INVALID', 'birth date must be a past date as YYYY-MM-DD');
  }
  if (d.mrn !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(d.mrn)) {
    throw new VitalGateError('PATIENT_INVALID', 'MRN must be 1 to 64 letters, digits or -');
  }
}

// What a clinician filed from a care-team conversation, as a FHIR R4 Communication: the patient
// as subject, the sender, the sent time (the first filed message's), one payload per message
// ("sender, time: text"), priority (urgent when any filed message was), and `about` the alert or
// the range of readings the messages referred to. The hub's alerts and reading ranges are not
// FHIR resources of their own, so they are logical references (an identifier and a display).
import { fhirPatientId } from './ids.js';

type Json = Record<string, unknown>;

export const COMMUNICATION_SYSTEMS = {
  filed: 'urn:vitalgate:filed-communication',
  conversation: 'urn:vitalgate:conversation',
  staff: 'urn:vitalgate:staff',
  alert: 'urn:vitalgate:alert',
  readings: 'urn:vitalgate:readings',
} as const;

const CATEGORY = {
  coding: [
    {
      system: 'http://terminology.hl7.org/CodeSystem/communication-category',
      code: 'notification',
      display: 'Notification',
    },
  ],
  text: 'Care-team message filed to the record',
};

/** A filed excerpt, as messaging/filing.ts keeps it (structurally; fhir/ imports no other capability). */
export interface FiledExcerpt {
  id: string;
  patientId: string;
  conversationId: string;
  filedBy: string;
  filedAt: number;
  messages: {
    id: number;
    sender: string;
    sentAt: number;
    priority: 'normal' | 'urgent';
    body: string;
    ref:
      | { kind: 'alert'; alertId: number }
      | { kind: 'readings'; from: number; to: number; types?: string[] | undefined }
      | null;
  }[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const staff = (username: string): Json => ({
  identifier: { system: COMMUNICATION_SYSTEMS.staff, value: username },
  display: username,
});

function aboutOf(ref: NonNullable<FiledExcerpt['messages'][number]['ref']>): Json {
  if (ref.kind === 'alert')
    return {
      identifier: { system: COMMUNICATION_SYSTEMS.alert, value: String(ref.alertId) },
      display: `Alert ${ref.alertId}`,
    };
  const types = ref.types?.length ? ref.types.join(',') : 'all';
  return {
    type: 'Observation',
    identifier: { system: COMMUNICATION_SYSTEMS.readings, value: `${types}/${iso(ref.from)}/${iso(ref.to)}` },
    display: `Readings (${types}) from ${iso(ref.from)} to ${iso(ref.to)}`,
  };
}

export function toCommunication(filed: FiledExcerpt): Json {
  const first = filed.messages[0]!;
  const senders = [...new Set(filed.messages.map((m) => m.sender))];
  const abouts = new Map<string, Json>();
  for (const m of filed.messages) {
    if (!m.ref) continue;
    const about = aboutOf(m.ref);
    abouts.set(JSON.stringify(about), about);
  }
  return {
    resourceType: 'Communication',
    id: filed.id,
    identifier: [
      { system: COMMUNICATION_SYSTEMS.filed, value: filed.id },
      { system: COMMUNICATION_SYSTEMS.conversation, value: filed.conversationId },
    ],
    status: 'completed',
    category: [CATEGORY],
    priority: filed.messages.some((m) => m.priority === 'urgent') ? 'urgent' : 'routine',
    subject: { reference: `Patient/${fhirPatientId(filed.patientId)}` },
    ...(abouts.size > 0 ? { about: [...abouts.values()] } : {}),
    sent: iso(first.sentAt),
    // One sender when the excerpt has one; a thread's several authors are named in each payload.
    ...(senders.length === 1 ? { sender: staff(senders[0]!) } : {}),
    payload: filed.messages.map((m) => ({ contentString: `${m.sender}, ${iso(m.sentAt)}: ${m.body}` })),
    note: [
      {
        authorString: filed.filedBy,
        time: iso(filed.filedAt),
        text: 'Filed to the record from a care-team conversation',
      },
    ],
  };
}

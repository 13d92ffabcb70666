// The API answers with error codes; people read sentences. One place turns each code the console
// can meet into words a clinician understands, with what to do next.
const SENTENCES: Readonly<Record<string, string>> = {
  INVALID_CREDENTIALS: 'The username or password is not right. Check them and try again.',
  ACCOUNT_LOCKED:
    'This account is locked for a while after too many failed attempts. Try again later, or ask an administrator to unlock it.',
  ACCOUNT_DISABLED: 'This account is disabled. Ask an administrator.',
  PASSWORD_TOO_WEAK:
    'That password is too easy to guess. Use at least 12 characters, not a common password, and not your username.',
  PASSWORD_CHANGE_REQUIRED: 'You need to choose a new password first.',
  CHALLENGE_INVALID: 'The sign-in took too long and has expired. Please start again.',
  MFA_CODE_INVALID:
    'That code is not right. Enter the 6 digits your authenticator app shows now (they change every 30 seconds).',
  MFA_CODE_REUSED: 'That code was already used. Wait for the next code in your authenticator app.',
  UNAUTHENTICATED: 'You are signed out. Please sign in again.',
  SESSION_EXPIRED: 'Your session has ended. Please sign in again.',
  FORBIDDEN: 'Your role does not give access to this page.',
  PHI_NOT_PERMITTED: 'Your role does not give access to patient data.',
  PHI_NETWORK_REFUSED:
    'Patient data cannot be opened from this network. Use a device on the hospital network.',
  PATIENT_NOT_ACCESSIBLE:
    'This patient is not assigned to you. If you must see this patient now, use emergency access (break-glass).',
  PATIENT_NOT_FOUND: 'There is no such patient.',
  PATIENT_ERASED: "This patient's record has been erased.",
  DEVICE_NOT_FOUND: 'There is no such device.',
  DEVICE_EXISTS: 'A device with this id already exists.',
  DEVICE_STATE_CONFLICT: 'The device is not in a state that allows this. Reload to see its current state.',
  DEVICE_NOT_ENROLLABLE: 'This device can no longer enrol: it was revoked or already enrolled.',
  USER_EXISTS: 'An account with this username already exists.',
  USER_NOT_FOUND: 'There is no such account.',
  ALERT_NOT_FOUND: 'This alert no longer exists.',
  ALERT_STATE_CONFLICT: 'Someone already acknowledged this alert, or it has cleared.',
  ALERT_SETTING_INVALID:
    'That threshold is outside what is allowed, or on the wrong side. Nothing was changed.',
  ALERT_SETTING_CONFLICT: 'That default would clash with some patients’ own thresholds. Nothing was changed.',
  SNOOZE_INVALID: 'Choose how long to snooze, from 1 minute to 24 hours.',
  ROTA_INVALID: 'That change to the rota is not possible. Check the names and times.',
  TEAM_NOT_FOUND: 'There is no such care team.',
  PUSH_SUBSCRIPTION_INVALID:
    'This browser’s push service is not one the hub is set up to use. Ask an administrator.',
  PUSH_SUBSCRIPTION_NOT_FOUND: 'That browser no longer receives your notifications.',
  NOTIFICATION_NOT_FOUND: 'This notification is not one of yours, or its alert is gone.',
  REASON_REQUIRED: 'Please give a reason.',
  VALIDATION_FAILED: 'Some of what was entered is not valid. Check the fields and try again.',
  RANGE_INVALID: 'That time range cannot be shown.',
  CSRF_REJECTED: 'The request was refused because it did not come from this console. Reload the page.',
  RATE_LIMITED: 'Too many requests in a short time. Wait a moment and try again.',
  TELEMETRY_UNAVAILABLE: 'Vital signs cannot be read right now. Try again in a minute.',
  CHECKS_UNAVAILABLE: 'The deployment checks cannot run right now.',
  NETWORK: 'The hub cannot be reached. Check the connection and try again.',
  DEVICE_SIGNED_OUT_REMOTELY:
    'This device was signed out remotely (it was marked lost). What VitalGate kept in this browser has been erased.',
  STAFF_DEVICE_NOT_FOUND: 'There is no such device among yours.',
  ADAPTIVE_ACCESS_DENIED:
    'Patient data cannot be opened from this new network or at this hour for your role. Ask an administrator.',
  GEOFENCE_POSITION_REQUIRED:
    'Patient data opens only where this device shares its location inside a hospital site. Allow location, then try again.',
  GEOFENCE_OUTSIDE_SITES: 'Patient data cannot be opened outside the hospital sites.',
  POSITION_INVALID: 'The location this device reported could not be read. Try again.',
  PASSKEY_INVALID: 'The passkey could not be checked. Try again.',
  PASSKEY_COUNTER_REGRESSED:
    'This passkey looks copied, so it was blocked. Sign in with your authenticator code and tell the security team.',
  PASSKEY_BLOCKED:
    'This passkey is blocked. Sign in with your authenticator code and register a new passkey.',
  PASSKEY_REQUIRED:
    'Your role signs in with a passkey. Register one on the Security keys & passkeys page first.',
  PASSKEY_NOT_FOUND: 'There is no such passkey among yours.',
  MFA_NOT_ENROLLED: 'This account has no authenticator app. Use a passkey.',
  CONVERSATION_NOT_MEMBER: 'You are not a member of this conversation. Ask a member to add you.',
  CONVERSATION_NOT_FOUND: 'This conversation no longer exists.',
  CONVERSATION_CLOSED: 'This conversation has expired; its messages were destroyed.',
  MESSAGE_INVALID: 'A message is 1 to 2,000 characters of text.',
  MEMBER_INVALID: 'Only active clinicians who may see this patient can be added.',
  MESSAGE_NOT_FOUND: 'This message no longer exists (recalled or expired).',
  RECALL_NOT_SENDER: 'Only the sender can recall a message.',
  CONFIRMATION_MISMATCH: 'What would be filed changed. Look at the preview again.',
  KEY_DESTROYED: "These messages can no longer be read: the patient's record was erased.",
  STEP_UP_REQUIRED:
    'Confirm it is you before this: sign in again with your authenticator code or passkey on this device.',
};

export function sentenceFor(code: string, fallback?: string): string {
  return (
    SENTENCES[code] ??
    fallback ??
    'Something went wrong. Try again, and tell the support team if it persists.'
  );
}

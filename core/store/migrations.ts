// Versioned schema of the control plane. Append new migrations; never edit an applied one.
// Version ranges keep parallel work from colliding: 1-99 foundation (core, PKI), 100-199
// broker, 200-299 ingest, 300-399 API, 400-499 checks and monitoring.

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'foundation',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        source TEXT,
        details TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_log_at ON audit_log (at);
      CREATE INDEX audit_log_action ON audit_log (action);

      CREATE TABLE data_keys (
        subject TEXT NOT NULL,
        version INTEGER NOT NULL,
        wrapped BLOB,
        created_at INTEGER NOT NULL,
        destroyed_at INTEGER,
        PRIMARY KEY (subject, version)
      );

      CREATE TABLE pki_material (
        name TEXT PRIMARY KEY,
        certificate_pem TEXT NOT NULL,
        sealed_key BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        sealed_demographics BLOB NOT NULL,
        key_version INTEGER NOT NULL,
        pseudonym TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        erased_at INTEGER
      );

      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        model TEXT,
        patient_id TEXT REFERENCES patients (id),
        status TEXT NOT NULL,
        status_reason TEXT,
        allowed_networks TEXT NOT NULL DEFAULT '[]',
        current_serial TEXT,
        firmware TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX devices_patient ON devices (patient_id);

      CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        device_id TEXT REFERENCES devices (id),
        purpose TEXT NOT NULL,
        subject TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        certificate_pem TEXT NOT NULL,
        status TEXT NOT NULL,
        superseded_at INTEGER,
        grace_until INTEGER,
        revoked_at INTEGER,
        revocation_reason TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX certificates_device ON certificates (device_id);
      CREATE INDEX certificates_status ON certificates (status);

      CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices (id),
        expires_at INTEGER NOT NULL,
        spent_at INTEGER,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX enrollment_tokens_device ON enrollment_tokens (device_id);

      CREATE TABLE users (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 1,
        sealed_totp_secret BLOB,
        totp_enrolled_at INTEGER,
        last_totp_step INTEGER,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        disabled_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE assignments (
        patient_id TEXT NOT NULL REFERENCES patients (id),
        username TEXT NOT NULL REFERENCES users (username),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, username)
      );
    `,
  },
  {
    version: 400,
    name: 'deployment check reports',
    sql: `
      CREATE TABLE check_runs (
        id INTEGER PRIMARY KEY,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        failing INTEGER NOT NULL,
        report TEXT NOT NULL
      );
      CREATE INDEX check_runs_started ON check_runs (started_at);
    `,
  },
  {
    version: 100,
    name: 'security events',
    sql: `
      CREATE TABLE security_events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        device_id TEXT,
        username TEXT,
        source TEXT,
        details TEXT
      );
      CREATE INDEX security_events_at ON security_events (at);
      CREATE INDEX security_events_kind ON security_events (kind, at);
    `,
  },
  {
    version: 200,
    name: 'ingest: dead letters, dedupe state, alerts',
    sql: `
      CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        key_subject TEXT NOT NULL,
        key_version INTEGER NOT NULL,
        sealed_payload BLOB NOT NULL
      );
      CREATE INDEX dead_letters_device ON dead_letters (device_id, received_at);

      CREATE TABLE device_seq (
        device_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
      );

      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        patient_id TEXT,
        device_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL,
        raised_at INTEGER NOT NULL,
        cleared_at INTEGER,
        acked_by TEXT,
        acked_at INTEGER
      );
      CREATE INDEX alerts_patient ON alerts (patient_id, raised_at);
      CREATE INDEX alerts_status ON alerts (status);

      CREATE TABLE alert_rule_overrides (
        patient_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        threshold REAL NOT NULL,
        PRIMARY KEY (patient_id, rule)
      );
    `,
  },
  {
    version: 401,
    name: 'device model security evaluation records',
    sql: `
      CREATE TABLE device_models (
        model TEXT PRIMARY KEY,
        evaluated_at TEXT,
        mds2_on_file INTEGER NOT NULL DEFAULT 0,
        end_of_support TEXT,
        approved_firmware TEXT,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 300,
    name: 'API: sessions, login challenges, break-glass grants',
    sql: `
      CREATE TABLE api_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users (username),
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        source TEXT,
        ended_at INTEGER,
        end_reason TEXT
      );
      CREATE INDEX api_sessions_user ON api_sessions (username, ended_at);

      CREATE TABLE login_challenges (
        id_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users (username),
        stage TEXT NOT NULL,
        sealed_pending_secret BLOB,
        attempts INTEGER NOT NULL DEFAULT 0,
        source TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        spent_at INTEGER
      );
      CREATE INDEX login_challenges_user ON login_challenges (username);

      CREATE TABLE break_glass_grants (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users (username),
        patient_id TEXT NOT NULL REFERENCES patients (id),
        reason TEXT NOT NULL,
        source TEXT,
        granted_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER
      );
      CREATE INDEX break_glass_grants_access ON break_glass_grants (username, patient_id, expires_at);
    `,
  },
  {
    version: 201,
    name: 'ingest: alert rule parameters per patient, sealed home points',
    sql: `
      CREATE TABLE alert_rule_parameters (
        patient_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        parameter TEXT NOT NULL,
        value REAL NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, rule, parameter)
      );
      INSERT INTO alert_rule_parameters (patient_id, rule, parameter, value, updated_at)
        SELECT patient_id, rule, CASE rule WHEN 'geofence_exit' THEN 'radiusM' ELSE 'threshold' END, threshold, 0
        FROM alert_rule_overrides WHERE rule <> 'blood_pressure_high';
      DROP TABLE alert_rule_overrides;

      CREATE TABLE patient_home_points (
        patient_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        key_version INTEGER NOT NULL,
        sealed_point BLOB NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 540,
    name: 'API: login throttle per username and source network',
    sql: `
      CREATE TABLE login_throttle (
        username TEXT NOT NULL,
        source TEXT NOT NULL,
        failures INTEGER NOT NULL,
        first_failure_at INTEGER NOT NULL,
        last_failure_at INTEGER NOT NULL,
        blocked_until INTEGER,
        PRIMARY KEY (username, source)
      );
      CREATE INDEX login_throttle_recent ON login_throttle (last_failure_at);
    `,
  },
  {
    version: 500,
    name: 'hub: operator requests for the running hub, rotate-cert sent per certificate',
    sql: `
      CREATE TABLE hub_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        params TEXT NOT NULL,
        actor TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        result TEXT,
        created_at INTEGER NOT NULL,
        claimed_at INTEGER,
        finished_at INTEGER
      );
      CREATE INDEX hub_requests_state ON hub_requests (state, id);

      CREATE TABLE certificate_rotations (
        serial TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        command_id TEXT NOT NULL,
        outcome TEXT,
        sent_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 520,
    name: 'retention: indexes the pruning of growing tables reads',
    sql: `
      CREATE INDEX dead_letters_received ON dead_letters (received_at);
      CREATE INDEX alerts_cleared ON alerts (cleared_at);
      CREATE INDEX api_sessions_expires ON api_sessions (expires_at);
      CREATE INDEX api_sessions_ended ON api_sessions (ended_at);
      CREATE INDEX login_challenges_expires ON login_challenges (expires_at);
    `,
  },
  {
    version: 530,
    name: 'ingest: replay windows per enrollment (a renewal keeps its enrollment, a new one restarts seq)',
    sql: `
      ALTER TABLE certificates ADD COLUMN enrollment_serial TEXT;

      CREATE TABLE seq_windows (
        device_id TEXT NOT NULL,
        enrollment TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (device_id, enrollment)
      );
      -- Until now a device had one window; it belongs to the enrollment of its current certificate.
      INSERT INTO seq_windows (device_id, enrollment, last_seq)
        SELECT s.device_id, COALESCE(d.current_serial, ''), s.last_seq
        FROM device_seq s LEFT JOIN devices d ON d.id = s.device_id;
      DROP TABLE device_seq;
    `,
  },
  {
    version: 550,
    name: 'console: acknowledgement notes, sealed under the patient key',
    sql: `
      CREATE TABLE alert_notes (
        alert_id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        key_version INTEGER NOT NULL,
        sealed BLOB NOT NULL
      );
    `,
  },
  {
    version: 590,
    name: 'PKI: the issuing CA that signed each certificate (issuing CA rotation)',
    sql: `
      -- Serial of the issuing CA certificate; NULL for certificates made before the first
      -- rotation, which tags them with the issuer of that time.
      ALTER TABLE certificates ADD COLUMN issuer_serial TEXT;
      CREATE INDEX certificates_issuer ON certificates (issuer_serial, status);
    `,
  },
  {
    version: 600,
    name: 'FHIR: SMART Backend Services clients, assertion ids seen, access tokens',
    sql: `
      -- A system client: its public keys (a JWKS), the scopes it may be granted, and whether its
      -- Patients carry demographics.
      CREATE TABLE fhir_clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        jwks TEXT NOT NULL,
        scopes TEXT NOT NULL,
        demographics INTEGER NOT NULL DEFAULT 0,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER
      );
      -- Assertion ids (jti) until their assertion expires: a replayed assertion is refused.
      CREATE TABLE fhir_assertion_jtis (
        client_id TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (client_id, jti)
      );
      -- Access tokens by SHA-256; the token itself is never stored.
      CREATE TABLE fhir_access_tokens (
        token_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX fhir_access_tokens_expiry ON fhir_access_tokens (expires_at);
    `,
  },
  {
    version: 610,
    name: 'care: program-wide alert rule parameters, set by an admin',
    sql: `
      -- A program default replaces a rule's built-in parameter for every patient without an
      -- override of their own (alert_rule_parameters).
      CREATE TABLE alert_rule_defaults (
        rule TEXT NOT NULL,
        parameter TEXT NOT NULL,
        value REAL NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (rule, parameter)
      );
    `,
  },
  {
    version: 611,
    name: 'care: alert lifecycle (snooze, resolve by a clinician, the history of each alert)',
    sql: `
      ALTER TABLE alerts ADD COLUMN snoozed_until INTEGER;
      -- Who resolved the alert; NULL when the rules cleared it (the readings recovered).
      ALTER TABLE alerts ADD COLUMN cleared_by TEXT;
      -- Each transition of an alert after it was raised. A reason is clinical free text, so it
      -- is sealed under the patient's key like the acknowledgement note.
      CREATE TABLE alert_events (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT,
        until INTEGER,
        key_version INTEGER,
        sealed_reason BLOB
      );
      CREATE INDEX alert_events_alert ON alert_events (alert_id, id);
      CREATE INDEX alerts_snoozed ON alerts (snoozed_until) WHERE snoozed_until IS NOT NULL;
    `,
  },
  {
    version: 612,
    name: 'care: care teams, on-call rota, escalation ladders and their pending steps',
    sql: `
      CREATE TABLE care_teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        time_zone TEXT NOT NULL
      );
      CREATE TABLE care_team_members (
        team_id TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('clinician', 'lead')),
        PRIMARY KEY (team_id, username)
      );
      -- A patient is looked after by one team.
      CREATE TABLE care_team_patients (
        patient_id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL
      );
      CREATE TABLE rota_shifts (
        id INTEGER PRIMARY KEY,
        team_id TEXT NOT NULL,
        username TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX rota_shifts_team ON rota_shifts (team_id, ends_at);
      CREATE TABLE escalation_ladders (
        severity TEXT NOT NULL,
        step INTEGER NOT NULL,
        after_s INTEGER NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (severity, step)
      );
      -- One row per step of an alert's ladder: stored when the alert is raised, fired once.
      CREATE TABLE escalation_steps (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL,
        step INTEGER NOT NULL,
        target TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        done_at INTEGER,
        recipients TEXT,
        UNIQUE (alert_id, step)
      );
      CREATE INDEX escalation_steps_due ON escalation_steps (state, due_at);
    `,
  },
  {
    version: 630,
    name: 'auth: staff devices (each signed-in browser or app) and the device of each API session',
    sql: `
      -- A browser or app a staff member signed in from, known by a long-lived random cookie
      -- (stored only as its SHA-256). lost_at: marked lost (its sessions ended); wiped_at: the
      -- device was told to clear its site data (Clear-Site-Data) on its next request.
      CREATE TABLE staff_devices (
        id TEXT PRIMARY KEY,
        cookie_hash TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL,
        name TEXT NOT NULL,
        user_agent_name TEXT NOT NULL,
        first_seen_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        last_address TEXT,
        lost_at INTEGER,
        lost_by TEXT,
        lost_reason TEXT,
        wiped_at INTEGER
      );
      CREATE INDEX staff_devices_user ON staff_devices (username);
      ALTER TABLE api_sessions ADD COLUMN staff_device_id TEXT;
      CREATE INDEX api_sessions_staff_device ON api_sessions (staff_device_id) WHERE ended_at IS NULL;
      -- Adaptive access reads a user's PHI reads of the last days (networks, hours of day).
      CREATE INDEX audit_log_actor_action ON audit_log (actor, action, at);
    `,
  },
  {
    version: 650,
    name: 'FHIR push: the outbox of resources for the EHR, and how far each patient was collected',
    sql: `
      -- One resource to send to a destination. The resource is sealed under its patient's data
      -- key (erasing the patient destroys it); the identifier is the hub's own, so a conditional
      -- create never stores it twice. A sent item keeps only its identifier (so it is not queued
      -- again) for a week; refused ones are set aside (dead) with the destination's
      -- OperationOutcome, sealed too.
      CREATE TABLE fhir_push_items (
        id INTEGER PRIMARY KEY,
        destination TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        identifier TEXT NOT NULL,
        key_version INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'dead', 'sent')),
        attempts INTEGER NOT NULL DEFAULT 0,
        alone INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_error TEXT,
        outcome_key_version INTEGER,
        outcome_sealed BLOB,
        dead_at INTEGER,
        sent_at INTEGER,
        UNIQUE (destination, identifier)
      );
      CREATE INDEX fhir_push_items_queue ON fhir_push_items (destination, state, patient_id, id);
      CREATE INDEX fhir_push_items_sent ON fhir_push_items (sent_at) WHERE state = 'sent';
      -- Up to which instant each patient's export was put in the outbox, per destination.
      CREATE TABLE fhir_push_cursors (
        destination TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        collected_to INTEGER NOT NULL,
        PRIMARY KEY (destination, patient_id)
      );
    `,
  },
  {
    version: 620,
    name: 'auth: passkeys (WebAuthn), their single-use challenges, and step-up time of a session',
    sql: `
      -- When the session last gave a fresh second factor (TOTP or a passkey with user
      -- verification); sensitive actions need it within stepUpMaxAgeSeconds.
      ALTER TABLE api_sessions ADD COLUMN stepped_up_at INTEGER;
      -- A user's registered WebAuthn credentials. The public key is COSE; the counter is the
      -- authenticator's signature counter (0 when it keeps none). flagged_at: a counter went
      -- backwards (a cloned authenticator); the passkey is refused from then on.
      CREATE TABLE passkeys (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        credential_id TEXT NOT NULL UNIQUE,
        public_key BLOB NOT NULL,
        sign_count INTEGER NOT NULL,
        transports TEXT NOT NULL,
        device_type TEXT NOT NULL,
        backed_up INTEGER NOT NULL,
        aaguid TEXT NOT NULL,
        name TEXT NOT NULL,
        staff_device_id TEXT,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        flagged_at INTEGER,
        revoked_at INTEGER,
        revoke_reason TEXT
      );
      CREATE INDEX passkeys_user ON passkeys (username) WHERE revoked_at IS NULL;
      CREATE INDEX passkeys_staff_device ON passkeys (staff_device_id) WHERE revoked_at IS NULL;
      -- Ceremony challenges: random, short-lived, spent once (by SHA-256 of the challenge).
      CREATE TABLE webauthn_challenges (
        challenge_hash TEXT PRIMARY KEY,
        purpose TEXT NOT NULL,
        username TEXT,
        session_hash TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        spent_at INTEGER
      );
      CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);
    `,
  },
  {
    version: 640,
    name: 'messaging: conversations, members, sealed messages, receipts, items filed to the chart',
    sql: `
      -- A conversation about one patient (at most one per patient) or a direct one between staff.
      -- lifespan_s: a lifespan an admin set, shorter than the hub default (NULL: the default).
      -- closed_at: a direct conversation whose key was destroyed (nothing in it can be read again).
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('patient', 'direct')),
        patient_id TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        lifespan_s INTEGER,
        last_message_at INTEGER,
        closed_at INTEGER
      );
      CREATE UNIQUE INDEX conversations_patient ON conversations (patient_id) WHERE patient_id IS NOT NULL;
      -- Members added by name; a patient conversation also has the patient's assigned clinicians.
      CREATE TABLE conversation_members (
        conversation_id TEXT NOT NULL,
        username TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, username)
      );
      CREATE INDEX conversation_members_user ON conversation_members (username);
      -- A message: its own key sealed under the conversation's subject key (the patient's, or
      -- the direct conversation's), and its content (body, reference) sealed under that key.
      -- No text in clear.
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        priority TEXT NOT NULL CHECK (priority IN ('normal', 'urgent')),
        sent_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        key_version INTEGER NOT NULL,
        sealed_key BLOB NOT NULL,
        sealed_content BLOB NOT NULL,
        escalated_at INTEGER
      );
      CREATE INDEX messages_conversation ON messages (conversation_id, id);
      CREATE INDEX messages_expiry ON messages (expires_at);
      CREATE INDEX messages_urgent_open ON messages (sent_at)
        WHERE priority = 'urgent' AND escalated_at IS NULL;
      CREATE TABLE message_receipts (
        message_id INTEGER NOT NULL,
        username TEXT NOT NULL,
        delivered_at INTEGER,
        read_at INTEGER,
        PRIMARY KEY (message_id, username)
      );
      -- What a clinician filed to the patient's record (a FHIR Communication), sealed under the
      -- patient's key; kept with the record, not with the messages' lifespan.
      CREATE TABLE filed_communications (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        filed_by TEXT NOT NULL,
        filed_at INTEGER NOT NULL,
        key_version INTEGER NOT NULL,
        sealed_content BLOB NOT NULL
      );
      CREATE INDEX filed_communications_patient ON filed_communications (patient_id, filed_at);
    `,
  },
  {
    version: 660,
    name: 'care: Web Push (VAPID keys, staff browser subscriptions, each notification and its delivery)',
    sql: `
      -- The hub's VAPID key pairs (RFC 8292); the newest is in use. The private key is sealed
      -- under the master key (Keyring.sealSecret, purpose vapid:<public key>).
      CREATE TABLE vapid_keys (
        id INTEGER PRIMARY KEY,
        public_key TEXT NOT NULL,
        sealed_private_key BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- A browser a staff member allowed to receive notifications (one row per push endpoint).
      CREATE TABLE push_subscriptions (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        endpoint TEXT NOT NULL UNIQUE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        label TEXT NOT NULL,
        vapid_key_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_success_at INTEGER
      );
      CREATE INDEX push_subscriptions_user ON push_subscriptions (username);
      -- One notification to one browser. token is the opaque link the payload carries.
      CREATE TABLE push_deliveries (
        id INTEGER PRIMARY KEY,
        token TEXT NOT NULL UNIQUE,
        subscription_id INTEGER NOT NULL,
        username TEXT NOT NULL,
        alert_id INTEGER NOT NULL,
        severity TEXT NOT NULL,
        reason TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        done_at INTEGER
      );
      CREATE INDEX push_deliveries_due ON push_deliveries (state, next_attempt_at);
      CREATE INDEX push_deliveries_alert ON push_deliveries (alert_id);
    `,
  },
  {
    version: 670,
    name: 'gateways: which gateway relays each Bluetooth device, the identity it pinned, its clock drift',
    sql: `
      -- One row per bound device; a new binding (another gateway) is a new row id, which names the
      -- device's replay window (AUTOINCREMENT: never reused). system_id/serial are the measuring device's identity as the
      -- operator gave it or as its first accepted reading pinned it.
      CREATE TABLE gateway_bindings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL UNIQUE REFERENCES devices (id),
        gateway_id TEXT NOT NULL REFERENCES devices (id),
        system_id TEXT,
        serial TEXT,
        bound_at INTEGER NOT NULL,
        bound_by TEXT NOT NULL,
        clock_drift_ms INTEGER,
        drift_at INTEGER
      );
      CREATE INDEX gateway_bindings_gateway ON gateway_bindings (gateway_id);
    `,
  },
  {
    version: 680,
    name: 'RPM programme: enrolments, billing practitioners, time entries, sealed monthly statements',
    sql: `
      -- Dates are the site's calendar dates (YYYY-MM-DD), months YYYY-MM (VITALGATE_RPM_TIME_ZONE).
      CREATE TABLE rpm_enrolments (
        patient_id TEXT PRIMARY KEY,
        monitoring_start TEXT NOT NULL,
        ended_on TEXT,
        consent_at INTEGER,
        consent_by TEXT,
        consent_method TEXT,
        setup_date TEXT,
        enrolled_by TEXT NOT NULL,
        enrolled_at INTEGER NOT NULL
      );
      -- The one billing practitioner of a patient from a month on (until the next row).
      CREATE TABLE rpm_billing_practitioners (
        patient_id TEXT NOT NULL,
        from_month TEXT NOT NULL,
        practitioner TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, from_month)
      );
      -- Clinical staff time; counted only once confirmed. The note is sealed under the patient key.
      CREATE TABLE rpm_time_entries (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL,
        clinician TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        minutes INTEGER NOT NULL,
        activity TEXT NOT NULL,
        interactive INTEGER NOT NULL,
        origin TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('proposed', 'confirmed', 'discarded')),
        created_at INTEGER NOT NULL,
        decided_at INTEGER,
        key_version INTEGER,
        sealed_note BLOB
      );
      CREATE INDEX rpm_time_entries_patient ON rpm_time_entries (patient_id, started_at);
      -- A closed month's statement per patient; its SHA-256 is sealed in the audit chain.
      CREATE TABLE rpm_statements (
        patient_id TEXT NOT NULL,
        month TEXT NOT NULL,
        content TEXT NOT NULL,
        hash TEXT NOT NULL,
        closed_at INTEGER NOT NULL,
        closed_by TEXT NOT NULL,
        PRIMARY KEY (patient_id, month)
      );
      CREATE TABLE rpm_month_closes (
        month TEXT PRIMARY KEY,
        closed_at INTEGER NOT NULL,
        closed_by TEXT NOT NULL,
        statements INTEGER NOT NULL
      );
    `,
  },
  {
    version: 661,
    name: 'care: when each device was last heard (the device watch writes it; VG-CARE-004 reads it)',
    sql: `
      CREATE TABLE device_last_readings (
        device_id TEXT PRIMARY KEY,
        at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 681,
    name: 'RPM programme: clinical reports filed to the chart (PDF sealed under the patient key)',
    sql: `
      CREATE TABLE rpm_filed_reports (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL,
        days INTEGER NOT NULL,
        period_from INTEGER NOT NULL,
        period_to INTEGER NOT NULL,
        filed_by TEXT NOT NULL,
        filed_at INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        key_version INTEGER NOT NULL,
        sealed_pdf BLOB NOT NULL
      );
      CREATE INDEX rpm_filed_reports_patient ON rpm_filed_reports (patient_id, filed_at);
    `,
  },
];

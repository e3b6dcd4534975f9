-- Foundation tables. Portable types only: TEXT ids (uuid v7, so text order is time order),
-- TIMESTAMP in UTC, BIGINT money in fen, CHECK constraints instead of enums.
CREATE TABLE merchants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('merchant_staff', 'agent', 'admin')),
    merchant_id TEXT REFERENCES merchants (id),
    display_name TEXT NOT NULL,
    locale TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    email_verified_at TIMESTAMP,
    password_changed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((role = 'merchant_staff') = (merchant_id IS NOT NULL))
);
CREATE INDEX accounts_merchant_idx ON accounts (merchant_id);

CREATE TABLE agents (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL CHECK (status IN ('applicant', 'exam_passed', 'in_trial', 'certified', 'suspended', 'left')),
    status_changed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX agents_status_idx ON agents (status);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);

CREATE TABLE email_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX email_tokens_account_idx ON email_tokens (account_id, purpose);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL CHECK (failures >= 0),
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    actor_account_id TEXT REFERENCES accounts (id),
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    details TEXT NOT NULL,
    request_id TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE lifecycle_events (
    id TEXT PRIMARY KEY NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('agent', 'booking', 'shift')),
    entity_id TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor_account_id TEXT REFERENCES accounts (id),
    reason TEXT,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX lifecycle_events_entity_idx ON lifecycle_events (entity_type, entity_id, occurred_at);

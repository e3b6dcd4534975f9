-- The merchant integration layer: the public widget key, secret API keys for shops that bring
-- their own front end, and signed webhooks delivered through an outbox of their own.

-- One public key per shop for the chat widget; rotating it replaces the key, so the old one
-- stops working at once.
CREATE TABLE merchant_widget_keys (
    merchant_id TEXT PRIMARY KEY NOT NULL REFERENCES merchants (id),
    widget_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP
);

-- Secret keys (`sk_...`): only their SHA-256 digest is stored; `hint` is the key's last four
-- characters, so people can tell keys apart.
CREATE TABLE merchant_api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    label TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX merchant_api_keys_merchant_idx ON merchant_api_keys (merchant_id, id);

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    url TEXT NOT NULL,
    -- The signing secret (`whsec_...`); kept readable because every delivery is signed with it.
    secret TEXT NOT NULL,
    -- JSON list of subscribed event names.
    events TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id, id);

-- One row per event per endpoint, written in the transaction of the change that causes it.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    event TEXT NOT NULL,
    -- The event's `data` as JSON.
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);

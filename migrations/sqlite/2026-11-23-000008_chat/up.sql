-- Live chat: customers with their identities (One-ID), chats and their messages, the
-- router's offers, and agents' presence. Routing state lives here, not in process memory,
-- so any instance can serve any queue; the sockets' in-memory maps are only a cache.

-- One customer of one merchant, behind any number of identities. A merge points the
-- younger customer at the older one (merged_into) and moves its identities and chats.
CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    display_name TEXT,
    -- The merchant's notes on this customer (orders, preferences), passed through the API.
    notes TEXT NOT NULL DEFAULT '',
    merged_into TEXT REFERENCES customers (id),
    -- Who served the customer last and when: sticky routing.
    last_agent_id TEXT REFERENCES accounts (id),
    last_served_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX customers_merchant_idx ON customers (merchant_id, created_at);

CREATE TABLE customer_identities (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    kind TEXT NOT NULL CHECK (kind IN ('phone', 'account_id', 'device_id', 'channel_handle')),
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, kind, value)
);
CREATE INDEX customer_identities_customer_idx ON customer_identities (customer_id);

CREATE TABLE chats (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    skill TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('widget', 'api')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'offered', 'assigned', 'closed', 'abandoned', 'left_message')),
    -- The agent offered or holding the chat.
    agent_id TEXT REFERENCES accounts (id),
    -- Queue order: chats taken back from an agent (priority 1) go before new ones (0),
    -- then oldest first.
    priority INTEGER NOT NULL DEFAULT 0 CHECK (priority IN (0, 1)),
    queued_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    first_offered_at TIMESTAMP,
    accepted_at TIMESTAMP,
    first_response_at TIMESTAMP,
    closed_at TIMESTAMP,
    closed_by TEXT CHECK (closed_by IN ('agent', 'customer', 'merchant', 'system')),
    close_reason TEXT,
    -- The number of the last message; messages are numbered 1, 2, ... per chat.
    last_seq INTEGER NOT NULL DEFAULT 0,
    customer_messages INTEGER NOT NULL DEFAULT 0,
    agent_messages INTEGER NOT NULL DEFAULT 0,
    transfers INTEGER NOT NULL DEFAULT 0,
    -- Times the chat was taken back from an agent (no first reply, agent gone).
    takebacks INTEGER NOT NULL DEFAULT 0,
    -- Read state: the last message number each side has seen.
    customer_read_seq INTEGER NOT NULL DEFAULT 0,
    agent_read_seq INTEGER NOT NULL DEFAULT 0,
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment TEXT,
    rated_at TIMESTAMP,
    -- The customer's reconnect secret (SHA-256); the widget keeps the secret itself.
    customer_token_hash TEXT NOT NULL,
    customer_name TEXT,
    last_customer_at TIMESTAMP NOT NULL,
    idle_warned_at TIMESTAMP,
    -- A note for the next agent (transfer, take-back).
    handover_note TEXT,
    CHECK ((status IN ('offered', 'assigned')) = (agent_id IS NOT NULL) OR status IN ('closed', 'abandoned', 'left_message'))
);
CREATE UNIQUE INDEX chats_customer_token_idx ON chats (customer_token_hash);
CREATE INDEX chats_queue_idx ON chats (merchant_id, skill, status, priority, queued_at);
CREATE INDEX chats_agent_idx ON chats (agent_id, status);
CREATE INDEX chats_customer_idx ON chats (customer_id, created_at);
CREATE INDEX chats_merchant_idx ON chats (merchant_id, created_at);

CREATE TABLE chat_messages (
    chat_id TEXT NOT NULL REFERENCES chats (id),
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL CHECK (sender IN ('customer', 'agent', 'system')),
    author_id TEXT REFERENCES accounts (id),
    body TEXT NOT NULL,
    -- The sending client's id for the message: a resend after a reconnect is recognised
    -- and not stored twice.
    client_id TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
CREATE UNIQUE INDEX chat_messages_client_idx ON chat_messages (chat_id, sender, client_id);

CREATE TABLE chat_offers (
    id TEXT PRIMARY KEY NOT NULL,
    chat_id TEXT NOT NULL REFERENCES chats (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    offered_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Seconds since the agent's previous assignment (or since they became available) when
    -- offered: the fairness record.
    idle_secs INTEGER NOT NULL,
    outcome TEXT CHECK (outcome IN ('accepted', 'auto_accepted', 'declined', 'timed_out', 'withdrawn')),
    decided_at TIMESTAMP,
    CHECK ((outcome IS NULL) = (decided_at IS NULL))
);
-- At most one open offer per chat.
CREATE UNIQUE INDEX chat_offers_open_idx ON chat_offers (chat_id) WHERE outcome IS NULL;
CREATE INDEX chat_offers_agent_idx ON chat_offers (agent_id, offered_at);
CREATE INDEX chat_offers_expiry_idx ON chat_offers (expires_at) WHERE outcome IS NULL;

-- What happened to a chat, in order: the transfer history, take-backs and the metrics.
CREATE TABLE chat_events (
    id TEXT PRIMARY KEY NOT NULL,
    chat_id TEXT NOT NULL REFERENCES chats (id),
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('queued', 'offered', 'accepted', 'auto_accepted', 'declined', 'timed_out', 'taken_back', 'transferred', 'closed', 'rated', 'left_message', 'idle_warning')),
    agent_id TEXT REFERENCES accounts (id),
    note TEXT
);
CREATE INDEX chat_events_chat_idx ON chat_events (chat_id, at);
CREATE INDEX chat_events_agent_idx ON chat_events (agent_id, at);

-- Each agent's presence as the router sees it. `connections` counts open agent sockets
-- over all instances; `last_seen_at` is refreshed by them, so an instance that died is
-- noticed.
CREATE TABLE agent_presence (
    agent_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL CHECK (status IN ('online', 'away', 'offline')),
    status_since TIMESTAMP NOT NULL,
    -- When the agent last came online or returned from a break (fair idle time).
    available_since TIMESTAMP NOT NULL,
    last_assigned_at TIMESTAMP,
    connections INTEGER NOT NULL DEFAULT 0 CHECK (connections >= 0),
    last_seen_at TIMESTAMP NOT NULL,
    -- When the last socket closed; chats are taken back after the grace period.
    disconnected_at TIMESTAMP
);

-- Every presence change, append-only: available minutes and the activity timeline.
CREATE TABLE presence_events (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL CHECK (status IN ('online', 'away', 'offline')),
    at TIMESTAMP NOT NULL
);
CREATE INDEX presence_events_agent_idx ON presence_events (agent_id, at);

ALTER TABLE agents ADD COLUMN chat_auto_accept BOOLEAN NOT NULL DEFAULT FALSE;

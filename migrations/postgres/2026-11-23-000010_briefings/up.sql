-- The merchant's briefing for the agents on its seats (products, shipping, returns, other:
-- plain text, never HTML) and its quick replies. The briefing row is the current text; every
-- save also writes a revision, so the shop can see who changed what when.

-- `version` counts saves; a save names the version it edited and loses (409) if another
-- save came first, so two staff editing at once never silently overwrite each other.
CREATE TABLE briefings (
    merchant_id TEXT PRIMARY KEY NOT NULL REFERENCES merchants (id),
    products TEXT NOT NULL,
    shipping TEXT NOT NULL,
    returns TEXT NOT NULL,
    other TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    updated_by TEXT NOT NULL REFERENCES accounts (id),
    updated_at TIMESTAMP NOT NULL
);

-- Append-only. `changed` is a JSON list of the sections this save changed.
CREATE TABLE briefing_revisions (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    products TEXT NOT NULL,
    shipping TEXT NOT NULL,
    returns TEXT NOT NULL,
    other TEXT NOT NULL,
    changed TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (merchant_id, version)
);
CREATE INDEX briefing_revisions_merchant_idx ON briefing_revisions (merchant_id, id);

-- Canned answers agents insert while chatting. `skill` (a skill id of the seat rules) shows
-- a reply only on seats of that skill; NULL shows it everywhere.
CREATE TABLE quick_replies (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    shortcut TEXT,
    skill TEXT,
    position INTEGER NOT NULL CHECK (position >= 0),
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL REFERENCES accounts (id),
    updated_at TIMESTAMP NOT NULL
);
-- A shortcut is unique within its shop (several replies may have none).
CREATE UNIQUE INDEX quick_replies_shortcut_idx ON quick_replies (merchant_id, shortcut);
CREATE INDEX quick_replies_position_idx ON quick_replies (merchant_id, position, id);

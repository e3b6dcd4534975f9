-- Quality: scorecard reviews of closed chats, their disputes, and the library of model chats.

-- One reviewer's scorecard review of a closed chat. `agent_id`, `merchant_id` and
-- `chat_closed_at` are copied from the chat at review time so a period's reviews are read
-- without the chats. `scores` is a JSON list of {criterion, score, max, weight_bp, comment};
-- `total_x100` the weighted score in hundredths of a point (0-10000).
CREATE TABLE chat_reviews (
    id TEXT PRIMARY KEY NOT NULL,
    chat_id TEXT NOT NULL REFERENCES chats (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    reviewer_id TEXT NOT NULL REFERENCES accounts (id),
    reviewer_role TEXT NOT NULL CHECK (reviewer_role IN ('admin', 'merchant')),
    track TEXT NOT NULL,
    scores TEXT NOT NULL,
    total_x100 INTEGER NOT NULL CHECK (total_x100 BETWEEN 0 AND 10000),
    exemplary BOOLEAN NOT NULL,
    ruleset_version TEXT NOT NULL,
    chat_closed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (chat_id, reviewer_id)
);
CREATE INDEX chat_reviews_period_idx ON chat_reviews (chat_closed_at, agent_id);
CREATE INDEX chat_reviews_agent_idx ON chat_reviews (agent_id, created_at);

-- An agent's dispute of a review, at most one per review. Accepted disputes carry the
-- amended score that replaces the review's total in the quality score.
CREATE TABLE review_disputes (
    id TEXT PRIMARY KEY NOT NULL,
    review_id TEXT NOT NULL UNIQUE REFERENCES chat_reviews (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected')),
    answer TEXT,
    amended_x100 INTEGER CHECK (amended_x100 BETWEEN 0 AND 10000),
    resolved_by TEXT REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    CHECK ((status = 'accepted') = (amended_x100 IS NOT NULL)),
    CHECK ((status = 'open') = (resolved_at IS NULL))
);
CREATE INDEX review_disputes_queue_idx ON review_disputes (status, created_at);

-- Exemplary chats agents may read: the transcript as it was when flagged, customer details
-- masked (names, phone numbers, emails, order-like numbers). `transcript` is a JSON list of
-- {sender, body, at}.
CREATE TABLE model_chats (
    id TEXT PRIMARY KEY NOT NULL,
    chat_id TEXT NOT NULL UNIQUE REFERENCES chats (id),
    review_id TEXT NOT NULL REFERENCES chat_reviews (id),
    skill TEXT NOT NULL,
    transcript TEXT NOT NULL,
    added_by TEXT NOT NULL REFERENCES accounts (id),
    added_at TIMESTAMP NOT NULL
);
CREATE INDEX model_chats_skill_idx ON model_chats (skill, added_at);

-- A period's quality facts read every closed chat of the period by agent.
CREATE INDEX chats_closed_idx ON chats (closed_at, agent_id);

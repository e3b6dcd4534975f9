-- At-risk agents: the follow-up contacts admins record with an agent who shows warning
-- signs (issue 8), newest per agent shown on the at-risk list. Append-only: a correction
-- is a new contact.
CREATE TABLE agent_follow_ups (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    admin_id TEXT NOT NULL REFERENCES accounts (id),
    contacted_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'chat', 'sms', 'in_person', 'other')),
    note TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('no_answer', 'staying', 'needs_support', 'may_leave', 'leaving')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX agent_follow_ups_agent_idx ON agent_follow_ups (agent_id, contacted_at);

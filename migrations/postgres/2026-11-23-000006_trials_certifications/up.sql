-- Certification, second half: reviewers' marks on written exam answers, the trial rules of
-- each track, supervised trial slots and the trials agents book in them (practice chats and
-- the reviewer's scorecard), and the certifications a passed trial grants per skill.
ALTER TABLE exam_attempts ADD COLUMN scenario_points INTEGER;
-- JSON: the reviewer's points and comment per written answer.
ALTER TABLE exam_attempts ADD COLUMN review TEXT;
ALTER TABLE exam_attempts ADD COLUMN reviewed_by TEXT REFERENCES accounts (id);
ALTER TABLE exam_attempts ADD COLUMN reviewed_at TIMESTAMP;
CREATE INDEX exam_attempts_queue_idx ON exam_attempts (status, submitted_at);

-- JSON: scorecard criteria and weights, pass mark and practice chats; '{}' means defaults.
ALTER TABLE exam_tracks ADD COLUMN trial TEXT NOT NULL DEFAULT '{}';

CREATE TABLE trial_slots (
    id TEXT PRIMARY KEY NOT NULL,
    skill TEXT NOT NULL REFERENCES exam_tracks (skill),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 50),
    booked INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (booked BETWEEN 0 AND capacity)
);
CREATE INDEX trial_slots_skill_idx ON trial_slots (skill, starts_at);

CREATE TABLE trials (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    slot_id TEXT NOT NULL REFERENCES trial_slots (id),
    skill TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('booked', 'awaiting_review', 'passed', 'failed', 'missed', 'cancelled')),
    -- JSON: the practice chats played and the agent's replies with their response times.
    chats TEXT NOT NULL DEFAULT '[]',
    -- JSON: the reviewer's score and comment per scorecard criterion.
    scores TEXT,
    percent INTEGER,
    feedback TEXT,
    reviewed_by TEXT REFERENCES accounts (id),
    booked_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    reviewed_at TIMESTAMP
);
CREATE INDEX trials_agent_idx ON trials (agent_id, booked_at);
CREATE INDEX trials_queue_idx ON trials (status, submitted_at);
-- One open trial per agent at a time.
CREATE UNIQUE INDEX trials_one_open_idx ON trials (agent_id) WHERE status IN ('booked', 'awaiting_review');

CREATE TABLE certifications (
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    skill TEXT NOT NULL,
    certified_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    trial_id TEXT REFERENCES trials (id),
    PRIMARY KEY (agent_id, skill)
);
CREATE INDEX certifications_expiry_idx ON certifications (expires_at);

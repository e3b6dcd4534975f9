-- One agent's attempt at a track's exam: the questions drawn (ids and shown option order),
-- the answers saved so far, the server-side deadline and the result.
CREATE TABLE exam_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    skill TEXT NOT NULL REFERENCES exam_tracks (skill),
    items TEXT NOT NULL,
    answers TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_progress', 'awaiting_review', 'passed', 'failed')),
    pass_percent INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    deadline TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    choice_points INTEGER,
    choice_max INTEGER,
    scenario_max INTEGER,
    percent INTEGER
);
CREATE INDEX exam_attempts_agent_idx ON exam_attempts (agent_id, skill, started_at);

-- Exam tracks (one per skill) and their question banks. A question is kept whole as JSON
-- (its options, answers and rubric), with topic and kind beside it for counting.
CREATE TABLE exam_tracks (
    skill TEXT PRIMARY KEY NOT NULL,
    exam_size INTEGER NOT NULL CHECK (exam_size BETWEEN 1 AND 200),
    pass_percent INTEGER NOT NULL CHECK (pass_percent BETWEEN 1 AND 100),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 480),
    cooldown_hours INTEGER NOT NULL CHECK (cooldown_hours BETWEEN 0 AND 2160),
    max_attempts_per_30_days INTEGER NOT NULL CHECK (max_attempts_per_30_days BETWEEN 0 AND 100),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE exam_questions (
    id TEXT PRIMARY KEY NOT NULL,
    skill TEXT NOT NULL REFERENCES exam_tracks (skill),
    topic TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('single', 'multiple', 'scenario')),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX exam_questions_skill_idx ON exam_questions (skill, id);

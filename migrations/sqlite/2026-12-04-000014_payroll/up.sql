-- Payroll runs (issue 7): what each agent is paid for a period, line by line, and the
-- disputes and corrections around it.

-- The chat's kind for the piece rate (one of pay.toml's chat kinds, checked in code so a
-- new kind needs no migration); NULL counts as a standard chat.
ALTER TABLE chats ADD COLUMN kind TEXT;
-- How many other chats the agent held when this one became theirs (0: it was their only
-- one); a chat taken while holding others pays the extra concurrent rate.
ALTER TABLE chats ADD COLUMN concurrent_at_accept INTEGER NOT NULL DEFAULT 0 CHECK (concurrent_at_accept >= 0);
-- (The run's aggregation reads closed chats by closing time: chats_closed_idx, migration 13.)

-- One run per period (local dates `period_from`..=`period_to` in the market's zone,
-- `starts_at`..`ends_at` the same period as UTC instants). computing -> draft ->
-- published -> approved -> paid, or failed (nothing of it written). Overlapping
-- non-failed runs are refused in code, inside one locking transaction.
CREATE TABLE payroll_runs (
    id TEXT PRIMARY KEY NOT NULL,
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('computing', 'draft', 'published', 'approved', 'paid', 'failed')),
    ruleset_version TEXT NOT NULL,
    total_fen BIGINT NOT NULL DEFAULT 0,
    agent_count INTEGER NOT NULL DEFAULT 0,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    -- JSON: totals per skill and per shop (what the platform pays, what shops paid).
    summary TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    computed_at TIMESTAMP,
    published_by TEXT REFERENCES accounts (id),
    published_at TIMESTAMP,
    dispute_until TIMESTAMP,
    approved_by TEXT REFERENCES accounts (id),
    approved_at TIMESTAMP,
    paid_by TEXT REFERENCES accounts (id),
    paid_at TIMESTAMP,
    payout_reference TEXT,
    error TEXT,
    CHECK (period_from <= period_to)
);
CREATE INDEX payroll_runs_period_idx ON payroll_runs (period_from, period_to);

-- One explained amount: units x rate x multiplier (see src/payroll/pay.rs), with the
-- counts it came from (JSON).
CREATE TABLE pay_lines (
    id TEXT PRIMARY KEY NOT NULL,
    run_id TEXT NOT NULL REFERENCES payroll_runs (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('time', 'piece', 'concurrency', 'peak_bonus', 'urgent_bonus', 'level', 'no_show', 'adjustment')),
    skill TEXT,
    chat_kind TEXT,
    units BIGINT NOT NULL,
    rate_millifen BIGINT NOT NULL,
    multiplier_bp INTEGER NOT NULL,
    amount_fen BIGINT NOT NULL,
    note TEXT,
    sources TEXT NOT NULL DEFAULT '{}',
    UNIQUE (run_id, agent_id, position)
);

-- An agent's payslip for a run: the total of their lines and what it was computed from.
CREATE TABLE payslips (
    run_id TEXT NOT NULL REFERENCES payroll_runs (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    total_fen BIGINT NOT NULL,
    quality_score_x100 INTEGER CHECK (quality_score_x100 BETWEEN 0 AND 10000),
    quality_multiplier_bp INTEGER NOT NULL,
    level INTEGER NOT NULL,
    level_multiplier_bp INTEGER NOT NULL,
    minutes BIGINT NOT NULL,
    chats BIGINT NOT NULL,
    mailed_at TIMESTAMP,
    PRIMARY KEY (run_id, agent_id)
);
CREATE INDEX payslips_agent_idx ON payslips (agent_id, run_id);

-- An agent's objection to one line of a published run; each line at most once.
CREATE TABLE pay_disputes (
    id TEXT PRIMARY KEY NOT NULL,
    run_id TEXT NOT NULL REFERENCES payroll_runs (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    line_id TEXT NOT NULL REFERENCES pay_lines (id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected')),
    answer TEXT,
    adjusted_fen BIGINT,
    created_at TIMESTAMP NOT NULL,
    resolved_by TEXT REFERENCES accounts (id),
    resolved_at TIMESTAMP,
    UNIQUE (line_id)
);
CREATE INDEX pay_disputes_run_idx ON pay_disputes (run_id, status);

-- A correction carried into the agent's next run as an adjustment line
-- (`applied_run_id` NULL until a run takes it).
CREATE TABLE pay_adjustments (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    amount_fen BIGINT NOT NULL,
    reason TEXT NOT NULL,
    from_run_id TEXT REFERENCES payroll_runs (id),
    dispute_id TEXT REFERENCES pay_disputes (id),
    applied_run_id TEXT REFERENCES payroll_runs (id),
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX pay_adjustments_pending_idx ON pay_adjustments (applied_run_id, agent_id);

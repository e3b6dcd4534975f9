-- Agent levels (seat-rules/levels.toml). `level` is the agent's current level, 1 for every
-- new agent; `level_since` when it last changed (NULL: never, still the starting level).
ALTER TABLE agents ADD COLUMN level INTEGER NOT NULL DEFAULT 1 CHECK (level >= 1);
ALTER TABLE agents ADD COLUMN level_since TIMESTAMP;

-- Append-only: the monthly recomputation's decision for each agent and month, kept or
-- changed, with the month's figures it was taken on, so the agent's mail and page can say
-- why and a rerun of the same month changes nothing. `month` is `YYYY-MM` in the market's
-- zone; `reasons` a JSON list of shortfalls (demotions) or an empty list.
CREATE TABLE agent_level_changes (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    month TEXT NOT NULL,
    from_level INTEGER NOT NULL CHECK (from_level >= 1),
    to_level INTEGER NOT NULL CHECK (to_level >= 1),
    quality_x100 INTEGER CHECK (quality_x100 BETWEEN 0 AND 10000),
    adherence_bp INTEGER CHECK (adherence_bp BETWEEN 0 AND 10000),
    minutes_worked INTEGER NOT NULL CHECK (minutes_worked >= 0),
    in_grace BOOLEAN NOT NULL,
    reasons TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (agent_id, month)
);
CREATE INDEX agent_level_changes_month_idx ON agent_level_changes (month, agent_id);

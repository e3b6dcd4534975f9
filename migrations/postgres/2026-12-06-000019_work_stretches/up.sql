-- Each agent's check-ins as stretches: runs of check-ins each less than 4 days after the one
-- before (`analytics::churn::STRETCH_GAP`; `analytics::churn::stretches` is the definition),
-- from the first check-in's instant to the last's, in UTC. The churn report reads one row per
-- stretch instead of one per check-in; the rules keep the inactivity limit at 7 days or more,
-- which makes that exact (see `MIN_INACTIVE_AFTER_DAYS`).
--
-- Kept by triggers on shift_assignments rather than by the code that writes check-ins: every
-- writer (the check-in handler, the demo history, the benches' and tests' bulk inserts, a
-- correction that clears a check-in) keeps them right without knowing of them, inside its
-- own transaction. A new check-in widens the stretches it comes within 4 days of into one; a
-- check-in moved or removed rebuilds that agent's stretches from their check-ins (rare, and a
-- few hundred rows at most). A transaction-scoped advisory lock per agent keeps two
-- instances checking the same agent in at once from both merging the same stretches.
CREATE TABLE work_stretches (
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    first_at TIMESTAMP NOT NULL,
    last_at TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, first_at),
    CHECK (first_at <= last_at)
);

-- The stretches of every agent's check-ins.
INSERT INTO work_stretches (agent_id, first_at, last_at)
SELECT agent_id, MIN(t), MAX(t) FROM (
    SELECT agent_id, t, SUM(brk) OVER (PARTITION BY agent_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS grp
    FROM (
        SELECT agent_id, checked_in_at AS t,
            CASE WHEN LAG(checked_in_at) OVER (PARTITION BY agent_id ORDER BY checked_in_at)
                > checked_in_at - INTERVAL '4 days' THEN 0 ELSE 1 END AS brk
        FROM shift_assignments WHERE checked_in_at IS NOT NULL
    ) c
) g
GROUP BY agent_id, grp;

-- A new check-in of `agent` at `t`: the stretches within 4 days of it and it become one.
CREATE FUNCTION work_stretches_add(agent TEXT, t TIMESTAMP) RETURNS void AS $$
DECLARE
    lo TIMESTAMP;
    hi TIMESTAMP;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('work_stretches'), hashtext(agent));
    WITH gone AS (
        DELETE FROM work_stretches
        WHERE agent_id = agent AND last_at > t - INTERVAL '4 days' AND first_at < t + INTERVAL '4 days'
        RETURNING first_at, last_at
    )
    SELECT LEAST(MIN(first_at), t), GREATEST(MAX(last_at), t) INTO lo, hi FROM gone;
    INSERT INTO work_stretches (agent_id, first_at, last_at) VALUES (agent, lo, hi);
END;
$$ LANGUAGE plpgsql;

-- `agent`'s stretches again from their check-ins, after one was moved or removed.
CREATE FUNCTION work_stretches_rebuild(agent TEXT) RETURNS void AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('work_stretches'), hashtext(agent));
    DELETE FROM work_stretches WHERE agent_id = agent;
    INSERT INTO work_stretches (agent_id, first_at, last_at)
    SELECT agent, MIN(t), MAX(t) FROM (
        SELECT t, SUM(brk) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS grp
        FROM (
            SELECT checked_in_at AS t,
                CASE WHEN LAG(checked_in_at) OVER (ORDER BY checked_in_at)
                    > checked_in_at - INTERVAL '4 days' THEN 0 ELSE 1 END AS brk
            FROM shift_assignments WHERE agent_id = agent AND checked_in_at IS NOT NULL
        ) c
    ) g
    GROUP BY grp;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION work_stretches_keep() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.checked_in_at IS NOT NULL
        AND (TG_OP = 'DELETE' OR OLD.checked_in_at IS DISTINCT FROM NEW.checked_in_at
             OR OLD.agent_id IS DISTINCT FROM NEW.agent_id) THEN
        -- Moved, cleared, taken to another agent or deleted: rebuilt (the new instant
        -- included when it stays with the agent).
        PERFORM work_stretches_rebuild(OLD.agent_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.checked_in_at IS NOT NULL
        AND (TG_OP = 'INSERT' OR OLD.checked_in_at IS NULL
             OR OLD.agent_id IS DISTINCT FROM NEW.agent_id) THEN
        PERFORM work_stretches_add(NEW.agent_id, NEW.checked_in_at);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER work_stretches_keep AFTER INSERT OR UPDATE OF checked_in_at, agent_id OR DELETE
    ON shift_assignments FOR EACH ROW EXECUTE FUNCTION work_stretches_keep();

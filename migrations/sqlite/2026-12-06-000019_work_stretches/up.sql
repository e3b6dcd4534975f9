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
-- few hundred rows at most).
--
-- Timestamps are compared as strftime('%Y-%m-%d %H:%M:%f') text, so that '10:00:00' and
-- '10:00:00.000' (both written by diesel) compare as the same instant.
CREATE TABLE work_stretches (
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    first_at TIMESTAMP NOT NULL,
    last_at TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, first_at),
    CHECK (first_at <= last_at)
);

-- SQLite has no stored procedures, so the two things the triggers do are written once each
-- as the INSTEAD OF INSERT trigger of an empty view, and the triggers insert into the view.

-- Merge: a check-in of `agent_id` at `at` and the stretches within 4 days of it become one.
-- The earliest of them (or a new row) takes the union; the others, now inside it, go.
CREATE VIEW work_stretch_merge (agent_id, at) AS SELECT NULL, NULL WHERE false;
CREATE TRIGGER work_stretch_merge_do INSTEAD OF INSERT ON work_stretch_merge
BEGIN
    INSERT INTO work_stretches (agent_id, first_at, last_at)
    SELECT NEW.agent_id, MIN(first_at), MAX(last_at)
    FROM (
        SELECT first_at, last_at FROM work_stretches
        WHERE agent_id = NEW.agent_id
          AND strftime('%Y-%m-%d %H:%M:%f', last_at) > strftime('%Y-%m-%d %H:%M:%f', NEW.at, '-4 days')
          AND strftime('%Y-%m-%d %H:%M:%f', first_at) < strftime('%Y-%m-%d %H:%M:%f', NEW.at, '+4 days')
        UNION ALL SELECT NEW.at, NEW.at
    ) WHERE true
    ON CONFLICT (agent_id, first_at) DO UPDATE SET last_at = excluded.last_at;
    DELETE FROM work_stretches
    WHERE agent_id = NEW.agent_id
      AND strftime('%Y-%m-%d %H:%M:%f', last_at) > strftime('%Y-%m-%d %H:%M:%f', NEW.at, '-4 days')
      AND strftime('%Y-%m-%d %H:%M:%f', first_at) < strftime('%Y-%m-%d %H:%M:%f', NEW.at, '+4 days')
      AND first_at > (SELECT MIN(first_at) FROM work_stretches
                      WHERE agent_id = NEW.agent_id
                        AND strftime('%Y-%m-%d %H:%M:%f', first_at) <= strftime('%Y-%m-%d %H:%M:%f', NEW.at)
                        AND strftime('%Y-%m-%d %H:%M:%f', last_at) >= strftime('%Y-%m-%d %H:%M:%f', NEW.at));
END;

-- Rebuild: `agent_id`'s stretches again from their check-ins.
CREATE VIEW work_stretch_rebuild (agent_id) AS SELECT NULL WHERE false;
CREATE TRIGGER work_stretch_rebuild_do INSTEAD OF INSERT ON work_stretch_rebuild
BEGIN
    DELETE FROM work_stretches WHERE agent_id = NEW.agent_id;
    INSERT INTO work_stretches (agent_id, first_at, last_at)
    SELECT agent_id, MIN(t), MAX(t) FROM (
        SELECT agent_id, t, SUM(brk) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS grp
        FROM (
            SELECT agent_id, checked_in_at AS t,
                CASE WHEN strftime('%Y-%m-%d %H:%M:%f', LAG(checked_in_at) OVER (ORDER BY checked_in_at))
                    > strftime('%Y-%m-%d %H:%M:%f', checked_in_at, '-4 days') THEN 0 ELSE 1 END AS brk
            FROM shift_assignments WHERE agent_id = NEW.agent_id AND checked_in_at IS NOT NULL
        )
    )
    GROUP BY grp;
END;

-- Every agent's check-ins so far.
INSERT INTO work_stretch_rebuild (agent_id)
SELECT DISTINCT agent_id FROM shift_assignments WHERE checked_in_at IS NOT NULL;

-- A new check-in.
CREATE TRIGGER work_stretches_check_in AFTER INSERT ON shift_assignments
WHEN NEW.checked_in_at IS NOT NULL
BEGIN
    INSERT INTO work_stretch_merge (agent_id, at) VALUES (NEW.agent_id, NEW.checked_in_at);
END;

-- Checking in to an assignment that had no check-in (the usual way: the check-in handler), or
-- an assignment moved to another agent with its check-in: as a new check-in.
CREATE TRIGGER work_stretches_check_in_set AFTER UPDATE OF checked_in_at, agent_id ON shift_assignments
WHEN NEW.checked_in_at IS NOT NULL
    AND (OLD.checked_in_at IS NULL OR OLD.agent_id IS NOT NEW.agent_id)
BEGIN
    INSERT INTO work_stretch_merge (agent_id, at) VALUES (NEW.agent_id, NEW.checked_in_at);
END;

-- A check-in moved, cleared or taken to another agent: that agent's stretches again from
-- their check-ins (the new instant included).
CREATE TRIGGER work_stretches_check_in_changed AFTER UPDATE OF checked_in_at, agent_id ON shift_assignments
WHEN OLD.checked_in_at IS NOT NULL
    AND (OLD.checked_in_at IS NOT NEW.checked_in_at OR OLD.agent_id IS NOT NEW.agent_id)
BEGIN
    INSERT INTO work_stretch_rebuild (agent_id) VALUES (OLD.agent_id);
END;

CREATE TRIGGER work_stretches_check_in_deleted AFTER DELETE ON shift_assignments
WHEN OLD.checked_in_at IS NOT NULL
BEGIN
    INSERT INTO work_stretch_rebuild (agent_id) VALUES (OLD.agent_id);
END;

-- Churn reads every agent's worked days (the check-ins) in one pass; this index holds just
-- the check-ins, with both columns the pass needs, so it never touches the table.
CREATE INDEX shift_assignments_checked_in_idx ON shift_assignments (agent_id, checked_in_at)
    WHERE checked_in_at IS NOT NULL;

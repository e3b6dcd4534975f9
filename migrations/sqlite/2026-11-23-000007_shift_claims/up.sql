-- Shifts, second half: who holds each shift over time (claims, swaps, auto-assignment) with
-- attendance, the urgent bonus of a shift reopened after a no-show, the swap board, and the
-- agents' shift preferences. The assignment history, not the shift row, is what adherence,
-- continuity, pay and churn are computed from.
ALTER TABLE shifts ADD COLUMN urgent_bonus_fen BIGINT NOT NULL DEFAULT 0 CHECK (urgent_bonus_fen >= 0);
-- Set while the current holder offers the shift on the swap board.
ALTER TABLE shifts ADD COLUMN swap_offered_at TIMESTAMP;
CREATE INDEX shifts_agent_idx ON shifts (agent_id, starts_at);
CREATE INDEX shifts_merchant_idx ON shifts (merchant_id, starts_at);

CREATE TABLE shift_assignments (
    id TEXT PRIMARY KEY NOT NULL,
    shift_id TEXT NOT NULL REFERENCES shifts (id),
    agent_id TEXT NOT NULL REFERENCES accounts (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    booking_id TEXT NOT NULL REFERENCES bookings (id),
    via TEXT NOT NULL CHECK (via IN ('claim', 'swap', 'auto')),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    checked_in_at TIMESTAMP,
    checked_out_at TIMESTAMP,
    ended_at TIMESTAMP,
    outcome TEXT CHECK (outcome IN ('worked', 'released', 'released_late', 'no_show', 'swapped_out', 'cancelled')),
    CHECK ((ended_at IS NULL) = (outcome IS NULL)),
    CHECK (starts_at < ends_at)
);
-- At most one current holder per shift, whatever races happen.
CREATE UNIQUE INDEX shift_assignments_current_idx ON shift_assignments (shift_id) WHERE ended_at IS NULL;
CREATE INDEX shift_assignments_agent_idx ON shift_assignments (agent_id, starts_at);
CREATE INDEX shift_assignments_merchant_idx ON shift_assignments (merchant_id, agent_id);

-- JSON list of files sent with the mail (a shift's .ics calendar entry).
ALTER TABLE outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';

ALTER TABLE agents ADD COLUMN auto_assign BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE agents ADD COLUMN urgent_alerts BOOLEAN NOT NULL DEFAULT FALSE;
-- Secret in the agent's calendar feed URL; rotating it revokes the old URL.
ALTER TABLE agents ADD COLUMN calendar_token TEXT;
CREATE UNIQUE INDEX agents_calendar_token_idx ON agents (calendar_token);

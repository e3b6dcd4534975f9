-- The seat marketplace: hourly inventory, bookings priced by a ruleset version, and the
-- shifts a confirmed booking becomes.

-- One row per skill and hour once anything was booked for it. The CHECK is the last line of
-- defence against overbooking: no statement can push `sold` past `capacity`.
CREATE TABLE seat_inventory (
    skill TEXT NOT NULL,
    hour_start TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    sold INTEGER NOT NULL CHECK (sold >= 0 AND sold <= capacity),
    PRIMARY KEY (skill, hour_start)
);

CREATE TABLE bookings (
    id TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    created_by TEXT NOT NULL REFERENCES accounts (id),
    skill TEXT NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    daily_start_hour INTEGER NOT NULL CHECK (daily_start_hour BETWEEN 0 AND 23),
    daily_end_hour INTEGER NOT NULL CHECK (daily_end_hour BETWEEN 1 AND 24),
    time_zone TEXT NOT NULL,
    seats INTEGER NOT NULL CHECK (seats > 0),
    seat_hours BIGINT NOT NULL CHECK (seat_hours > 0),
    status TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'active', 'completed', 'cancelled')),
    ruleset_version TEXT NOT NULL,
    period_id TEXT,
    quote TEXT NOT NULL,
    total_fen BIGINT NOT NULL CHECK (total_fen >= 0),
    hold_expires_at TIMESTAMP,
    invoice_number TEXT UNIQUE,
    paid_fen BIGINT,
    refund_fen BIGINT,
    cancel_reason TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    CHECK (start_date <= end_date),
    CHECK (daily_start_hour < daily_end_hour)
);
CREATE INDEX bookings_merchant_idx ON bookings (merchant_id, id);
CREATE INDEX bookings_status_idx ON bookings (status, hold_expires_at);
CREATE INDEX bookings_period_idx ON bookings (period_id, merchant_id);

CREATE TABLE shifts (
    id TEXT PRIMARY KEY NOT NULL,
    booking_id TEXT NOT NULL REFERENCES bookings (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    skill TEXT NOT NULL,
    seat_no INTEGER NOT NULL CHECK (seat_no >= 1),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'checked_in', 'completed', 'released', 'no_show', 'cancelled')),
    agent_id TEXT REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE INDEX shifts_booking_idx ON shifts (booking_id);
CREATE INDEX shifts_status_idx ON shifts (status, starts_at);

-- Scheduled mails already sent (so a restart or a second instance never sends them twice).
CREATE TABLE notifications_sent (
    kind TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, subject_key)
);

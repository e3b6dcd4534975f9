-- Socket frames too large for a PostgreSQL notification (payloads stop at 8000 bytes), kept
-- for the other instances to read when the notification naming them arrives. Rows are
-- removed a few minutes later. The table exists on SQLite too (the schemas stay the same),
-- where one instance serves everything and nothing is relayed.
CREATE TABLE chat_relay (
    id TEXT PRIMARY KEY NOT NULL,
    target TEXT NOT NULL,
    frame TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX chat_relay_created_idx ON chat_relay (created_at);

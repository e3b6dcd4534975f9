-- Opt-in service reports by mail (issue 8): a shop's staff member asks for the live
-- dashboard's figures every day and/or every week. One row per recipient and cadence;
-- removing the row is opting out (the audit log keeps who did what). Which periods were
-- already mailed is in notifications_sent (kind `merchant_report_daily`/`_weekly`), so a
-- period goes out once per subscriber whatever the number of instances.
CREATE TABLE report_subscriptions (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    cadence TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, account_id, cadence)
);

CREATE INDEX report_subscriptions_cadence_idx ON report_subscriptions (cadence, merchant_id);

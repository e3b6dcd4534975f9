DROP TABLE pay_adjustments;
DROP TABLE pay_disputes;
DROP TABLE payslips;
DROP TABLE pay_lines;
DROP TABLE payroll_runs;
ALTER TABLE chats DROP COLUMN concurrent_at_accept;
ALTER TABLE chats DROP COLUMN kind;

ALTER TABLE agents DROP COLUMN left_reason;
ALTER TABLE agents DROP COLUMN accessibility;
ALTER TABLE agents DROP COLUMN max_concurrent_chats;
ALTER TABLE agents DROP COLUMN availability;
ALTER TABLE agents DROP COLUMN skills;
ALTER TABLE agents DROP COLUMN languages;
ALTER TABLE agents DROP COLUMN previous_status;

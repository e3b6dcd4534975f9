-- Agent profiles: what an agent offers and needs. Lists are JSON arrays in TEXT (portable).
ALTER TABLE agents ADD COLUMN previous_status TEXT;
ALTER TABLE agents ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN availability TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN max_concurrent_chats INTEGER NOT NULL DEFAULT 2 CHECK (max_concurrent_chats BETWEEN 1 AND 6);
ALTER TABLE agents ADD COLUMN accessibility TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN left_reason TEXT;

DROP TABLE agent_level_changes;
ALTER TABLE agents DROP COLUMN level_since;
ALTER TABLE agents DROP COLUMN level;

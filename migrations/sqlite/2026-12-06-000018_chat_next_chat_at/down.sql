DROP INDEX chats_closed_pass_idx;
DROP TRIGGER chats_next_chat_at_deleted;
DROP TRIGGER chats_next_chat_at_moved;
DROP TRIGGER chats_next_chat_at_closed;
DROP TRIGGER chats_next_chat_at_insert;
ALTER TABLE chats DROP COLUMN next_chat_at;

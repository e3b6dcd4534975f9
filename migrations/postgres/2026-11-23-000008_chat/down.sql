ALTER TABLE agents DROP COLUMN chat_auto_accept;
DROP TABLE presence_events;
DROP TABLE agent_presence;
DROP TABLE chat_events;
DROP TABLE chat_offers;
DROP TABLE chat_messages;
DROP TABLE chats;
DROP TABLE customer_identities;
DROP TABLE customers;

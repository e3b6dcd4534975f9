DROP TABLE chat_relay;

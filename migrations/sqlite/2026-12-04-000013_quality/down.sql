DROP INDEX chats_closed_idx;
DROP TABLE model_chats;
DROP TABLE review_disputes;
DROP TABLE chat_reviews;

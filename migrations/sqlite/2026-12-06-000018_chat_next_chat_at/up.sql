-- When the customer came back to the shop after a chat closed: the created_at of the
-- earliest other chat of the same customer with the same shop created after this chat's
-- closed_at; NULL while the chat is open or when there is none. The quality pass reads it
-- ("reopened" is next_chat_at within the reopen window of closed_at) instead of probing the
-- customer's later chats once per closed chat. The triggers below keep it right for every
-- writer (the chat service, One-ID merges, bulk SQL). Chats begin before they close
-- (created_at <= closed_at), which bounds the index ranges below.
ALTER TABLE chats ADD COLUMN next_chat_at TIMESTAMP;

UPDATE chats SET next_chat_at = (
    SELECT c2.created_at FROM chats c2
    WHERE c2.customer_id = chats.customer_id AND c2.created_at > chats.closed_at
      AND +c2.merchant_id = chats.merchant_id AND c2.id <> chats.id
    ORDER BY c2.created_at LIMIT 1)
WHERE closed_at IS NOT NULL;

-- Unary + keeps SQLite on chats_customer_idx (customer_id, created_at), a customer's few
-- chats, rather than a shop's or the month's (chats_merchant_idx, chats_closed_idx).

-- A new chat is the next chat of the customer's chats with the shop that closed before it
-- began and had none, or a later one; inserted closed, it gets its own.
CREATE TRIGGER chats_next_chat_at_insert AFTER INSERT ON chats
BEGIN
    UPDATE chats SET next_chat_at = NEW.created_at
    WHERE customer_id = NEW.customer_id AND created_at < NEW.created_at
      AND +merchant_id = NEW.merchant_id AND +closed_at < NEW.created_at AND id <> NEW.id
      AND (next_chat_at IS NULL OR next_chat_at > NEW.created_at);
    UPDATE chats SET next_chat_at = (
        SELECT c2.created_at FROM chats c2
        WHERE c2.customer_id = NEW.customer_id AND c2.created_at > NEW.closed_at
          AND +c2.merchant_id = NEW.merchant_id AND c2.id <> NEW.id
        ORDER BY c2.created_at LIMIT 1)
    WHERE rowid = NEW.rowid AND NEW.closed_at IS NOT NULL;
END;

-- Closed (or reopened): its own, from the customer's chats after the new closed_at.
CREATE TRIGGER chats_next_chat_at_closed AFTER UPDATE OF closed_at ON chats
WHEN NEW.closed_at IS NOT OLD.closed_at
BEGIN
    UPDATE chats SET next_chat_at = CASE WHEN NEW.closed_at IS NULL THEN NULL ELSE (
        SELECT c2.created_at FROM chats c2
        WHERE c2.customer_id = NEW.customer_id AND c2.created_at > NEW.closed_at
          AND +c2.merchant_id = NEW.merchant_id AND c2.id <> NEW.id
        ORDER BY c2.created_at LIMIT 1) END
    WHERE rowid = NEW.rowid;
END;

-- Moved to another customer (a One-ID merge), shop or start: every closed chat of the old
-- and the new customer, recomputed (a customer has few chats; merges are rare).
CREATE TRIGGER chats_next_chat_at_moved AFTER UPDATE OF customer_id, merchant_id, created_at ON chats
WHEN NEW.customer_id IS NOT OLD.customer_id OR NEW.merchant_id IS NOT OLD.merchant_id
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    UPDATE chats SET next_chat_at = (
        SELECT c2.created_at FROM chats c2
        WHERE c2.customer_id = chats.customer_id AND c2.created_at > chats.closed_at
          AND +c2.merchant_id = chats.merchant_id AND c2.id <> chats.id
        ORDER BY c2.created_at LIMIT 1)
    WHERE customer_id IN (OLD.customer_id, NEW.customer_id) AND +closed_at IS NOT NULL;
END;

-- Deleted: the chats it was the next chat of look again.
CREATE TRIGGER chats_next_chat_at_deleted AFTER DELETE ON chats
BEGIN
    UPDATE chats SET next_chat_at = (
        SELECT c2.created_at FROM chats c2
        WHERE c2.customer_id = chats.customer_id AND c2.created_at > chats.closed_at
          AND +c2.merchant_id = chats.merchant_id AND c2.id <> chats.id
        ORDER BY c2.created_at LIMIT 1)
    WHERE customer_id = OLD.customer_id AND +next_chat_at = OLD.created_at;
END;

-- The payroll and quality pass (quality::store::chat_counts) over a period's closed chats:
-- every column it reads, so it never touches the table (SQLite 3.40 counts an index as
-- covering only if it holds the columns of the partial index's condition too: status).
CREATE INDEX chats_closed_pass_idx ON chats (closed_at, agent_id, skill, kind, rating,
    first_response_at, accepted_at, next_chat_at, concurrent_at_accept, status)
    WHERE status = 'closed';

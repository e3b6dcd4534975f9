-- When the customer came back to the shop after a chat closed: the created_at of the
-- earliest other chat of the same customer with the same shop created after this chat's
-- closed_at; NULL while the chat is open or when there is none. The quality pass reads it
-- ("reopened" is next_chat_at within the reopen window of closed_at) instead of probing the
-- customer's later chats once per closed chat. The triggers below keep it right for every
-- writer (the chat service, One-ID merges, bulk SQL). Chats begin before they close
-- (created_at <= closed_at), which bounds the index ranges below.
ALTER TABLE chats ADD COLUMN next_chat_at TIMESTAMP;

-- The rule itself, on chats_customer_idx (customer_id, created_at); PL/pgSQL so that the
-- triggers' calls reuse one prepared plan per session.
CREATE FUNCTION chat_next_chat_at(customer TEXT, merchant TEXT, chat TEXT, closed TIMESTAMP)
RETURNS TIMESTAMP LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT c2.created_at FROM chats c2
        WHERE c2.customer_id = customer AND c2.created_at > closed
          AND c2.merchant_id = merchant AND c2.id <> chat
        ORDER BY c2.created_at LIMIT 1);
END
$$;

UPDATE chats SET next_chat_at = chat_next_chat_at(customer_id, merchant_id, id, closed_at)
WHERE closed_at IS NOT NULL;

-- Before a chat is written: lock its customer (and the one it leaves), so that concurrent
-- writers of one customer's chats take turns and each sees the other's committed chats,
-- then set its own next_chat_at. FOR NO KEY UPDATE, not FOR UPDATE: it does not conflict
-- with the FOR KEY SHARE locks that foreign-key checks (a chat's or an identity's insert)
-- take on the customer, so two transactions holding those cannot deadlock here.
CREATE FUNCTION chats_next_chat_at_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.customer_id <> NEW.customer_id THEN
        PERFORM 1 FROM customers WHERE id IN (OLD.customer_id, NEW.customer_id)
            ORDER BY id FOR NO KEY UPDATE;
    ELSE
        PERFORM 1 FROM customers WHERE id = NEW.customer_id FOR NO KEY UPDATE;
    END IF;
    IF NEW.closed_at IS NULL THEN
        NEW.next_chat_at := NULL;
    ELSE
        NEW.next_chat_at := chat_next_chat_at(NEW.customer_id, NEW.merchant_id, NEW.id, NEW.closed_at);
    END IF;
    RETURN NEW;
END
$$;

-- After a chat is written or deleted: the other chats of the customer it concerns.
CREATE FUNCTION chats_next_chat_at_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- The new chat is the next chat of the customer's chats with the shop that closed
        -- before it began and had none, or a later one.
        UPDATE chats SET next_chat_at = NEW.created_at
        WHERE customer_id = NEW.customer_id AND created_at < NEW.created_at
          AND merchant_id = NEW.merchant_id AND closed_at < NEW.created_at AND id <> NEW.id
          AND (next_chat_at IS NULL OR next_chat_at > NEW.created_at);
    ELSIF TG_OP = 'UPDATE' THEN
        -- Moved to another customer (a One-ID merge), shop or start: every closed chat of
        -- the old and the new customer, recomputed (a customer has few chats; merges are rare).
        UPDATE chats SET next_chat_at = chat_next_chat_at(customer_id, merchant_id, id, closed_at)
        WHERE customer_id IN (OLD.customer_id, NEW.customer_id) AND closed_at IS NOT NULL
          AND next_chat_at IS DISTINCT FROM chat_next_chat_at(customer_id, merchant_id, id, closed_at);
    ELSE
        -- Deleted: the chats it was the next chat of look again.
        PERFORM 1 FROM customers WHERE id = OLD.customer_id FOR NO KEY UPDATE;
        UPDATE chats SET next_chat_at = chat_next_chat_at(customer_id, merchant_id, id, closed_at)
        WHERE customer_id = OLD.customer_id AND next_chat_at = OLD.created_at;
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER chats_next_chat_at_insert BEFORE INSERT ON chats
    FOR EACH ROW EXECUTE FUNCTION chats_next_chat_at_before();
CREATE TRIGGER chats_next_chat_at_update BEFORE UPDATE OF closed_at, customer_id, merchant_id, created_at ON chats
    FOR EACH ROW
    WHEN (OLD.closed_at IS DISTINCT FROM NEW.closed_at OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
        OR OLD.merchant_id IS DISTINCT FROM NEW.merchant_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION chats_next_chat_at_before();
CREATE TRIGGER chats_next_chat_at_inserted AFTER INSERT ON chats
    FOR EACH ROW EXECUTE FUNCTION chats_next_chat_at_after();
CREATE TRIGGER chats_next_chat_at_moved AFTER UPDATE OF customer_id, merchant_id, created_at ON chats
    FOR EACH ROW
    WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id OR OLD.merchant_id IS DISTINCT FROM NEW.merchant_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION chats_next_chat_at_after();
CREATE TRIGGER chats_next_chat_at_deleted AFTER DELETE ON chats
    FOR EACH ROW EXECUTE FUNCTION chats_next_chat_at_after();

-- The payroll and quality pass (quality::store::chat_counts) over a period's closed chats:
-- every column it reads, so it can scan the index alone.
CREATE INDEX chats_closed_pass_idx ON chats (closed_at, agent_id, skill, kind, rating,
    first_response_at, accepted_at, next_chat_at, concurrent_at_accept)
    WHERE status = 'closed';

-- Sync without walking every membership (decision 0010, "Sync"): a log of
-- what changed, by transaction id, kept for an hour. A sync whose cursor
-- the log covers, and after which few changes happened, reads the log
-- instead of walking all of the user's memberships.
CREATE TABLE chat_sync_log (
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    conversation_id bigint NOT NULL,
    -- NULL: the conversation's stream moved, every member's concern; else
    -- that member's own membership changed or ended.
    user_id         bigint,
    logged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_sync_log_xid_idx ON chat_sync_log (xid);

-- The log holds every change made by a transaction at or above this id
-- (pruning raises it past what it deleted; changes before this migration
-- were never logged).
CREATE TABLE chat_sync_log_horizon (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    complete_from xid8 NOT NULL
);
INSERT INTO chat_sync_log_horizon (complete_from) VALUES (pg_current_xact_id());

-- Membership changes a member sees (role, read cursor, preferences): the
-- counters that move with every message are the conversation's changes.
CREATE FUNCTION chat_members_log_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO chat_sync_log (conversation_id, user_id) VALUES (NEW.conversation_id, NEW.user_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chat_members_log_insert_trigger
    AFTER INSERT ON conversation_members
    FOR EACH ROW EXECUTE FUNCTION chat_members_log_change();

CREATE TRIGGER chat_members_log_update_trigger
    AFTER UPDATE ON conversation_members
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role
          OR OLD.last_read_message_id IS DISTINCT FROM NEW.last_read_message_id
          OR OLD.starred IS DISTINCT FROM NEW.starred
          OR OLD.mute_until IS DISTINCT FROM NEW.mute_until
          OR OLD.notify_level IS DISTINCT FROM NEW.notify_level
          OR OLD.hidden IS DISTINCT FROM NEW.hidden)
    EXECUTE FUNCTION chat_members_log_change();

-- An ended membership is logged with its removal record.
CREATE OR REPLACE FUNCTION chat_members_record_removal() RETURNS trigger AS $$
BEGIN
    INSERT INTO chat_membership_removals
        (user_id, conversation_id, last_event_seq, removed_xid, removed_at)
    VALUES (OLD.user_id, OLD.conversation_id,
            coalesce((SELECT last_event_seq FROM conversations WHERE id = OLD.conversation_id), 0),
            pg_current_xact_id(), now())
    ON CONFLICT (user_id, conversation_id) DO UPDATE
        SET last_event_seq = EXCLUDED.last_event_seq,
            removed_xid = EXCLUDED.removed_xid,
            removed_at = EXCLUDED.removed_at;
    INSERT INTO chat_sync_log (conversation_id, user_id) VALUES (OLD.conversation_id, OLD.user_id);
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

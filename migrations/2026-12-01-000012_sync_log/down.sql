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
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER chat_members_log_update_trigger ON conversation_members;
DROP TRIGGER chat_members_log_insert_trigger ON conversation_members;
DROP FUNCTION chat_members_log_change();
DROP TABLE chat_sync_log_horizon;
DROP TABLE chat_sync_log;

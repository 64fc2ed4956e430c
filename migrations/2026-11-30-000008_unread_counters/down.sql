ALTER TABLE conversations DROP COLUMN last_mention_seq;
ALTER TABLE conversation_members
    DROP COLUMN own_top_after_read,
    DROP COLUMN deleted_top_after_read;

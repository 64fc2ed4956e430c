ALTER TABLE conversations DROP COLUMN newest_message_at;

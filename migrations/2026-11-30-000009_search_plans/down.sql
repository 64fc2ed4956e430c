ALTER TABLE messages ALTER COLUMN search_vector SET STATISTICS -1;
DROP INDEX messages_conversation_created_idx;

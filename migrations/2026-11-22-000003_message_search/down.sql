DROP INDEX messages_created_idx;
DROP INDEX messages_search_idx;
ALTER TABLE messages DROP COLUMN search_vector;

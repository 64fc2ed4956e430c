-- Full-text search over message content.
--
-- The vector is built from the service's own normalized words (lowercase runs
-- of letters and digits, joined by spaces) with the 'simple' configuration:
-- no stemming, no stop words, and exactly the tokens the query parser makes,
-- so words, "phrases" (<->) and prefixes (:*) match the same way in every
-- store. Deleted messages have an empty vector.
ALTER TABLE messages ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX messages_search_idx ON messages USING gin (search_vector);
-- Newest-first paging of hits.
CREATE INDEX messages_created_idx ON messages (created_at DESC, id DESC);

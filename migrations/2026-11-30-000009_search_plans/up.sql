-- Search plans that do not depend on the planner's guess (search.rs).
--
-- A common word is searched by walking a conversation's messages newest
-- first: this index is that walk. (Across all of a user's conversations the
-- walk is messages_created_idx.)
CREATE INDEX messages_conversation_created_idx
    ON messages (conversation_id, created_at DESC, id DESC);

-- More words in pg_stats.most_common_elems: the store reads them to tell a
-- common word from a rare one, and a longer list tells them apart better.
ALTER TABLE messages ALTER COLUMN search_vector SET STATISTICS 1000;

-- Words are now the domain's (accents folded, apostrophes joined, CJK as
-- bigrams), written as tsvector literals. Plain ASCII words are unchanged;
-- `chat-server reindex-search` rewrites older messages' words in batches,
-- while the service runs.

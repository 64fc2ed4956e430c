-- When a conversation's newest message was sent, replies included (the
-- activity columns count top-level messages only). A search across all of a
-- user's conversations for a common word walks their conversations newest
-- first and stops once no conversation left can hold a newer hit
-- (search.rs): this is the bound it stops on. Sends keep it with
-- greatest(), so it never moves back; NULL means "not known", and such a
-- conversation is searched first.
ALTER TABLE conversations ADD COLUMN newest_message_at timestamptz;

UPDATE conversations c
SET newest_message_at = (SELECT max(x.created_at) FROM messages x WHERE x.conversation_id = c.id)
WHERE c.last_seq > 0;

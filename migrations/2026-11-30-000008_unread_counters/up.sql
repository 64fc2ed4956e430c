-- Unread figures in O(1) per conversation (docs/unread-counts.md).
--
-- The two corrections of an unread count become counters on the member's
-- row, kept exact by the writes that change them:
--   own_top_after_read      live top-level messages of the member past the
--                           cursor (non-zero only after a mark-unread);
--   deleted_top_after_read  deleted top-level messages past the cursor.
-- A cursor move recomputes both for the new position (nothing to count when
-- it moves to the newest message); a delete adds one to the members whose
-- cursor is before the message.
ALTER TABLE conversation_members
    ADD COLUMN own_top_after_read bigint NOT NULL DEFAULT 0,
    ADD COLUMN deleted_top_after_read bigint NOT NULL DEFAULT 0;

-- The newest top-level seq that mentions anyone (or @everyone): mention
-- probes run only for members whose cursor is before it.
ALTER TABLE conversations ADD COLUMN last_mention_seq bigint NOT NULL DEFAULT 0;

UPDATE conversation_members m SET
    own_top_after_read = (SELECT count(*) FROM messages o
        WHERE o.conversation_id = m.conversation_id AND o.parent_id IS NULL
          AND o.sender_id = m.user_id AND o.deleted_at IS NULL AND o.seq > m.last_read_seq),
    deleted_top_after_read = (SELECT count(*) FROM messages d
        WHERE d.conversation_id = m.conversation_id AND d.parent_id IS NULL
          AND d.deleted_at IS NOT NULL AND d.seq > m.last_read_seq);

UPDATE conversations c SET last_mention_seq = s.seq
FROM (SELECT conversation_id, max(seq) AS seq FROM messages
      WHERE parent_id IS NULL AND (mention_everyone OR cardinality(mentions) > 0)
      GROUP BY conversation_id) s
WHERE s.conversation_id = c.id;


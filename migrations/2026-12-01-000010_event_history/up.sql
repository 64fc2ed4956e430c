-- Catching up after a disconnect (contract: "Catching up after a
-- disconnect"; docs/decisions/0010-catch-up.md).
--
-- Two kinds of event stream, each numbered 1, 2, 3, ... without gaps and in
-- commit order:
--   a conversation's (`chat:<id>`): the counter is on the conversation row,
--     whose lock every write of the conversation already holds;
--   a user's (`personal:<userId>`): the counter is a row of
--     chat_personal_streams, locked by the write that takes a number.
-- Each numbered event is kept (as the envelope clients received) until
-- CHAT_EVENT_RETENTION has passed; a background job prunes in batches.

ALTER TABLE conversations
    ADD COLUMN last_event_seq bigint NOT NULL DEFAULT 0,
    -- The transaction that wrote the newest event: sync's change marker
    -- (see below). Not indexed, so the update stays HOT.
    ADD COLUMN events_xid xid8 NOT NULL DEFAULT '0';

ALTER TABLE conversation_members
    -- Events at or below this number are not the member's (sinceJoin
    -- members added later see the stream from their joining on).
    ADD COLUMN history_from_event_seq bigint NOT NULL DEFAULT 0,
    -- The transaction that last changed the membership (set by a trigger,
    -- so no write path can forget it).
    ADD COLUMN changed_xid xid8 NOT NULL DEFAULT '0';

CREATE TABLE chat_personal_streams (
    user_id        bigint PRIMARY KEY,
    last_event_seq bigint NOT NULL
);

CREATE TABLE chat_conversation_events (
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    event_seq       bigint NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    -- The message the event is about, for sinceJoin visibility.
    message_seq     bigint,
    occurred_at     timestamptz NOT NULL,
    envelope        jsonb NOT NULL,
    PRIMARY KEY (conversation_id, event_seq)
);

CREATE TABLE chat_personal_events (
    user_id     bigint NOT NULL,
    event_seq   bigint NOT NULL,
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    occurred_at timestamptz NOT NULL,
    envelope    jsonb NOT NULL,
    PRIMARY KEY (user_id, event_seq)
);

-- Pruning walks by time. Rows arrive in time order, so a BRIN index is
-- enough and costs almost nothing to keep up on insert.
CREATE INDEX chat_conversation_events_occurred_idx
    ON chat_conversation_events USING brin (occurred_at);
CREATE INDEX chat_personal_events_occurred_idx
    ON chat_personal_events USING brin (occurred_at);

-- Sync: which of a user's conversations changed since a cursor.
--
-- A global counter taken at write time is not in commit order (a
-- transaction can take 7, another 8, and 8 commit first), so a cursor "8"
-- would skip 7. Transaction ids are: every transaction whose changes a
-- snapshot does not see has an id at or above that snapshot's xmin. So sync
-- answers from one snapshot and hands out its xmin as the next cursor; the
-- next sync reports every row stamped with a transaction id >= that xmin.
-- It may report a conversation twice, never miss one.
CREATE FUNCTION chat_members_stamp_change() RETURNS trigger AS $$
BEGIN
    NEW.changed_xid := pg_current_xact_id();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chat_members_stamp_change_trigger
    BEFORE INSERT OR UPDATE ON conversation_members
    FOR EACH ROW EXECUTE FUNCTION chat_members_stamp_change();

-- Memberships that ended (removed, left, conversation deleted), so sync can
-- say `removed: true`. Kept as long as events are.
CREATE TABLE chat_membership_removals (
    user_id         bigint NOT NULL,
    conversation_id bigint NOT NULL,
    last_event_seq  bigint NOT NULL,
    removed_xid     xid8 NOT NULL,
    removed_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX chat_membership_removals_removed_at_idx ON chat_membership_removals (removed_at);

CREATE FUNCTION chat_members_record_removal() RETURNS trigger AS $$
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

CREATE TRIGGER chat_members_record_removal_trigger
    AFTER DELETE ON conversation_members
    FOR EACH ROW EXECUTE FUNCTION chat_members_record_removal();

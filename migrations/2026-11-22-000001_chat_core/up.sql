-- The chat core: users, conversations, members, messages, and the outbox.

CREATE TABLE users (
    id          bigint PRIMARY KEY,
    org_id      bigint NOT NULL,
    name        text,
    username    text,
    avatar_url  text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX users_org_id_idx ON users (org_id);

CREATE TABLE conversations (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
    visibility      text NOT NULL CHECK (visibility IN ('private', 'org')),
    history_mode    text NOT NULL CHECK (history_mode IN ('full', 'sinceJoin')),
    posting_policy  text NOT NULL CHECK (posting_policy IN ('everyone', 'admins')),
    name            text,
    description     text,
    avatar_file_id  bigint,
    metadata        jsonb,
    -- "<low user id>:<high user id>" for direct conversations: one DM per pair.
    direct_key      text,
    created_by      bigint NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    archived_at     timestamptz,
    -- The newest top-level message; lists sort by activity_at.
    last_message_at timestamptz,
    activity_at     timestamptz NOT NULL,
    -- The newest seq handed out. Sends lock this row to take the next one,
    -- which makes seq gap-free and in commit order.
    last_seq        bigint NOT NULL DEFAULT 0,
    -- How many top-level messages were ever sent: each gets the next ordinal,
    -- so "top-level messages after my cursor" is a subtraction.
    top_count       bigint NOT NULL DEFAULT 0,
    member_count    bigint NOT NULL DEFAULT 0,
    CONSTRAINT conversations_direct_key_key UNIQUE (org_id, direct_key)
);
CREATE INDEX conversations_org_channels_idx ON conversations (org_id) WHERE visibility = 'org';

CREATE TABLE conversation_members (
    conversation_id       bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id               bigint NOT NULL REFERENCES users (id),
    role                  text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at             timestamptz NOT NULL,
    -- Messages at or below this seq are hidden from the member (sinceJoin).
    history_from_seq      bigint NOT NULL DEFAULT 0,
    -- The read cursor (never below history_from_seq), and the top-level
    -- ordinal at the cursor.
    last_read_seq         bigint NOT NULL DEFAULT 0,
    read_top_ordinal      bigint NOT NULL DEFAULT 0,
    last_read_message_id  bigint,
    starred               boolean NOT NULL DEFAULT false,
    mute_until            timestamptz,
    notify_level          text NOT NULL DEFAULT 'all'
                          CHECK (notify_level IN ('all', 'mentions', 'everyone', 'none')),
    hidden                boolean NOT NULL DEFAULT false,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id);

CREATE TABLE messages (
    id                 bigserial PRIMARY KEY,
    conversation_id    bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq                bigint NOT NULL,
    -- 1, 2, 3, ... among the conversation's top-level messages; NULL for replies.
    top_ordinal        bigint,
    sender_id          bigint NOT NULL REFERENCES users (id),
    content            text NOT NULL,
    gif                text,
    mentions           bigint[] NOT NULL DEFAULT '{}',
    mention_everyone   boolean NOT NULL DEFAULT false,
    parent_id          bigint REFERENCES messages (id),
    thread_reply_count bigint NOT NULL DEFAULT 0,
    last_reply_at      timestamptz,
    quoted_message_id  bigint REFERENCES messages (id),
    metadata           jsonb,
    client_msg_id      text,
    edited_at          timestamptz,
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL,
    CONSTRAINT messages_conversation_seq_key UNIQUE (conversation_id, seq),
    CONSTRAINT messages_client_msg_id_key UNIQUE (conversation_id, sender_id, client_msg_id)
);
-- Top-level timelines and unread counts walk this index by seq.
CREATE INDEX messages_top_level_idx ON messages (conversation_id, seq) WHERE parent_id IS NULL;
CREATE INDEX messages_thread_idx ON messages (parent_id, seq) WHERE parent_id IS NOT NULL;
-- The small corrections of an unread count: deleted, own and @everyone
-- top-level messages after a cursor (usually none of each).
CREATE INDEX messages_deleted_top_idx ON messages (conversation_id, seq)
    WHERE parent_id IS NULL AND deleted_at IS NOT NULL;
CREATE INDEX messages_sender_top_idx ON messages (conversation_id, sender_id, seq)
    WHERE parent_id IS NULL;
CREATE INDEX messages_everyone_idx ON messages (conversation_id, seq)
    WHERE parent_id IS NULL AND mention_everyone;

-- Who is mentioned in which live top-level message, for mention counts.
CREATE TABLE message_mentions (
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL,
    seq             bigint NOT NULL,
    message_id      bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, user_id, seq)
);

-- The transactional outbox, in the shape Centrifugo's PostgreSQL consumer
-- reads: method is a server API method, payload its params.
CREATE TABLE chat_outbox (
    id          bigserial PRIMARY KEY,
    method      text NOT NULL,
    payload     jsonb NOT NULL,
    partition   integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_outbox_partition_id_idx ON chat_outbox (partition, id);

-- Wakes whoever drains the outbox (Centrifugo's consumer or our relay).
CREATE FUNCTION chat_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('centrifugo_partition_change', NEW.partition::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chat_outbox_notify_trigger
    AFTER INSERT ON chat_outbox
    FOR EACH ROW EXECUTE FUNCTION chat_outbox_notify();

-- Reactions, pins and reports.

CREATE TABLE message_reactions (
    message_id  bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    emoji       text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);
-- list-reactions pages one emoji's reactors oldest first.
CREATE INDEX message_reactions_emoji_idx ON message_reactions (message_id, emoji, created_at, user_id);

CREATE TABLE pinned_messages (
    message_id      bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    pinned_by       bigint NOT NULL REFERENCES users (id),
    pinned_at       timestamptz NOT NULL
);
CREATE INDEX pinned_messages_conversation_idx
    ON pinned_messages (conversation_id, pinned_at DESC, message_id DESC);

-- Reports outlive what they report (no foreign keys to messages or
-- conversations): moderators keep the evidence, with the content as it was.
CREATE TABLE message_reports (
    id               bigserial PRIMARY KEY,
    message_id       bigint NOT NULL,
    conversation_id  bigint NOT NULL,
    reporter_id      bigint NOT NULL,
    reason           text NOT NULL CHECK (reason IN
                       ('spam', 'harassment', 'hate', 'violence', 'sexual', 'self_harm', 'other')),
    details          text,
    content_snapshot text NOT NULL,
    created_at       timestamptz NOT NULL,
    CONSTRAINT message_reports_once_key UNIQUE (message_id, reporter_id)
);

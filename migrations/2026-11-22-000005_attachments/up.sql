-- Attachments: the rows; the bytes are in the object store (R2).
CREATE TABLE attachments (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- Set once, when the attachment is sent with (or finalized onto) a message.
    message_id      bigint REFERENCES messages (id) ON DELETE CASCADE,
    uploader_id     bigint NOT NULL REFERENCES users (id),
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size            bigint NOT NULL CHECK (size >= 0),
    object_key      text NOT NULL UNIQUE,
    ready           boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id) WHERE message_id IS NOT NULL;
-- list-conversation-attachments: sent files, newest first.
CREATE INDEX attachments_conversation_idx ON attachments (conversation_id, created_at DESC, id DESC)
    WHERE message_id IS NOT NULL;
-- The janitor finds uploads never finalized.
CREATE INDEX attachments_pending_idx ON attachments (created_at) WHERE NOT ready;

-- Webhooks (contract: "Webhooks and push"; decision 0011).
--
-- Every numbered conversation event is queued here for each configured
-- endpoint whose filter takes it, by the statement that numbers it: a
-- committed change is never without its deliveries. Each endpoint's
-- deliverer claims the oldest waiting row of each conversation (so
-- `eventSeq` order holds per conversation), deletes it once delivered, and
-- moves it to the dead letters when its retry window is over.
CREATE TABLE chat_webhook_queue (
    id              bigserial PRIMARY KEY,
    endpoint        text NOT NULL,
    conversation_id bigint NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- The heads: the first row of each conversation of an endpoint.
CREATE INDEX chat_webhook_queue_heads_idx
    ON chat_webhook_queue (endpoint, conversation_id, id);

CREATE TABLE chat_webhook_dead_letters (
    id              bigint PRIMARY KEY,
    endpoint        text NOT NULL,
    conversation_id bigint NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    attempts        integer NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now()
);

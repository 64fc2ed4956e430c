-- Push requests (contract: "Webhooks and push"; decision 0012).
--
-- A new message queues one `push.requested` row per endpoint that takes
-- push requests, beside its `message.created` row; the deliverer expands
-- it into batches of recipients when it delivers it. `push_after` and
-- `push_batches` record how far that got, so a retry resumes after the last
-- batch delivered instead of sending every batch again.
ALTER TABLE chat_webhook_queue
    ADD COLUMN message_id   bigint,
    ADD COLUMN push_after   bigint,
    ADD COLUMN push_batches integer NOT NULL DEFAULT 0;

ALTER TABLE chat_webhook_dead_letters
    ADD COLUMN message_id   bigint,
    ADD COLUMN push_after   bigint,
    ADD COLUMN push_batches integer NOT NULL DEFAULT 0;

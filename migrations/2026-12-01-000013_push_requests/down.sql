ALTER TABLE chat_webhook_dead_letters
    DROP COLUMN push_batches, DROP COLUMN push_after, DROP COLUMN message_id;
ALTER TABLE chat_webhook_queue
    DROP COLUMN push_batches, DROP COLUMN push_after, DROP COLUMN message_id;

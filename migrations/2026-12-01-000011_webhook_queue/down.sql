DROP TABLE chat_webhook_dead_letters;
DROP TABLE chat_webhook_queue;

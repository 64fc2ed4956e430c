DROP TABLE chat_outbox;
DROP FUNCTION chat_outbox_notify();
DROP TABLE message_mentions;
DROP TABLE messages;
DROP TABLE conversation_members;
DROP TABLE conversations;
DROP TABLE users;

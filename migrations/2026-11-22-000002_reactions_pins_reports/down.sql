DROP TABLE message_reports;
DROP TABLE pinned_messages;
DROP TABLE message_reactions;

ALTER TABLE conversations RESET (fillfactor);
ALTER TABLE conversation_members RESET (fillfactor);

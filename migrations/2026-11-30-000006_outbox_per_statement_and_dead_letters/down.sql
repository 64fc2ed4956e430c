DROP TABLE chat_outbox_dead_letters;
DROP TRIGGER chat_outbox_notify_statement_trigger ON chat_outbox;
DROP FUNCTION chat_outbox_notify_statement();

CREATE FUNCTION chat_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('centrifugo_partition_change', NEW.partition::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chat_outbox_notify_trigger
    AFTER INSERT ON chat_outbox
    FOR EACH ROW EXECUTE FUNCTION chat_outbox_notify();

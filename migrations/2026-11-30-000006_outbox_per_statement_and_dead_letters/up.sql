-- One wake-up per inserting statement instead of one trigger call per row:
-- a send writes all its outbox rows in one INSERT. Drainers are woken the
-- same way as before (channel 'centrifugo_partition_change', payload the
-- partition), which is what Centrifugo's own PostgreSQL consumer listens for.
DROP TRIGGER chat_outbox_notify_trigger ON chat_outbox;
DROP FUNCTION chat_outbox_notify();

CREATE FUNCTION chat_outbox_notify_statement() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('centrifugo_partition_change', p::text)
    FROM (SELECT DISTINCT partition AS p FROM inserted) AS partitions;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chat_outbox_notify_statement_trigger
    AFTER INSERT ON chat_outbox
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION chat_outbox_notify_statement();

-- Outbox rows Centrifugo refused for good (any error but an internal one):
-- kept for an operator instead of stalling their partition.
CREATE TABLE chat_outbox_dead_letters (
    id             bigint PRIMARY KEY,
    method         text NOT NULL,
    payload        jsonb NOT NULL,
    partition      integer NOT NULL,
    created_at     timestamptz NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now(),
    error_code     bigint NOT NULL,
    error_message  text NOT NULL
);

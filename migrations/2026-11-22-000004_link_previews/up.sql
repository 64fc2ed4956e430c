-- Link previews: the unfurl queue, previews on messages, and the cache.

-- One job per message with links, queued in the send (or edit) transaction.
-- Workers take jobs by deleting them: a job is tried once.
CREATE TABLE link_unfurl_jobs (
    message_id  bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    urls        text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_unfurl_jobs_created_idx ON link_unfurl_jobs (created_at);

CREATE TABLE message_link_previews (
    message_id  bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    url         text NOT NULL,
    title       text,
    description text,
    image_url   text,
    site_name   text,
    PRIMARY KEY (message_id, position)
);

-- The same link in many messages is fetched once per cache period; failures
-- are cached too (ok = false), so a dead link is not hammered.
CREATE TABLE link_preview_cache (
    url         text PRIMARY KEY,
    ok          boolean NOT NULL,
    title       text,
    description text,
    image_url   text,
    site_name   text,
    fetched_at  timestamptz NOT NULL
);

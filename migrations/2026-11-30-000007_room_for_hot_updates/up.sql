-- Every send updates its conversation's row (seq, counters, activity) and
-- the sender's membership row (read cursor). None of those columns is
-- indexed, so PostgreSQL can update in place on the same page (a HOT update:
-- no new index entries) when the page has room. Leave that room. Applies to
-- pages written from now on; `VACUUM FULL` (or pg_repack) rewrites old ones.
ALTER TABLE conversations SET (fillfactor = 50);
ALTER TABLE conversation_members SET (fillfactor = 70);

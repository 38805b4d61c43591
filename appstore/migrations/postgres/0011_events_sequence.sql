-- Events are numbered from a sequence as they are inserted, no longer from the
-- single-row counter, whose lock made event-writing transactions commit one at a
-- time. Readers serve only up to a horizon every transaction below which has ended
-- (see appstore/events.go).
CREATE SEQUENCE events_seq;
SELECT setval('events_seq', (SELECT last_seq FROM event_counter WHERE id = 1) + 1, false);

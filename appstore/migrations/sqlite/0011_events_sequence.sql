-- Nothing changes on SQLite: with one writer at a time the event counter costs no
-- concurrency, and seq order is commit order. (PostgreSQL moves to a sequence here.)
SELECT 1;

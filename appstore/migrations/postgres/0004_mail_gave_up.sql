-- A mail whose delivery was abandoned (permanent failure or too many attempts) is kept
-- for inspection with its last error, and never offered for delivery again.
ALTER TABLE mail_queue ADD COLUMN gave_up_at BIGINT;

-- Expand (PostgreSQL): add recipient_id beside to_phone. Nullable, so the old code ignores it
-- and the dual-writing code (v2.5.0) can fill it. Each statement is safe to re-run.
SET lock_timeout = '5s';
SET statement_timeout = '15min';

ALTER TABLE messages ADD COLUMN IF NOT EXISTS recipient_id varchar(50);

-- Built without blocking writes; CONCURRENTLY needs autocommit (psql without --single-transaction).
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_recipient_id_idx ON messages (recipient_id);

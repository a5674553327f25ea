-- Contract (PostgreSQL): drop to_phone. The point of no return: only after every cell runs
-- v2.6.0 (reads recipient_id only) and the checks show recipient_id = to_phone on every row.
SET lock_timeout = '5s';
SET statement_timeout = '15min';

ALTER TABLE messages DROP COLUMN IF EXISTS to_phone;

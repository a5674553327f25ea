-- Contract (MySQL): drop to_phone, through pt-online-schema-change like the expand.
SET SESSION lock_wait_timeout = 5;

ALTER TABLE messages DROP COLUMN to_phone;

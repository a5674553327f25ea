-- Expand (MySQL): add recipient_id beside to_phone, nullable. The runbook runs each ALTER
-- through pt-online-schema-change (shadow table + triggers), which takes the same timeout.
SET SESSION lock_wait_timeout = 5;

ALTER TABLE messages ADD COLUMN recipient_id VARCHAR(50) NULL, ADD INDEX messages_recipient_id_idx (recipient_id);

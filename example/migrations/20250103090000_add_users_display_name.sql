-- description: an optional display name for users
-- author: bulwark-example
-- risk: low
-- migrate:up
-- A nullable column without a default only changes the catalog: no table rewrite.
SET LOCAL lock_timeout = '5s';
ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name text;

-- migrate:down
SET LOCAL lock_timeout = '5s';
-- Undoes the up section: only for a rollback right after it, before any code reads the column.
-- bulwark-ignore ban-drop-column
ALTER TABLE users DROP COLUMN IF EXISTS display_name;

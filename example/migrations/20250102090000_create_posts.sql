-- description: posts written by users
-- author: bulwark-example
-- risk: low
-- requires: 20250101090000
-- migrate:up
-- The foreign key locks users briefly: fail fast rather than queue behind a long transaction.
SET LOCAL lock_timeout = '5s';
CREATE TABLE IF NOT EXISTS posts (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author_id  bigint NOT NULL REFERENCES users (id),
  title      text NOT NULL,
  body       text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
-- posts is new (created just above), so a plain CREATE INDEX blocks nobody.
CREATE INDEX IF NOT EXISTS posts_author_id_idx ON posts (author_id);

-- migrate:down
DROP TABLE IF EXISTS posts;

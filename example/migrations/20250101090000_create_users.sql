-- description: users who can sign in
-- author: bulwark-example
-- risk: low
-- migrate:up
CREATE TABLE IF NOT EXISTS users (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email      text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE IF EXISTS users;

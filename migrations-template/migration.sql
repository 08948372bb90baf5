-- description: {{description}}
-- author: {{author}}
-- risk: low
-- requires:
-- migrate:up
-- Fail fast instead of queueing behind long transactions while holding locks that block traffic.
SET LOCAL lock_timeout = '5s';

${1:-- your change here}

-- migrate:down
${2:-- undo the change here (delete this section if the change cannot be undone)}

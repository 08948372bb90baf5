import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { FILE_NAME_PATTERN } from './parse';

export const TEMPLATE_FILE = 'migration.sql';

/**
 * The built-in template, used when the workspace has no `migrations-template/migration.sql`.
 * `{{name}}`, `{{version}}`, `{{description}}`, `{{author}}`, `{{date}}` are replaced; `${n:text}` are
 * snippet tab stops (the editor inserts them as a snippet, the CLI keeps their default text).
 */
export const BUILTIN_TEMPLATE = `-- description: {{description}}
-- author: {{author}}
-- risk: low
-- requires:
-- migrate:up
SET LOCAL lock_timeout = '5s';

\${1:-- your change here}

-- migrate:down
\${2:-- undo the change here (delete this section if the change cannot be undone)}
`;

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  if (!slug) throw new UsageError(`"${name}" has no letters or digits to make a file name from`, { hint: 'Example: bulwark new add_users_table' });
  return slug;
}

/** UTC yyyymmddHHMMSS. */
export function versionAt(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export function renderTemplate(template: string, vars: Record<string, string>, keepTabStops: boolean): string {
  let out = template.replace(/\{\{(\w+)\}\}/g, (all, k: string) => (k in vars ? vars[k] : all));
  if (!keepTabStops) out = stripTabStops(out);
  return out;
}

/** `${1:default}` → `default`, `$1`/`$0` → ''. Nested placeholders are rare in templates; one level is handled. */
export function stripTabStops(text: string): string {
  return text.replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\$\{\d+\}|\$\d+(?![\d$])/g, '');
}

export function loadTemplate(templateDir: string): string {
  const f = path.join(templateDir, TEMPLATE_FILE);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : BUILTIN_TEMPLATE;
}

export interface NewMigration {
  file: string;
  version: string;
  content: string;
}

/**
 * Create `<dir>/<version>_<slug>.sql` from the template. The version is the current UTC second, moved
 * forward if a file already uses it, so two quick `new`s never collide.
 */
export function createMigration(opts: { dir: string; templateDir: string; name: string; description?: string; author: string; now?: Date }): NewMigration {
  const slug = slugify(opts.name);
  fs.mkdirSync(opts.dir, { recursive: true });
  const used = new Set(fs.readdirSync(opts.dir).map((f) => FILE_NAME_PATTERN.exec(f)?.[1]).filter(Boolean));
  let t = (opts.now ?? new Date()).getTime();
  while (used.has(versionAt(new Date(t)))) t += 1000;
  const version = versionAt(new Date(t));
  const content = renderTemplate(loadTemplate(opts.templateDir), {
    name: slug,
    version,
    description: opts.description ?? opts.name.replace(/[_-]+/g, ' '),
    author: opts.author,
    date: new Date(t).toISOString(),
  }, false);
  const file = path.join(opts.dir, `${version}_${slug}.sql`);
  fs.writeFileSync(file, content, { flag: 'wx' });
  return { file, version, content };
}

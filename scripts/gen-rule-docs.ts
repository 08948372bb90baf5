// Writes docs/rules/<id>.md and docs/rules/README.md from the rules' own documentation.
// Run: npm run docs:rules (a unit test fails when the committed files are out of date).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_RULES } from '../src/core/lint';
import { ruleMarkdown } from '../src/cli/lint';

export function ruleDocs(): Map<string, string> {
  const files = new Map<string, string>();
  for (const r of ALL_RULES) files.set(`${r.id}.md`, ruleMarkdown(r));
  const rows = ALL_RULES.map((r) => `| [\`${r.id}\`](${r.id}.md) | ${r.category} | ${r.defaultSeverity} | ${r.summary.replace(/\|/g, '\\|')} |`);
  files.set('README.md', `# Lint rules\n\nGenerated from the rules' documentation by \`npm run docs:rules\`.\n\n| Rule | Category | Default | What it flags |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`);
  return files;
}

if (require.main === module) {
  const dir = path.resolve(__dirname, '../docs/rules');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of ruleDocs()) fs.writeFileSync(path.join(dir, f), text);
  process.stdout.write(`wrote ${ALL_RULES.length} rule docs to ${dir}\n`);
}

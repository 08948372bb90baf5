import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FileLintResult, LocatedFinding } from '../core/lint/files';
import type { RuleDoc } from '../core/lint/types';
import { TOOL_VERSION } from '../core/version';
import type { Out } from './output';

export function formatText(out: Out, results: FileLintResult[], cwd: string): void {
  const s = out.s;
  let errors = 0;
  let warnings = 0;
  let infos = 0;
  for (const r of results) {
    for (const f of r.findings) {
      const sev = f.severity === 'error' ? s.red('error') : f.severity === 'warning' ? s.yellow('warning') : s.cyan('info');
      if (f.severity === 'error') errors++;
      else if (f.severity === 'warning') warnings++;
      else infos++;
      out.print(`${path.relative(cwd, f.file) || f.file}:${f.line}:${f.column}: ${sev} ${s.dim(f.rule)} ${f.message}`);
    }
  }
  const files = results.length;
  out.print(s.dim(`${files} file(s) linted: ${errors} error(s), ${warnings} warning(s), ${infos} info`));
}

function jsonFinding(f: LocatedFinding, cwd: string) {
  return {
    file: path.relative(cwd, f.file) || f.file,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    endColumn: f.endColumn,
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    ...(f.fixes?.length ? { fixes: f.fixes } : {}),
  };
}

export function formatJson(out: Out, results: FileLintResult[], cwd: string): void {
  const findings = results.flatMap((r) => r.findings.map((f) => jsonFinding(f, cwd)));
  out.json({
    files: results.length,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    findings,
  });
}

/** SARIF 2.1.0, so code-scanning tools (GitHub, GitLab, Azure DevOps) show the findings. */
export function formatSarif(out: Out, results: FileLintResult[], rules: readonly RuleDoc[], cwd: string): void {
  const level = (s: string) => (s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note');
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const uri = (f: string) => path.relative(cwd, f).split(path.sep).join('/') || pathToFileURL(f).href;
  out.json({
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'bulwark',
            version: TOOL_VERSION,
            rules: rules.map((r) => ({
              id: r.id,
              shortDescription: { text: r.summary },
              fullDescription: { text: r.details },
              help: { text: r.details, markdown: ruleMarkdown(r) },
              defaultConfiguration: { level: r.defaultSeverity === 'off' ? 'none' : level(r.defaultSeverity), enabled: r.defaultSeverity !== 'off' },
              properties: { category: r.category },
            })),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(cwd + path.sep).href } },
        results: results.flatMap((r) =>
          r.findings.map((f) => ({
            ruleId: f.rule,
            ...(ruleIndex.has(f.rule) ? { ruleIndex: ruleIndex.get(f.rule) } : {}),
            level: level(f.severity),
            message: { text: f.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: uri(f.file), uriBaseId: 'SRCROOT' },
                  region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn },
                },
              },
            ],
          })),
        ),
      },
    ],
  });
}

/** The documentation entry of a rule (docs/rules/<id>.md is generated from the same text). */
export function ruleMarkdown(r: RuleDoc): string {
  const sev = r.defaultSeverity === 'off' ? 'off (opt-in)' : r.defaultSeverity;
  let md = `# ${r.id}\n\n${r.summary}\n\n- Category: ${r.category}\n- Default severity: ${sev}\n\n${r.details}\n`;
  if (r.bad) md += `\n## Flagged\n\n\`\`\`sql\n${r.bad}\n\`\`\`\n`;
  if (r.good) md += `\n## Instead\n\n\`\`\`sql\n${r.good}\n\`\`\`\n`;
  md += `\n## Suppress\n\n\`-- bulwark-ignore ${r.id}\` on the line before the statement, or \`-- bulwark-ignore-file ${r.id}\` anywhere in the file; or \`"lint": { "rules": { "${r.id}": "off" } }\` in bulwark.json.\n`;
  return md;
}

import { ConfigError } from '../errors';
import type { LintSettings } from './context';
import { DEFAULT_PG_VERSION, LintOptions, lintText, LintResult } from './lint';
import { ALL_RULES } from './rules';
import type { RuleSetting } from './types';

export { clearParseCache, loadParser, parseCacheSize, parserLoaded } from './parser';
export { ALL_RULES } from './rules';
export { sectionsOf, DEFAULT_PG_VERSION } from './lint';
export type { Rule, LintResult, LintOptions } from './lint';
export type { LintSettings, SectionInfo } from './context';
export * from './types';

const SETTINGS = ['off', 'info', 'warning', 'error'];

/**
 * The "lint" object of bulwark.json:
 *   { "pgVersion": 16, "assumeInTransaction": true, "rules": { "ban-drop-column": "off", "prefer-timestamptz": "warning" } }
 */
export function lintSettingsFrom(raw: unknown, overrides: Partial<LintSettings> = {}, file = 'bulwark.json'): LintSettings {
  const out: LintSettings = { pgVersion: DEFAULT_PG_VERSION, assumeInTransaction: true, lockTimeoutByRunner: false, rules: {} };
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: "lint" must be an object`);
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['pgVersion', 'assumeInTransaction', 'rules'].includes(k)) {
        throw new ConfigError(`${file}: lint.${k} is not a setting`, { hint: 'lint settings: pgVersion, assumeInTransaction, rules' });
      }
    }
    if (o.pgVersion !== undefined) {
      if (typeof o.pgVersion !== 'number' || !Number.isInteger(o.pgVersion) || o.pgVersion < 9 || o.pgVersion > 30) {
        throw new ConfigError(`${file}: lint.pgVersion must be a PostgreSQL major version such as 16`);
      }
      out.pgVersion = o.pgVersion;
    }
    if (o.assumeInTransaction !== undefined) {
      if (typeof o.assumeInTransaction !== 'boolean') throw new ConfigError(`${file}: lint.assumeInTransaction must be true or false`);
      out.assumeInTransaction = o.assumeInTransaction;
    }
    if (o.rules !== undefined) {
      if (typeof o.rules !== 'object' || o.rules === null || Array.isArray(o.rules)) throw new ConfigError(`${file}: lint.rules must be an object of rule id → "off" | "info" | "warning" | "error"`);
      const known = new Set(ALL_RULES.map((r) => r.id));
      for (const [id, v] of Object.entries(o.rules as Record<string, unknown>)) {
        if (!known.has(id)) throw new ConfigError(`${file}: lint.rules: unknown rule "${id}"`, { hint: 'Run `bulwark lint --rules` for the list.' });
        if (typeof v !== 'string' || !SETTINGS.includes(v)) throw new ConfigError(`${file}: lint.rules.${id} must be "off", "info", "warning" or "error"`);
        out.rules[id] = v as RuleSetting;
      }
    }
  }
  return { ...out, ...overrides, rules: { ...out.rules, ...(overrides.rules ?? {}) } };
}

/** Lint a file's text with every rule (the parser must be loaded: `await loadParser()`). */
export function lint(text: string, settings: Partial<LintSettings> = {}, options: LintOptions = {}): LintResult {
  return lintText(text, ALL_RULES, settings, options);
}

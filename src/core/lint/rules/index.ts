import type { Rule } from '../lint';
import { idempotencyRules } from './idempotency';
import { metaRules } from './meta';

/** Every rule, in documentation order. Rule ids are stable: configuration and ignore comments use them. */
export const ALL_RULES: readonly Rule[] = [...metaRules, ...idempotencyRules];

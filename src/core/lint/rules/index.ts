import type { Rule } from '../lint';
import { dataLossRules } from './dataLoss';
import { idempotencyRules } from './idempotency';
import { lockingRules } from './locking';
import { metaRules } from './meta';
import { schemaRules } from './schema';
import { styleRules } from './style';
import { transactionRules } from './transactions';

/** Every rule, in documentation order. Rule ids are stable: configuration and ignore comments use them. */
export const ALL_RULES: readonly Rule[] = [...metaRules, ...idempotencyRules, ...dataLossRules, ...styleRules, ...transactionRules, ...lockingRules, ...schemaRules];

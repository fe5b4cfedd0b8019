import type { MessageKey } from './en';

/** A locale's messages: exactly the English keys, each an ICU MessageFormat string. */
export type Catalogue = Record<MessageKey, string>;

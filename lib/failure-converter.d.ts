import type { FailureConverter } from '@temporalio/common';

/** Encodes failure messages and stacks so the payload codec covers them; refusals stay readable. */
export declare const failureConverter: FailureConverter;

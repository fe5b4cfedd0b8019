import type { PayloadConverter } from '@temporalio/common';

/** The encoding of the content-free marker a worker's codec leaves where it refused a payload. */
export declare const REFUSED_ENCODING: string;
/** Metadata key of the marker's reason (the codec's error message, which never quotes the payload). */
export declare const REASON_METADATA: string;
/** The ApplicationFailure type of every refusal (readable, unlike other failure messages). */
export declare const REFUSED_FAILURE_TYPE: 'PayloadRefused';
/** Why a converted value was refused, or undefined for an ordinary value. */
export declare function refusedReason(value: unknown): string | undefined;
export declare const payloadConverter: PayloadConverter;

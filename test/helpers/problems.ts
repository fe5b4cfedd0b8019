/** What an RFC 9457 problem answer of the JSON APIs looks like (api/http/problems.ts), for assertions. */
import { STATUS_CODES } from 'node:http';
import { expect } from 'vitest';

/** The problem for `status`; with `fields`, its `errors` name exactly those fields, in that order. */
export function problemOf(status: number, fields?: string[], detail?: string) {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status],
    status,
    ...(detail ? { detail } : {}),
    ...(fields ? { errors: fields.map((name) => expect.objectContaining({ name })) } : {}),
  };
}

/**
 * Turning a zod error into words for whoever must fix the input: field paths from the schema (unknown keys
 * are reported on their parent) and zod's own messages, never a value from the input, which may be a
 * secret or PII.
 */
import type { z } from 'zod';

const pathOf = (issue: z.core.$ZodIssue) => issue.path.join('.') || 'body';

/** The distinct fields that are wrong, for a 400 answer that names them. */
export function invalidFields(error: z.ZodError): string[] {
  return [...new Set(error.issues.map(pathOf))];
}

/**
 * "field: what is wrong" per issue. With the input, a field that is absent altogether reads "is required
 * but not set" rather than zod's type message.
 */
export function describeIssues(error: z.ZodError, input?: Record<string, unknown>): string[] {
  return error.issues.map((issue) => {
    const name = pathOf(issue);
    const missing = input !== undefined && issue.code === 'invalid_type' && input[name] === undefined;
    return `${name}: ${missing ? 'is required but not set' : issue.message}`;
  });
}

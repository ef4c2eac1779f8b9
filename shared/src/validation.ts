import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** One entry of a `ValidationError`'s `details`: which field, and what is wrong with it. */
export interface FieldProblem {
  /** Dotted path of the field (`tags.3`); `(body)` for the value as a whole. */
  field: string;
  message: string;
}

/**
 * Parses `input` with `schema`, or throws a `ValidationError` (400) whose `details` name every
 * offending field, so a client fixes them all in one go. For request bodies and job data.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, message = 'Request is invalid'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details: FieldProblem[] = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  throw new ValidationError(message, details);
}

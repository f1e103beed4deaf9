import type { z } from 'zod';

/**
 * Where a schema issue is, as path segments. For an unknown key that is the key itself (zod reports the object
 * holding it), so "advertisements.0.bogusField" names the field a person has to fix.
 */
export function issuePath(issue: z.core.$ZodIssue): PropertyKey[] {
  return issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
}

/** The first issue of a failed validation, as a dotted field and a reason. */
export function firstIssue(error: z.ZodError): { field: string; reason: string } {
  const [issue] = error.issues;
  if (!issue) return { field: '', reason: 'is not valid' };
  return { field: issuePath(issue).map(String).join('.'), reason: issue.message };
}

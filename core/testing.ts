/**
 * Helpers for tests in every folder (core imports nothing, so any test may import this). Tests
 * assert catalogue codes, never message text.
 */
import { isTongxiangError } from './errors.ts';

/** The catalogue code `promise` rejects with, or `resolved`; anything that is not a TongxiangError is rethrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (isTongxiangError(error)) return error.code;
    throw error;
  }
}

/** The catalogue code `run` throws, or `returned`. */
export function codeOfCall(run: () => unknown): string {
  try {
    run();
    return 'returned';
  } catch (error) {
    if (isTongxiangError(error)) return error.code;
    throw error;
  }
}

/**
 * Passwords: argon2id with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane), stored as
 * PHC strings. The policy names the rule a weak password breaks.
 */
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id (a const enum, which type stripping cannot read).
const ARGON2ID = 2;

const PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MAX_LENGTH = 1024;

export type PasswordRule = 'min_length' | 'max_length' | 'uppercase' | 'digit' | 'special';

const RULES: Array<{ rule: PasswordRule; ok: (p: string) => boolean; message: string }> = [
  { rule: 'min_length', ok: (p) => [...p].length >= 8, message: 'at least 8 characters' },
  { rule: 'max_length', ok: (p) => p.length <= PASSWORD_MAX_LENGTH, message: `at most ${PASSWORD_MAX_LENGTH} characters` },
  { rule: 'uppercase', ok: (p) => /\p{Lu}/u.test(p), message: 'an upper-case letter' },
  { rule: 'digit', ok: (p) => /\p{Nd}/u.test(p), message: 'a digit' },
  { rule: 'special', ok: (p) => /[^\p{L}\p{N}]/u.test(p), message: 'a special character (not a letter or digit)' },
];

/** The first rule the password breaks, or null when it is strong enough. */
export function weakPasswordRule(password: string): { rule: PasswordRule; message: string } | null {
  const broken = RULES.find((r) => !r.ok(password));
  return broken ? { rule: broken.rule, message: `The password needs ${broken.message}` } : null;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the same work as a real verification, for logins whose tenant or email is unknown, so
 * they answer in about the same time as a wrong password.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword('dummy-password-for-timing-Aa1!');
  await verifyPassword(await dummyHash, password);
  return false;
}

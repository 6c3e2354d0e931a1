/**
 * Tests that need a component get it from `npm test`'s stack (scripts/test.ts exports its
 * addresses). Outside that stack they fail loudly instead of skipping.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: this test needs the real stack that \`npm test\` starts (run the suite with npm test)`);
  }
  return value;
}

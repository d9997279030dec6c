// Kept in step with package.json by test/version.test.ts; a bundled CLI cannot read package.json.
export const INFERGATE_VERSION = '0.1.0'

// The README is the CLI's reference: every flag of every command must be in it, and the
// version the CLI reports must be the package's.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { benchSpec } from '../cli/commands/bench.ts'
import { compareSpec } from '../cli/commands/compare.ts'
import { demoSpec } from '../cli/commands/demo.ts'
import { engineSimSpec } from '../cli/commands/engine-sim.ts'
import { migrateSpec, serveSpec } from '../cli/commands/serve.ts'
import { INFERGATE_VERSION } from '../core/version.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('README', () => {
  for (const spec of [benchSpec, engineSimSpec, compareSpec, serveSpec, migrateSpec, demoSpec]) {
    it(`documents every flag of infergate ${spec.name}`, () => {
      const section = readme.slice(readme.indexOf(`### \`infergate ${spec.name}\``))
      for (const flag of Object.keys(spec.flags)) expect(section, flag).toContain(`--${flag}`)
    })
  }

  it('has a quick start with exactly two commands', () => {
    const quick = readme.slice(readme.indexOf('## Quick start'))
    const block = quick.slice(quick.indexOf('```sh') + 5, quick.indexOf('```', quick.indexOf('```sh') + 5))
    const commands = block
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
    expect(commands).toEqual(['npm ci && npm start', 'npm test'])
  })
})

it('the CLI reports the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  expect(INFERGATE_VERSION).toBe(pkg.version)
})

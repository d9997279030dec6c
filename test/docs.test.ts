// The README is the CLI's reference: every flag of every command must be in it, and the
// version the CLI reports must be the package's.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse, parseDocument } from 'yaml'
import { benchSpec } from '../cli/commands/bench.ts'
import { compareSpec } from '../cli/commands/compare.ts'
import { demoSpec } from '../cli/commands/demo.ts'
import { engineSimSpec } from '../cli/commands/engine-sim.ts'
import { exportSpec } from '../cli/commands/export.ts'
import { importSpec } from '../cli/commands/import.ts'
import { migrateSpec, serveSpec } from '../cli/commands/serve.ts'
import { uploadSpec } from '../cli/commands/upload.ts'
import { validateSpec } from '../cli/commands/validate.ts'
import { INFERGATE_VERSION } from '../core/version.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('README', () => {
  for (const spec of [
    benchSpec,
    engineSimSpec,
    compareSpec,
    uploadSpec,
    importSpec,
    exportSpec,
    validateSpec,
    serveSpec,
    migrateSpec,
    demoSpec,
  ]) {
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

const action = parse(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
  runs: { using: string; main: string; post: string }
}

describe('the Action', () => {
  it('runs on node24 with a main and a post entry', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/action/main.js', post: 'dist/action/post.js' })
  })

  it('documents every input and output in the README and docs/action.md', () => {
    const doc = readFileSync(new URL('../docs/action.md', import.meta.url), 'utf8')
    for (const name of [...Object.keys(action.inputs), ...Object.keys(action.outputs)]) {
      expect(doc, name).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'))
      expect(readme, name).toContain(`\`${name}\``)
    }
  })

  it("the docs' workflows are valid YAML, use only the Action's inputs and grant what it needs", () => {
    const dir = new URL('../docs/workflows/', import.meta.url)
    const files = readdirSync(dir).filter((f) => f.endsWith('.yml'))
    expect(files.sort()).toEqual(['benchmark-on-request.yml', 'nightly.yml', 'pr-gate.yml'])
    for (const f of files) {
      const doc = parseDocument(readFileSync(new URL(f, dir), 'utf8'))
      expect(doc.errors, f).toEqual([])
      const wf = doc.toJS() as {
        on: Record<string, unknown>
        permissions: Record<string, string>
        jobs: Record<
          string,
          { 'runs-on': unknown; steps: { uses?: string; with?: Record<string, unknown> }[] }
        >
      }
      expect(wf.permissions, f).toMatchObject({ statuses: 'write', checks: 'write' })
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps)
      const ours = steps.filter((s) => s.uses?.startsWith('infergate/infergate@'))
      expect(ours, f).toHaveLength(1)
      for (const key of Object.keys(ours[0]!.with ?? {}))
        expect(Object.keys(action.inputs), `${f}: ${key}`).toContain(key)
      // No stored service token: the job's OIDC token is the credential, and needs the permission.
      const inputs = ours[0]!.with ?? {}
      if ('service-url' in inputs && !('service-token' in inputs))
        expect(wf.permissions, f).toMatchObject({ 'id-token': 'write' })
      expect(inputs, f).not.toHaveProperty('service-token')
    }
    const pr = parse(readFileSync(new URL('pr-gate.yml', dir), 'utf8')) as { on: object; permissions: object }
    expect(Object.keys(pr.on)).toContain('pull_request')
    expect(pr.permissions).toMatchObject({ 'pull-requests': 'write' })
    const nightly = parse(readFileSync(new URL('nightly.yml', dir), 'utf8')) as {
      on: { schedule: unknown[] }
    }
    expect(nightly.on.schedule).toHaveLength(1)
  })
})

interface Workflow {
  on: Record<string, Record<string, unknown> | null>
  concurrency?: unknown
  jobs: Record<string, { if?: string; steps: { uses?: string; with?: Record<string, unknown> }[] }>
}
const workflow = (name: string) =>
  parse(readFileSync(new URL(`../docs/workflows/${name}`, import.meta.url), 'utf8')) as Workflow
const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8')

// The workflows are meant to be copied: each deploys an image a PR can name, with the
// repository's secrets, on a runner that can reach the cluster.
describe("the docs' workflows are safe to copy", () => {
  it("/benchmark runs for the repository's own people only, on the commit they reviewed", () => {
    const wf = workflow('benchmark-on-request.yml')
    expect(Object.keys(wf.on)).toEqual(['issue_comment'])
    const job = wf.jobs.benchmark!
    // Every condition must hold: one || would let anyone in.
    expect(job.if).not.toContain('||')
    const allowed = job.if?.match(
      /&&\s*contains\(fromJSON\('(\[[^']*\])'\),\s*github\.event\.comment\.author_association\)$/,
    )
    expect(JSON.parse(allowed?.[1] ?? '[]').sort()).toEqual(['COLLABORATOR', 'MEMBER', 'OWNER'])
    // The code checked out is the commit the first step checked, never a ref that can move.
    const checkout = job.steps.find((s) => s.uses?.startsWith('actions/checkout@'))
    expect(checkout?.with?.ref).toMatch(/^\$\{\{ steps\.pr\.outputs\.sha \}\}$/)
    // Every comment starts the workflow: a workflow-level group would let any cancel a run.
    expect(wf.concurrency).toBeUndefined()
    const action = doc('action.md')
    expect(action).toContain('(workflows/benchmark-on-request.yml)')
    for (const said of ['author_association', '`OWNER`, `MEMBER` or `COLLABORATOR`', 'pull_request_target'])
      expect(action, said).toContain(said)
  })

  it("no workflow runs a fork's code with the secrets", () => {
    for (const name of ['benchmark-on-request.yml', 'nightly.yml', 'pr-gate.yml'])
      expect(Object.keys(workflow(name).on), name).not.toContain('pull_request_target')
    expect(workflow('pr-gate.yml').jobs.benchmark!.if).toBe(
      'github.event.pull_request.head.repo.full_name == github.repository',
    )
  })

  it('the PR gate runs on every pull request, as a required check needs', () => {
    // GitHub leaves a required check pending forever on a PR whose workflow a filter skipped.
    const trigger = workflow('pr-gate.yml').on.pull_request ?? {}
    for (const filter of ['paths', 'paths-ignore', 'branches', 'branches-ignore'])
      expect(trigger, filter).not.toHaveProperty(filter)
    const github = doc('github.md')
    const advice = github.slice(github.indexOf('Require `infergate/<benchmark>`'))
    expect(advice.slice(0, 1200)).toContain('`paths:`')
  })
})

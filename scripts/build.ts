// The one build: bundles the CLI and the Action entries into dist/ (committed; CI fails when
// it is stale). ESM, because @actions/core 3 is ESM-only.
import { build } from 'esbuild'

const banner = {
  // Bundled CommonJS dependencies may call require(); give them one.
  js: "import { createRequire as __infergateRequire } from 'node:module'; const require = __infergateRequire(import.meta.url);",
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  legalComments: 'none',
  // Minified: dist/ is committed, and every rebuild's diff counts.
  minify: true,
  logLevel: 'warning',
} as const

await build({
  ...common,
  // The load worker is its own file beside each bundle (core/bench/workers.ts finds it there).
  entryPoints: { infergate: 'cli/main.ts', 'load-worker': 'core/bench/load-worker.ts' },
  outdir: 'dist',
  // PGlite loads its WebAssembly and data files from beside its own module: it stays a
  // dependency, imported from node_modules at run time.
  external: ['@electric-sql/pglite'],
  banner, // cli/main.ts's own shebang is kept by esbuild
})
await build({
  ...common,
  entryPoints: {
    'action/main': 'action/main.ts',
    'action/post': 'action/post.ts',
    'action/load-worker': 'core/bench/load-worker.ts',
  },
  outdir: 'dist',
  banner,
})

// The dashboard's static files beside the CLI's bundle (service/web/assets.ts serves them from
// dist/web/): no CDN at run time, and no node_modules needed for them.
const { ASSET_FILES } = await import('../service/web/assets.ts')
const { copyFileSync, mkdirSync } = await import('node:fs')
mkdirSync('dist/web', { recursive: true })
for (const [name, source] of Object.entries(ASSET_FILES)) copyFileSync(source(), `dist/web/${name}`)

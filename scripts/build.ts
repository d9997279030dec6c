// The one build: bundles the CLI and the Action entries into dist/ (committed; CI fails when
// it is stale). ESM, because @actions/core 3 is ESM-only. dist/infergate.js is the package's bin
// (a Node version check), dist/cli.js the CLI's bundle it loads, dist/action/ the Action's.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
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
  entryPoints: { cli: 'cli/main.ts', 'load-worker': 'core/bench/load-worker.ts' },
  outdir: 'dist',
  // PGlite loads its WebAssembly and data files from beside its own module: it stays a
  // dependency, imported from node_modules at run time. package.json bundles it into the
  // packed package (bundleDependencies), so installing the tarball needs no registry.
  external: ['@electric-sql/pglite'],
  banner,
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

// The bin, dist/infergate.js: a check of the Node version, then the CLI. An ES module's static
// imports are all evaluated before its first line runs, so the check cannot live in the bundle:
// on an older Node the bundle may fail anywhere, or half-work (Node 20 runs `--help`, `bench` and
// `serve` today, untested and unsupported). The check is plain old JavaScript that any Node with
// dynamic import() parses, and the bundle loads only past it. Its first line is cli/main.ts's
// (the V8 flag npm's bin link runs Node with); the version is package.json's engines.node.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }
const need = Number(pkg.engines.node.match(/^>=\s*(\d+)$/)?.[1])
if (!need) throw new Error(`package.json engines.node: expected ">=N", got ${pkg.engines.node}`)
const shebang = readFileSync('cli/main.ts', 'utf8').split('\n')[0]!
if (!shebang.startsWith('#!')) throw new Error(`cli/main.ts: expected a #! first line, got ${shebang}`)
const bin = `${shebang}
// infergate's bin, written by scripts/build.ts: the Node version check, then the CLI (cli.js).
var need = ${need};
var major = Number(process.versions.node.split('.')[0]);
if (!(major >= need)) {
  var args = process.argv.slice(2).map(function (a) {
    return /^[\\w@%+=:,./-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\\\''") + "'";
  });
  process.stderr.write(
    'infergate needs Node.js ' + need + ' or newer (this is ' + process.versions.node + ', ' + process.execPath + ').\\n' +
      'Install it from https://nodejs.org, or run infergate with Node ' + need + ' from npm:\\n' +
      '  npx -p node@' + need + ' -- infergate' + (args.length ? ' ' + args.join(' ') : '') + '\\n',
  );
  process.exit(1);
}
import('./cli.js');
`
writeFileSync('dist/infergate.js', bin)
chmodSync('dist/infergate.js', 0o755)

// The dashboard's static files beside the CLI's bundle (service/web/assets.ts serves them from
// dist/web/): no CDN at run time, and no node_modules needed for them.
const { ASSET_FILES } = await import('../service/web/assets.ts')
mkdirSync('dist/web', { recursive: true })
for (const [name, source] of Object.entries(ASSET_FILES)) copyFileSync(source(), `dist/web/${name}`)

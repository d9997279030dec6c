// The dashboard's static files, served by the service itself: no CDN, so the pages work in an
// air-gapped cluster. From the sources they are read where they live (uPlot from node_modules);
// the bundle carries copies beside itself in dist/web/ (scripts/build.ts puts them there).
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Hono } from 'hono'

const FROM_SOURCES = import.meta.url.endsWith('.ts')

/** Each asset's name in URLs (and in dist/web/), and where the sources keep it. */
export const ASSET_FILES = {
  'uPlot.js': () => createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.css': () => createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'),
  'dashboard.js': () => fileURLToPath(new URL('./client/dashboard.js', import.meta.url)),
  'dashboard.css': () => fileURLToPath(new URL('./client/dashboard.css', import.meta.url)),
} as const
export type AssetName = keyof typeof ASSET_FILES

interface Asset {
  body: Buffer
  type: string
  /** A short content hash: the URL's version, so an asset can be cached for good. */
  hash: string
}

const cache = new Map<AssetName, Asset>()

function asset(name: AssetName): Asset {
  let a = cache.get(name)
  if (!a) {
    const path = FROM_SOURCES ? ASSET_FILES[name]() : fileURLToPath(new URL(`./web/${name}`, import.meta.url))
    const body = readFileSync(path)
    const type = name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8'
    a = { body, type, hash: createHash('sha256').update(body).digest('base64url').slice(0, 12) }
    cache.set(name, a)
  }
  return a
}

/** The versioned URL of an asset, for the pages. */
export function assetUrl(name: AssetName): string {
  return `/assets/${name}?v=${asset(name).hash}`
}

export const assets = new Hono()

assets.get('/:name', (c) => {
  const name = c.req.param('name')
  if (!Object.hasOwn(ASSET_FILES, name)) return c.text('not found', 404)
  const a = asset(name as AssetName)
  const versioned = c.req.query('v') === a.hash
  return c.body(new Uint8Array(a.body), 200, {
    'content-type': a.type,
    // A versioned URL never changes content; an unversioned one may after an upgrade.
    'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag: `"${a.hash}"`,
  })
})

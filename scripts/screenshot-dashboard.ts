// The README's picture of the dashboard, made from the demo so it can be made again: runs
// `infergate demo` (what `npm start` runs), opens the signed link it ends with in Debian's
// chromium, and saves the comparison page to docs/images/dashboard-run.png.
//   npm run screenshot   (needs /usr/bin/chromium, or INFERGATE_CHROMIUM)
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { chromium } from 'playwright-core'

const executablePath = process.env.INFERGATE_CHROMIUM ?? '/usr/bin/chromium'
const OUT = 'docs/images/dashboard-run.png'

const demo = spawn(process.execPath, ['cli/main.ts', 'demo'], { stdio: ['ignore', 'pipe', 'inherit'] })
const link = await new Promise<string>((resolve, reject) => {
  let next = false
  demo.once('exit', (code) => reject(new Error(`the demo exited (${code}) before it printed its link`)))
  createInterface({ input: demo.stdout! }).on('line', (line) => {
    process.stdout.write(`${line}\n`)
    if (next && line.startsWith('  http')) resolve(line.trim())
    next ||= line.includes('The dashboard')
  })
})
try {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
  // The head of the page: the verdict, the comparison table and the first distributions.
  const page = await browser.newPage({ viewport: { width: 1280, height: 1500 }, deviceScaleFactor: 1 })
  await page.goto(link)
  await page.waitForSelector('figure[data-chart=ecdf][data-points] canvas')
  await page.screenshot({ path: OUT })
  await browser.close()
  process.stdout.write(`saved ${OUT}\n`)
} finally {
  demo.kill('SIGTERM')
}

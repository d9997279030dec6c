// An event as a Slack message: {"text", "blocks"} for an incoming webhook
// (https://api.slack.com/messaging/webhooks). `text` is the notification's fallback and what
// screen readers say; the blocks lay out the same thing with a link to the run. Both are mrkdwn:
// text from reports (benchmark and branch names) is escaped as Slack asks, &, < and > only
// (https://api.slack.com/reference/surfaces/formatting#escaping).
import type { WebhookEvent } from './event.ts'

type Event = Omit<WebhookEvent, 'sent_at'>

const mrkdwn = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

// Slack's limits: a section's text holds 3,000 characters, a button's URL 3,000.
const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`)

const HEADLINE: Record<Event['event'], string> = {
  regression: '🔴 Regression',
  recovery: '🟢 Recovered',
  test: '🔔 Test',
}

export function slackMessage(e: Event): { text: string; blocks: unknown[] } {
  const project = `${e.project.owner}/${e.project.repo}`
  const where = e.pr_number !== null ? `PR #${e.pr_number}` : e.branch ? e.branch : null
  const subject = [e.benchmark, where].filter(Boolean).join(' on ')
  const text = `${HEADLINE[e.event]} · ${project}${subject ? ` · ${subject}` : ''}: ${e.summary}`
  const title = [
    `*${HEADLINE[e.event]}*`,
    e.benchmark ? `\`${mrkdwn(e.benchmark)}\`` : null,
    `in ${mrkdwn(project)}`,
    where ? `(${mrkdwn(where)})` : null,
  ]
    .filter(Boolean)
    .join(' ')
  const facts = [
    e.sha ? `commit \`${mrkdwn(e.sha.slice(0, 7))}\`` : null,
    e.pr_number !== null && e.branch ? `branch \`${mrkdwn(e.branch)}\`` : null,
    e.recovered_from
      ? `regressed in \`${mrkdwn((e.recovered_from.sha ?? e.recovered_from.run_id).slice(0, 7))}\``
      : null,
  ].filter((f): f is string => f !== null)
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(`${title}\n${mrkdwn(e.summary)}`, 3000) } },
  ]
  if (facts.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: facts.join(' · ') }] })
  if (e.url && e.url.length <= 3000) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'View the run' }, url: e.url }],
    })
  }
  return { text: cut(mrkdwn(text), 3000), blocks }
}

// The sign-in form and the page of a refusal (expired link, not found): plain pages, no script.
import { html } from '../html.ts'
import { type Html, page } from '../layout.ts'

export function signInPage(next: string, error: string | null): Html {
  return page(
    { title: 'Sign in' },
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/sign-in" class="sign-in">
<label>Project token <input type="password" name="token" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="${next}">
<button type="submit">Sign in</button>
</form>
<p class="muted">The token <code>POST /api/v1/projects</code> answered with (also the Action's <code>token</code> input). It is kept in a cookie no script can read.</p>`,
  )
}

export function errorPage(title: string, message: string, signedIn: boolean): Html {
  return page(
    { title, signedIn },
    html`<p class="error">${message}</p><p><a href="/">Back to the start</a></p>`,
  )
}

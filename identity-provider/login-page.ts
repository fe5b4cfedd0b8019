/** The sign-in page of the identity provider's login interaction: no script, every value escaped. */
const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function loginPage(view: { uid: string; client: string; error?: string; username?: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Operator sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Operator sign-in</h1>
<p>Sign in to continue to <strong>${esc(view.client)}</strong>.</p>
${view.error ? `<p id="error" role="alert">${esc(view.error)}</p>` : ''}
<form method="post" action="/interaction/${esc(view.uid)}/login" autocomplete="off">
  <label for="username">User name</label>
  <input id="username" name="username" required autofocus value="${esc(view.username ?? '')}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button type="submit" id="sign-in">Sign in</button>
</form>
</body></html>
`;
}

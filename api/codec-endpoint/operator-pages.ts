/**
 * The codec endpoint's operator login pages. Mustache with `{{ }}` only, so every value is escaped; the one
 * inline style carries the response's CSP nonce, and there is no script.
 */
import { renderPage } from '../http/html-layout';

const STYLE = `  label { display: block; margin: 1rem 0 .3rem; }
  input { font: inherit; padding: .5rem; width: 100%; max-width: 24rem; box-sizing: border-box; }
  button { margin-top: 1rem; }
  .error { color: #b3261e; }`;

const HEADING = '<h1>{{title}}</h1>\n';

const LOGIN = `<p>Sign in to let the Temporal UI decode order payloads in this browser.</p>
{{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
<form method="post" action="/codec/login">
  <label for="password">Operator password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
  <button type="submit" id="sign-in">Sign in</button>
</form>
`;

const SIGNED_IN = `<p id="signed-in">You are signed in to the codec endpoint until {{until}}.</p>
<p>Open the <a href="{{uiUrl}}">Temporal UI</a>. Once per browser, in its <em>Codec Server</em> settings (top
right), tick <em>Use my browser setting</em>, enter the endpoint <code>{{endpoint}}</code>, tick
<em>Include cross-origin credentials</em> and save. Then reload the workflow page.</p>
<form method="post" action="/codec/logout"><button type="submit" id="sign-out">Sign out</button></form>
<p class="note">Decoded payloads contain customer data. Sign out when you are done.</p>
`;

const SIGNED_OUT = `<p id="signed-out">You are signed out. The Temporal UI shows encrypted payloads again after a reload.</p>
<p><a href="/codec/login">Sign in again</a></p>
`;

function render(title: string, nonce: string, body: string, view: object): string {
  return renderPage({ body: HEADING + body, style: STYLE }, { title, nonce, ...view });
}

export function loginPage(nonce: string, error?: string): string {
  return render('Codec endpoint: operator sign-in', nonce, LOGIN, { error });
}

export function signedInPage(nonce: string, view: { until: Date; uiUrl: string; endpoint: string }): string {
  return render('Codec endpoint: signed in', nonce, SIGNED_IN, {
    until: `${view.until.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    uiUrl: view.uiUrl,
    endpoint: view.endpoint,
  });
}

export function signedOutPage(nonce: string): string {
  return render('Codec endpoint: signed out', nonce, SIGNED_OUT, {});
}

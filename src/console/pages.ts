// The console's two HTML documents: the sign-in form (plain HTML, works without scripts) and the
// shell every console page loads its bundled script into.
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const style = `body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
.signin{max-width:380px;margin:12vh auto;background:#fff;padding:28px;border-radius:8px;box-shadow:0 1px 4px #0002}
.signin input{width:100%;box-sizing:border-box;padding:8px;margin:8px 0 14px;font:inherit}
.signin button{padding:8px 16px;font:inherit}.error{color:#b00020;margin:0 0 10px}`;

/** `next` is where to go once signed in (a console path); `error` says why the last try failed. */
export function signInPage(next: string, error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Sandcastle</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${style}</style></head><body>
<form class="signin" method="post" action="/dashboard/login">
<h1>Sandcastle console</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Sign in</button>
<p><small>The key is in <code>&lt;data dir&gt;/api-key</code>, or made with <code>sandcastle keys create</code>.</small></p>
</form></body></html>`;
}

/** The page shell: the script reads the path and draws the page. */
export function appPage(keysChecked: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandcastle</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="stylesheet" href="/dashboard/assets/console.css"></head>
<body data-keys-checked="${keysChecked}"><div id="app"></div>
<script type="module" src="/dashboard/assets/console.js"></script></body></html>`;
}

/** Only a path inside the console is followed after sign-in (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && /^\/dashboard(\/[\w\-./]*)?(\?[\w\-.=&%]*)?$/.test(next) && !next.includes('..') ? next : '/dashboard';
}

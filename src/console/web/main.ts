// The console's script: draws the page the path names (pages are plain paths the server answers
// with the same shell, so links and reloads work).
import './console.css';
import { h } from './dom.js';
import { sandboxPage } from './sandbox-page.js';
import { sandboxesPage } from './sandboxes-page.js';

function header(): HTMLElement {
  const signOut = h('form', { method: 'post', action: '/dashboard/logout' }, h('button', { type: 'submit' }, 'Sign out'));
  if (document.body.dataset.keysChecked !== 'true') signOut.hidden = true;
  return h('header', {}, h('a', { href: '/dashboard', class: 'brand' }, 'Sandcastle'), h('nav', {}, h('a', { href: '/dashboard' }, 'Sandboxes')), signOut);
}

const app = document.getElementById('app')!;
const main = h('main');
app.append(header(), main);
const inspect = /^\/dashboard\/inspect\/sandbox\/([a-z0-9]+)\/?$/.exec(location.pathname);
if (inspect) sandboxPage(main, inspect[1]!);
else if (location.pathname === '/dashboard' || location.pathname === '/dashboard/') sandboxesPage(main);
else main.append(h('h1', {}, 'Not found'), h('p', {}, `There is no console page at ${location.pathname}.`));

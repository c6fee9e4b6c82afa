// The console's script: draws the page the path names (pages are plain paths the server answers
// with the same shell, so links and reloads work).
// All styles are imported here so that they make one stylesheet; a sandbox's page (xterm.js,
// uPlot) is loaded only when one is opened, which keeps the table's first load small.
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { h, notify } from './dom.js';
import { keysPage, snapshotsPage, templatePage, templatesPage, volumesPage } from './resources-pages.js';
import { sandboxesPage } from './sandboxes-page.js';

function header(): HTMLElement {
  const signOut = h('form', { method: 'post', action: '/dashboard/logout' }, h('button', { type: 'submit' }, 'Sign out'));
  if (document.body.dataset.keysChecked !== 'true') signOut.hidden = true;
  const nav = h('nav', {}, ...[['Sandboxes', ''], ['Templates', '/templates'], ['Snapshots', '/snapshots'], ['Volumes', '/volumes'], ['API keys', '/keys']].map(([label, p]) => h('a', { href: `/dashboard${p}` }, label!)));
  return h('header', {}, h('a', { href: '/dashboard', class: 'brand' }, 'Sandcastle'), nav, signOut);
}

const app = document.getElementById('app')!;
const main = h('main');
app.append(header(), main);
const path = location.pathname.replace(/\/$/, '');
const inspect = /^\/dashboard\/inspect\/sandbox\/([a-z0-9]+)$/.exec(path);
const template = /^\/dashboard\/templates\/([^/]+)$/.exec(path);
const pages: Record<string, (root: HTMLElement) => unknown> = {
  '/dashboard': sandboxesPage,
  '/dashboard/templates': templatesPage,
  '/dashboard/snapshots': snapshotsPage,
  '/dashboard/volumes': volumesPage,
  '/dashboard/keys': keysPage,
};
const draw = async () => {
  if (inspect) (await import('./sandbox-page.js')).sandboxPage(main, inspect[1]!);
  else if (template) await templatePage(main, decodeURIComponent(template[1]!));
  else if (pages[path]) await pages[path](main);
  else main.append(h('h1', {}, 'Not found'), h('p', {}, `There is no console page at ${location.pathname}.`));
};
draw().catch((err: Error) => notify(err.message));

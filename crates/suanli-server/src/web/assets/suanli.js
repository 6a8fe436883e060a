// suanli.js: the one script of Suanli's web UI, a progressive enhancement of server-rendered pages.
//
// Every page works without it: a table's sort headers and pager are links and its filter is a GET
// form (web/table.rs answers them), and live pages are simply reloaded by hand. With it:
// - a table's links and filter fetch the same address and swap only that table's box
//   (`.dt`), keeping the focus, and the address bar follows (so a reload shows the same view);
// - the filter applies as you type, and a column's filter (a choice of its labels) as it changes;
// - a page whose <main> has `data-refresh="N"` (the overview, the wall display, a running job's page)
//   fetches itself every N seconds and swaps <main>'s content, with a pause button and the time
//   of the last update. It skips a round while the tab is hidden or someone is typing in <main>,
//   and stops once a fetched page is no longer live (a job that has ended). After each swap it
//   sends `suanli:refresh`, on which charts.js redraws the page's charts over time;
// - a page opened at a fragment naming a result with tabindex="-1" (the quotes) has it focused.
// The script holds no text of its own: the words come from data-t-* attributes in the page's
// language. It is served by the server itself (/assets/suanli.js), never from another site.
(function () {
  'use strict';

  const parse = (html) => new DOMParser().parseFromString(html, 'text/html');

  /** The page at url as a document; fails on an error or a redirect elsewhere (a lapsed session). */
  async function fetchPage(url) {
    const want = new URL(url, location.href);
    const r = await fetch(want.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (!r.ok || new URL(r.url).pathname !== want.pathname) throw new Error(`${r.status} ${r.url}`);
    return parse(await r.text());
  }

  // ----- tables -----

  const latest = new Map(); // table box id -> the number of its newest request
  let swaps = 0; // tables swapped so far: a page refresh fetched before a swap is stale

  async function swapTable(box, url, focus) {
    const id = box.id;
    const n = (latest.get(id) || 0) + 1;
    latest.set(id, n);
    box.setAttribute('aria-busy', 'true');
    let doc;
    try {
      doc = await fetchPage(url);
    } catch {
      location.assign(url);
      return;
    }
    if (latest.get(id) !== n) return; // a newer request for this table is on its way
    const fresh = doc.getElementById(id);
    const current = document.getElementById(id);
    if (!fresh || !current) {
      location.assign(url);
      return;
    }
    // `focus` 'search' is the table's search box; an input's own selector names another box typed
    // in (such as a column's name filter).
    const boxOf = (root) => (focus === 'search' ? root.querySelector('input[type=search]') : focus && focus.startsWith('input') ? root.querySelector(focus) : null);
    const typed = boxOf(current);
    const caret = typed ? typed.selectionStart : null;
    current.replaceWith(fresh);
    // Keep what was typed while the request was on its way (its own request follows).
    const search = boxOf(fresh);
    if (typed && search && typed.value !== search.value) search.value = typed.value;
    swaps++;
    const u = new URL(url, location.href);
    history.replaceState(history.state, '', u.pathname + u.search + location.hash);
    let el = null;
    if (focus === 'search') el = fresh.querySelector('input[type=search]');
    else if (focus) el = fresh.querySelector(focus);
    if (el) {
      el.focus({ preventScroll: true });
      if (caret != null && el.setSelectionRange) el.setSelectionRange(caret, caret);
    }
    fresh.dispatchEvent(new CustomEvent('suanli:table', { bubbles: true }));
  }

  function formUrl(form) {
    const u = new URL(location.href);
    u.search = new URLSearchParams(new FormData(form)).toString();
    u.hash = '';
    return u.href;
  }

  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('.dt th a.sort, .dt .pager a');
    if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    const focus = a.classList.contains('sort') ? `th a.sort[data-col="${a.dataset.col}"]` : `.pager a[rel="${a.rel}"]`;
    swapTable(a.closest('.dt'), a.href, focus);
  });

  document.addEventListener('submit', (ev) => {
    const form = ev.target.closest && ev.target.closest('form.dt-tools');
    if (!form) return;
    ev.preventDefault();
    swapTable(form.closest('.dt'), formUrl(form), 'search');
  });

  let typing = null;
  document.addEventListener('input', (ev) => {
    const input = ev.target;
    if (!input.matches || !input.matches('form.dt-tools input[type=search]')) return;
    clearTimeout(typing);
    const focus = input.name.endsWith('.q') ? 'search' : `input[name="${input.name}"]`;
    typing = setTimeout(() => swapTable(input.closest('.dt'), formUrl(input.form), focus), 300);
  });

  document.addEventListener('change', (ev) => {
    const select = ev.target;
    if (!select.matches || !select.matches('form.dt-tools select.dt-col')) return;
    swapTable(select.closest('.dt'), formUrl(select.form), `select[name="${select.name}"]`);
  });

  // ----- a result to land on -----
  // A form whose address names a fragment (the quote step posts to /jobs#quote-result) answers
  // with that result marked tabindex="-1". Browsers focus such a target themselves; this makes
  // sure, so that a screen reader reads the result rather than the top of the page.
  function focusTarget() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (!target || target.getAttribute('tabindex') !== '-1') return;
    if (document.activeElement && document.activeElement !== document.body) return;
    target.focus();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', focusTarget);
  else focusTarget();

  // ----- live pages -----

  const main = document.querySelector('main[data-refresh]');
  if (!main) return;
  const every = Math.max(2, Number(main.dataset.refresh) || 10);
  const t = main.dataset;
  const bar = document.createElement('div');
  bar.className = 'live';
  const when = document.createElement('span');
  when.className = 'live-when';
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'live-toggle';
  toggle.setAttribute('aria-pressed', 'false');
  toggle.textContent = t.tPause;
  bar.append(when, ' ', toggle);
  main.before(bar);

  const clock = () => new Date().toLocaleTimeString('en-GB', { timeZone: 'Asia/Shanghai', hour12: false });
  const stamp = () => {
    when.textContent = `${t.tUpdated} ${clock()} (UTC+8) · ${every} ${t.tEvery}`;
  };
  stamp();

  let paused = false;
  let busy = false;
  toggle.addEventListener('click', () => {
    paused = !paused;
    toggle.setAttribute('aria-pressed', String(paused));
    toggle.textContent = paused ? t.tResume : t.tPause;
    bar.classList.toggle('paused', paused);
  });

  async function refresh() {
    if (paused || busy || document.hidden) return;
    const active = document.activeElement;
    if (active && main.contains(active) && active.matches('input, select, textarea')) return;
    busy = true;
    const before = swaps;
    try {
      const doc = await fetchPage(location.href);
      const fresh = doc.querySelector('main');
      if (!fresh || paused || swaps !== before) return;
      if (!fresh.hasAttribute('data-refresh')) {
        // What the page shows can no longer change (a job that ended): show it once more and stop.
        clearInterval(timer);
        bar.hidden = true;
      }
      const focusId = active && main.contains(active) ? active.id : '';
      main.innerHTML = fresh.innerHTML;
      main.dataset.refreshed = String((Number(main.dataset.refreshed) || 0) + 1);
      document.dispatchEvent(new CustomEvent('suanli:refresh')); // charts.js redraws the new charts
      if (focusId) document.getElementById(focusId)?.focus({ preventScroll: true });
      stamp();
    } catch {
      // The next round tries again; a lapsed session shows when the person reloads.
    } finally {
      busy = false;
    }
  }
  const timer = setInterval(refresh, every * 1000);
})();

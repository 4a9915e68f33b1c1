/* app.js — correu webmail front end. Talks to the JSON API under /api/,
 * renders mail text with textContent only and mail HTML, after DOMPurify,
 * in a sandboxed srcdoc iframe (no scripts, no same-origin) under a
 * strict Content-Security-Policy with remote images blocked until the
 * user allows them. */
'use strict';

const $ = (id) => document.getElementById(id);
const ROW_H = 56;
const PAGE = 100;

const state = {
	csrf: null,
	user: null,
	folders: [],
	folder: 'INBOX',
	total: 0,
	rows: new Map(),		/* index -> message summary */
	pending: new Set(),		/* page offsets being fetched */
	generation: 0,			/* bumps when the list changes */
	current: null,			/* {folder, uid, index, msg} */
	selected: new Set(),		/* uids */
	search: {},
	uploads: [],
	compose: null,			/* {in_reply_to, references, draft_uid, forward, answered} */
	events: null,
	allowRemote: false,
};

async function api(path, opts = {}) {
	const init = { method: opts.method || 'GET', headers: {}, credentials: 'same-origin' };
	if (opts.json !== undefined) {
		init.method = 'POST';
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(opts.json);
	}
	if (opts.body !== undefined) {
		init.method = 'POST';
		init.headers['Content-Type'] = 'application/octet-stream';
		init.body = opts.body;
	}
	if (init.method === 'POST' && state.csrf)
		init.headers['X-CSRF-Token'] = state.csrf;
	const res = await fetch(path, init);
	let data = null;
	try { data = await res.json(); } catch (e) { data = null; }
	if (res.status === 401 && path !== '/api/login' && path !== '/api/session') {
		showLogin('Your session has ended. Please log in again.');
		throw new Error('not logged in');
	}
	if (!res.ok)
		throw new Error((data && data.error) || res.statusText);
	return data;
}

function qs(params) {
	return Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')
		.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
}

function toast(text) {
	const t = $('toast');
	t.textContent = text;
	t.hidden = false;
	clearTimeout(toast.timer);
	toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}

function el(tag, props = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (k === 'class') e.className = v;
		else if (k === 'text') e.textContent = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v);
	}
	for (const c of children) e.append(c);
	return e;
}

function fmtAddr(list) {
	return (list || []).map((a) => a.name ? `${a.name} <${a.email}>` : a.email).join(', ');
}

function fmtDate(s) {
	const d = new Date(s);
	if (isNaN(d)) return s || '';
	const now = new Date();
	if (d.toDateString() === now.toDateString())
		return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
	return d.toLocaleDateString();
}

/* ---- login ---- */

function showLogin(message) {
	if (state.events) { state.events.close(); state.events = null; }
	state.csrf = null;
	$('app').hidden = true;
	$('login').hidden = false;
	$('login-error').textContent = message || '';
	$('login-user').focus();
}

async function start(session) {
	state.csrf = session.csrf;
	state.user = session.user;
	$('user').textContent = session.user;
	$('login').hidden = true;
	$('app').hidden = false;
	$('threads').disabled = session.thread === false;
	connectEvents();
	await loadFolders();
	await openFolder('INBOX');
}

$('login-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	$('login-error').textContent = '';
	$('login-submit').disabled = true;
	try {
		const s = await api('/api/login', { json: { user: $('login-user').value, password: $('login-password').value } });
		$('login-password').value = '';
		await start(s);
	} catch (e) {
		$('login-error').textContent = e.message;
	} finally {
		$('login-submit').disabled = false;
	}
});

$('logout-btn').addEventListener('click', async () => {
	try { await api('/api/logout', { json: {} }); } catch (e) { /* gone anyway */ }
	state.rows.clear();
	$('list-inner').replaceChildren();
	$('reader').hidden = true;
	showLogin('You have logged out.');
});

/* ---- live updates ---- */

function connectEvents() {
	if (state.events) state.events.close();
	const es = new EventSource('/api/events');
	es.addEventListener('change', () => refresh());
	es.addEventListener('logout', () => showLogin('Your session has ended.'));
	state.events = es;
}

let refreshTimer = null;
function refresh() {
	clearTimeout(refreshTimer);
	refreshTimer = setTimeout(async () => {
		await loadFolders();
		reloadList();
	}, 150);
}

/* ---- folders ---- */

async function loadFolders() {
	const data = await api('/api/folders');
	state.folders = data.folders;
	const ul = $('folder-list');
	ul.replaceChildren();
	for (const f of state.folders) {
		const li = el('li', { 'data-folder': f.id, class: f.id === state.folder ? 'current' : '' },
			el('span', { class: 'name', text: f.name }));
		if (f.unseen > 0) li.append(el('span', { class: 'unread', text: String(f.unseen) }));
		if (!f.noselect) li.addEventListener('click', () => { openFolder(f.id); document.querySelector('.app').classList.remove('show-folders'); });
		ul.append(li);
	}
	for (const sel of [$('move-select'), $('copy-select'), $('bulk-move')]) {
		const first = sel.options[0];
		sel.replaceChildren(first);
		for (const f of state.folders)
			if (!f.noselect) sel.append(el('option', { value: f.id, text: f.name }));
	}
}

function special(use) {
	const f = state.folders.find((x) => x.special === use);
	return f ? f.id : null;
}

async function openFolder(id) {
	state.folder = id;
	state.search = {};
	$('search-input').value = '';
	for (const li of $('folder-list').children)
		li.classList.toggle('current', li.dataset.folder === id);
	closeReader();
	await reloadList(true);
}

$('folder-new').addEventListener('click', async () => {
	const name = prompt('Name of the new folder:');
	if (!name) return;
	try { await api('/api/folder/create', { json: { name } }); await loadFolders(); } catch (e) { toast(e.message); }
});
$('folder-rename').addEventListener('click', async () => {
	const f = state.folders.find((x) => x.id === state.folder);
	if (!f || f.id === 'INBOX') return;
	const name = prompt('New name:', f.name);
	if (!name) return;
	try { await api('/api/folder/rename', { json: { folder: f.id, name } }); await loadFolders(); await openFolder('INBOX'); } catch (e) { toast(e.message); }
});
$('folder-delete').addEventListener('click', async () => {
	const f = state.folders.find((x) => x.id === state.folder);
	if (!f || f.id === 'INBOX' || !confirm(`Delete the folder "${f.name}" and its messages?`)) return;
	try { await api('/api/folder/delete', { json: { folder: f.id } }); await loadFolders(); await openFolder('INBOX'); } catch (e) { toast(e.message); }
});
$('folder-empty').addEventListener('click', async () => {
	const f = state.folders.find((x) => x.id === state.folder);
	if (!f || !confirm(`Delete every message in "${f.name}" for good?`)) return;
	try { await api('/api/folder/empty', { json: { folder: f.id } }); refresh(); } catch (e) { toast(e.message); }
});
$('menu-btn').addEventListener('click', () => document.querySelector('.app').classList.toggle('show-folders'));

/* ---- message list (virtual scrolling) ---- */

function listParams(offset) {
	return qs({
		folder: state.folder, offset, limit: PAGE, sort: $('sort').value, order: $('order').value,
		thread: $('threads').checked ? '1' : '', ...state.search,
	});
}

async function fetchPage(offset, gen) {
	if (state.pending.has(offset)) return;
	state.pending.add(offset);
	try {
		const data = await api('/api/messages?' + listParams(offset));
		if (gen !== state.generation) return;
		state.total = data.total;
		data.messages.forEach((m, i) => state.rows.set(data.offset + i, m));
		$('list-inner').style.height = (state.total * ROW_H) + 'px';
		$('list-count').textContent = `${state.total} message${state.total === 1 ? '' : 's'}`;
		renderRows();
	} catch (e) {
		if (gen === state.generation) toast(e.message);
	} finally {
		state.pending.delete(offset);
	}
}

async function reloadList(scrollTop) {
	state.generation++;
	state.rows.clear();
	state.pending.clear();
	if (scrollTop) $('list').scrollTop = 0;
	const first = Math.floor($('list').scrollTop / ROW_H);
	await fetchPage(Math.floor(first / PAGE) * PAGE, state.generation);
}

function renderRows() {
	const list = $('list');
	const first = Math.max(0, Math.floor(list.scrollTop / ROW_H) - 5);
	const last = Math.min(state.total, first + Math.ceil(list.clientHeight / ROW_H) + 10);
	const inner = $('list-inner');
	const frag = document.createDocumentFragment();
	for (let i = first; i < last; i++) {
		const m = state.rows.get(i);
		if (!m) {
			fetchPage(Math.floor(i / PAGE) * PAGE, state.generation);
			continue;
		}
		const unread = !m.flags.includes('\\Seen');
		const flagged = m.flags.includes('\\Flagged');
		const cls = ['row', unread ? 'unread' : '', state.current && state.current.uid === m.uid ? 'current' : '',
			state.selected.has(m.uid) ? 'selected' : ''].join(' ');
		const who = state.folder === special('\\Sent') || state.folder === special('\\Drafts') ? fmtAddr(m.to) : fmtAddr(m.from);
		const box = el('input', { type: 'checkbox', 'aria-label': 'Select' });
		box.checked = state.selected.has(m.uid);
		box.addEventListener('click', (ev) => { ev.stopPropagation(); toggleSelect(m.uid, box.checked); });
		const row = el('div', { class: cls, 'data-uid': String(m.uid), 'data-index': String(i) }, box,
			el('span', { class: 'from', text: who || '(nobody)' }),
			el('span', { class: 'date', text: fmtDate(m.date || m.internal_date) }),
			el('span', { class: 'subject', text: (m.depth ? '\u21b3 '.padStart(2 + m.depth * 2, '\u00a0') : '') + (m.subject || '(no subject)') }),
			el('span', { class: 'marks' }, el('span', { class: 'flagged', text: flagged ? '\u2691' : '' }),
				document.createTextNode(m.attachment ? ' \ud83d\udcce' : '')));
		row.style.top = (i * ROW_H) + 'px';
		const folder = state.folder;
		row.addEventListener('click', () => { if (folder === state.folder) openMessage(i, m); });
		frag.append(row);
	}
	inner.replaceChildren(frag);
}

$('list').addEventListener('scroll', () => requestAnimationFrame(renderRows));
window.addEventListener('resize', () => requestAnimationFrame(renderRows));
for (const id of ['sort', 'order', 'threads']) $(id).addEventListener('change', () => reloadList(true));

function toggleSelect(uid, on) {
	if (on) state.selected.add(uid); else state.selected.delete(uid);
	renderRows();
}

$('select-all').addEventListener('change', (ev) => {
	state.selected.clear();
	if (ev.target.checked) for (const m of state.rows.values()) state.selected.add(m.uid);
	renderRows();
});

function selection() {
	if (state.selected.size > 0) return [...state.selected];
	return state.current ? [state.current.uid] : [];
}

async function act(path, extra, uids) {
	uids = uids || selection();
	if (uids.length === 0) return;
	try {
		await api(path, { json: { folder: state.folder, uids, ...extra } });
		state.selected.clear();
		$('select-all').checked = false;
	} catch (e) {
		toast(e.message);
	}
	refresh();
}

$('bulk-read').addEventListener('click', () => act('/api/flags', { add: ['\\Seen'] }));
$('bulk-unread').addEventListener('click', () => act('/api/flags', { remove: ['\\Seen'] }));
$('bulk-flag').addEventListener('click', () => act('/api/flags', { add: ['\\Flagged'] }));
$('bulk-delete').addEventListener('click', () => { act('/api/delete', {}); closeReader(); });
$('bulk-move').addEventListener('change', (ev) => { if (ev.target.value) { act('/api/move', { to: ev.target.value }); closeReader(); } ev.target.value = ''; });

$('search-form').addEventListener('submit', (ev) => {
	ev.preventDefault();
	const text = $('search-input').value.trim();
	state.search = {};
	if (text) state.search[$('search-field').value] = text;
	if ($('search-since').value) state.search.since = $('search-since').value;
	if ($('search-before').value) state.search.before = $('search-before').value;
	closeReader();
	reloadList(true);
});

/* ---- reading ---- */

function closeReader() {
	state.current = null;
	$('reader').hidden = true;
	document.querySelector('.app').classList.remove('reading');
}

/* The policy of the frame showing mail HTML: nothing runs, nothing is
 * fetched except inline (data:) images, and remote ones once allowed. */
function frameCsp(allowRemote) {
	return "default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:" +
		(allowRemote ? ' https: http:' : '') + "; form-action 'none'; base-uri 'none'";
}

function sanitize(html, inline, allowRemote) {
	const purify = window.DOMPurify;
	if (!purify || !purify.isSupported) return null;
	let blocked = 0;
	const fixUrl = (url) => {
		const u = (url || '').trim();
		if (/^cid:/i.test(u)) {
			const id = decodeURIComponent(u.slice(4)).replace(/^<|>$/g, '');
			return inline[id] || '';
		}
		if (/^data:image\//i.test(u)) return u;
		if (/^https?:/i.test(u)) {
			if (allowRemote) return u;
			blocked++;
			return '';
		}
		return '';
	};
	purify.removeAllHooks();
	purify.addHook('afterSanitizeAttributes', (node) => {
		if (node.hasAttribute('src')) {
			const v = fixUrl(node.getAttribute('src'));
			if (v) node.setAttribute('src', v); else node.removeAttribute('src');
		}
		for (const a of ['srcset', 'background', 'poster', 'action', 'formaction', 'ping', 'lowsrc', 'dynsrc']) node.removeAttribute(a);
		if (node.hasAttribute('style') && /url\s*\(/i.test(node.getAttribute('style'))) {
			if (!allowRemote) { blocked++; node.setAttribute('style', node.getAttribute('style').replace(/url\s*\([^)]*\)/gi, 'none')); }
		}
		if (node.tagName === 'A') {
			const href = node.getAttribute('href') || '';
			if (/^https?:/i.test(href.trim())) {
				/* Through our own page: a live remote href lets the
				 * browser preconnect to the sender's host. */
				node.setAttribute('href', location.origin + '/static/link.html?u=' + encodeURIComponent(href.trim()));
				node.setAttribute('target', '_blank');
				node.setAttribute('rel', 'noopener noreferrer');
			} else if (/^mailto:/i.test(href.trim())) {
				node.setAttribute('target', '_blank');
				node.setAttribute('rel', 'noopener noreferrer');
			} else {
				node.removeAttribute('href');
			}
		}
	});
	purify.addHook('uponSanitizeElement', (node, data) => {
		if (data.tagName === 'style' && !allowRemote && /url\s*\(/i.test(node.textContent)) {
			blocked++;
			node.textContent = node.textContent.replace(/url\s*\([^)]*\)/gi, 'none');
		}
	});
	const clean = purify.sanitize(html, {
		WHOLE_DOCUMENT: false,
		FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'meta', 'link', 'base', 'iframe', 'frame', 'object', 'embed', 'script', 'svg', 'math', 'audio', 'video', 'source', 'track'],
		FORBID_ATTR: ['srcset', 'action', 'formaction', 'ping'],
		ALLOW_DATA_ATTR: false,
	});
	purify.removeAllHooks();
	return { clean, blocked };
}

function renderBody(msg) {
	const body = $('msg-body');
	body.replaceChildren();
	$('remote-bar').hidden = true;
	if (msg.html) {
		const s = sanitize(msg.html, msg.inline || {}, state.allowRemote);
		if (s) {
			const doc = '<!doctype html><html><head><meta charset="utf-8">' +
				'<meta http-equiv="Content-Security-Policy" content="' + frameCsp(state.allowRemote) + '">' +
				'<style>body{font:14px/1.45 system-ui,sans-serif;margin:14px;word-wrap:break-word}img{max-width:100%}</style>' +
				'</head><body>' + s.clean + '</body></html>';
			const frame = el('iframe', { sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer', title: 'Message' });
			frame.srcdoc = doc;
			body.append(frame);
			$('remote-bar').hidden = s.blocked === 0 || state.allowRemote;
			return;
		}
		/* Without the sanitizer, HTML is never shown. */
	}
	body.append(el('pre', { text: msg.text || (msg.html ? '(HTML message: the sanitizer is not available)' : '') }));
}

/* Opens the message at index; row is the one the user clicked, which
 * still counts when a live update reloaded the list meanwhile. */
async function openMessage(index, row) {
	const now = state.rows.get(index);
	const m = now && (!row || now.uid === row.uid) ? now : row;
	if (!m) return;
	const seq = state.openSeq = (state.openSeq || 0) + 1;
	state.allowRemote = false;
	state.current = { folder: state.folder, uid: m.uid, index, msg: null };
	renderRows();
	let msg;
	try {
		msg = await api('/api/message?' + qs({ folder: state.folder, uid: m.uid }));
	} catch (e) {
		toast(e.message);
		return;
	}
	if (seq !== state.openSeq || !state.current || state.current.uid !== m.uid) return;
	state.current.msg = msg;
	if (!m.flags.includes('\\Seen')) {
		m.flags.push('\\Seen');
		renderRows();
		loadFolders();
	}
	$('compose').hidden = true;
	$('reader').hidden = false;
	document.querySelector('.app').classList.add('reading');
	const head = $('msg-head');
	head.replaceChildren(el('h2', { text: msg.subject || '(no subject)' }),
		el('div', { class: 'from', text: 'From: ' + fmtAddr(msg.from) }),
		el('div', { text: 'To: ' + fmtAddr(msg.to) }));
	if (msg.cc.length) head.append(el('div', { text: 'Cc: ' + fmtAddr(msg.cc) }));
	head.append(el('div', { text: 'Date: ' + msg.date }));
	const atts = $('attachments');
	atts.replaceChildren();
	for (const a of msg.attachments) {
		const href = '/api/part?' + qs({ folder: msg.folder, uid: msg.uid, part: a.part });
		atts.append(el('li', {}, el('a', { href, download: a.filename, text: `${a.filename} (${Math.ceil(a.size / 1024)} KB)` })));
	}
	renderBody(msg);
	$('edit-btn').hidden = msg.folder !== special('\\Drafts');
	$('flag-btn').textContent = msg.flags.includes('\\Flagged') ? 'Unflag' : 'Flag';
}

$('remote-allow').addEventListener('click', () => {
	state.allowRemote = true;
	if (state.current && state.current.msg) renderBody(state.current.msg);
});
$('back-btn').addEventListener('click', closeReader);
$('raw-btn').addEventListener('click', async () => {
	const c = state.current;
	if (!c) return;
	const res = await fetch('/api/raw?' + qs({ folder: c.folder, uid: c.uid }), { credentials: 'same-origin' });
	const text = await res.text();
	$('remote-bar').hidden = true;
	$('msg-body').replaceChildren(el('pre', { class: 'raw', text }));
});
$('delete-btn').addEventListener('click', () => { if (state.current) { act('/api/delete', {}, [state.current.uid]); closeReader(); } });
$('flag-btn').addEventListener('click', () => {
	const c = state.current;
	if (!c || !c.msg) return;
	const on = c.msg.flags.includes('\\Flagged');
	act('/api/flags', on ? { remove: ['\\Flagged'] } : { add: ['\\Flagged'] }, [c.uid]);
	c.msg.flags = on ? c.msg.flags.filter((f) => f !== '\\Flagged') : [...c.msg.flags, '\\Flagged'];
	$('flag-btn').textContent = on ? 'Flag' : 'Unflag';
});
$('unread-btn').addEventListener('click', () => { if (state.current) act('/api/flags', { remove: ['\\Seen'] }, [state.current.uid]); });
$('move-select').addEventListener('change', (ev) => {
	if (ev.target.value && state.current) { act('/api/move', { to: ev.target.value }, [state.current.uid]); closeReader(); }
	ev.target.value = '';
});
$('copy-select').addEventListener('change', (ev) => {
	if (ev.target.value && state.current) act('/api/copy', { to: ev.target.value }, [state.current.uid]);
	ev.target.value = '';
});

/* ---- compose ---- */

/* The compose form's attachments live in the session on the server:
 * uploads, and a draft's own attachments copied there when it is edited
 * (so they are never sent through the browser). The list can drop them;
 * a form left behind drops its own. */
function renderUploads() {
	$('c-attachments').replaceChildren(...state.uploads.map((u) => el('li', {},
		`${u.name} (${Math.ceil(u.size / 1024)} KB) `,
		el('button', { type: 'button', class: 'remove', title: 'Remove ' + u.name,
			'aria-label': 'Remove ' + u.name, text: '\u00d7', onclick: () => removeUpload(u) }))));
}

function dropUploads(list) {
	const ids = list.map((u) => u.id);
	return ids.length ? api('/api/upload/delete', { json: { ids } }).catch(() => {}) : Promise.resolve();
}

function removeUpload(u) {
	state.uploads = state.uploads.filter((x) => x !== u);
	renderUploads();
	dropUploads([u]);
}

function openCompose(fields = {}, ctx = {}, uploads = []) {
	state.compose = ctx;
	dropUploads(state.uploads.filter((u) => !uploads.includes(u)));
	state.uploads = uploads;
	renderUploads();
	$('c-to').value = fields.to || '';
	$('c-cc').value = fields.cc || '';
	$('c-bcc').value = fields.bcc || '';
	$('c-subject').value = fields.subject || '';
	$('c-text').value = fields.text || '';
	$('c-status').textContent = '';
	$('reader').hidden = true;
	$('compose').hidden = false;
	document.querySelector('.app').classList.add('reading');
	(fields.to ? $('c-text') : $('c-to')).focus();
	if (fields.to) $('c-text').setSelectionRange(0, 0);
}

function quote(msg) {
	const who = fmtAddr(msg.from);
	const text = msg.text || (msg.html ? new DOMParser().parseFromString(msg.html, 'text/html').body.textContent : '');
	return `\n\nOn ${msg.date}, ${who} wrote:\n` + text.split('\n').map((l) => '> ' + l).join('\n');
}

function prefixed(prefix, subject) {
	return new RegExp('^' + prefix + ':', 'i').test(subject || '') ? subject : `${prefix}: ${subject || ''}`;
}

function reply(all) {
	const c = state.current;
	if (!c || !c.msg) return;
	const m = c.msg;
	const to = m.reply_to.length ? m.reply_to : m.from;
	let cc = [];
	if (all) {
		const me = (state.user || '').toLowerCase();
		const seen = new Set(to.map((a) => a.email.toLowerCase()));
		cc = [...m.to, ...m.cc].filter((a) => { const e = a.email.toLowerCase(); if (e === me || seen.has(e)) return false; seen.add(e); return true; });
	}
	const refs = ((m.references_header || '').replace(/^references:\s*/i, '').replace(/\s+/g, ' ').trim() + ' ' + (m.message_id || '')).trim();
	openCompose({ to: fmtAddr(to), cc: fmtAddr(cc), subject: prefixed('Re', m.subject), text: quote(m) },
		{ in_reply_to: m.message_id, references: refs, answered: { folder: m.folder, uid: m.uid } });
}

function forward(asAttachment) {
	const c = state.current;
	if (!c || !c.msg) return;
	const m = c.msg;
	if (asAttachment) {
		openCompose({ subject: prefixed('Fwd', m.subject) }, { forward: { folder: m.folder, uid: m.uid } });
		return;
	}
	const text = m.text || (m.html ? new DOMParser().parseFromString(m.html, 'text/html').body.textContent : '');
	openCompose({ subject: prefixed('Fwd', m.subject),
		text: `\n\n---------- Forwarded message ----------\nFrom: ${fmtAddr(m.from)}\nDate: ${m.date}\nSubject: ${m.subject}\nTo: ${fmtAddr(m.to)}\n\n${text}` }, {});
}

$('compose-btn').addEventListener('click', () => openCompose());
$('edit-btn').addEventListener('click', async () => {
	const c = state.current;
	if (!c || !c.msg) return;
	const m = c.msg;
	// Saving the edited draft replaces this one: its attachments come
	// along (copied into the session by the server), or nothing opens.
	let uploads = [];
	if (m.attachments.length) {
		await dropUploads(state.uploads);
		state.uploads = [];
		try {
			uploads = (await api('/api/draft/attachments', { json: { folder: m.folder, uid: m.uid } })).attachments;
		} catch (e) {
			toast('The draft\'s attachments could not be loaded: ' + e.message);
			return;
		}
	}
	openCompose({ to: fmtAddr(m.to), cc: fmtAddr(m.cc), bcc: fmtAddr(m.bcc), subject: m.subject, text: m.text || '' },
		{ draft_uid: m.uid, in_reply_to: m.in_reply_to || undefined }, uploads);
});
$('reply-btn').addEventListener('click', () => reply(false));
$('replyall-btn').addEventListener('click', () => reply(true));
$('forward-btn').addEventListener('click', () => forward(false));
$('forward-att-btn').addEventListener('click', () => forward(true));
$('c-cancel').addEventListener('click', () => {
	dropUploads(state.uploads);
	state.uploads = [];
	$('compose').hidden = true;
	document.querySelector('.app').classList.remove('reading');
});

$('c-files').addEventListener('change', async (ev) => {
	for (const file of ev.target.files) {
		$('c-status').textContent = `Uploading ${file.name}…`;
		try {
			const u = await api('/api/upload?' + qs({ name: file.name, type: file.type || 'application/octet-stream' }), { body: file });
			state.uploads.push(u);
			renderUploads();
		} catch (e) {
			toast(e.message);
		}
	}
	$('c-status').textContent = '';
	ev.target.value = '';
});

function composeBody() {
	const ctx = state.compose || {};
	return {
		to: $('c-to').value, cc: $('c-cc').value, bcc: $('c-bcc').value, subject: $('c-subject').value,
		text: $('c-text').value, attachments: state.uploads.map((u) => u.id),
		in_reply_to: ctx.in_reply_to, references: ctx.references, forward: ctx.forward,
		answered: ctx.answered, draft_uid: ctx.draft_uid,
	};
}

$('compose-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	$('c-send').disabled = true;
	$('c-status').textContent = 'Sending…';
	try {
		const r = await api('/api/send', { json: composeBody() });
		state.uploads = [];	/* sent: the server has dropped them */
		$('compose').hidden = true;
		document.querySelector('.app').classList.remove('reading');
		toast(r.warning || 'Message sent.');
		refresh();
	} catch (e) {
		$('c-status').textContent = e.message;
	} finally {
		$('c-send').disabled = false;
	}
});

$('c-draft').addEventListener('click', async () => {
	try {
		const r = await api('/api/draft', { json: composeBody() });
		if (state.compose) state.compose.draft_uid = r.uid;
		$('c-status').textContent = 'Draft saved.';
		refresh();
	} catch (e) {
		$('c-status').textContent = e.message;
	}
});

/* ---- keyboard ---- */

document.addEventListener('keydown', (ev) => {
	const t = ev.target;
	if (ev.ctrlKey || ev.metaKey || ev.altKey || $('app').hidden) return;
	if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) {
		if (ev.key === 'Escape') t.blur();
		return;
	}
	const idx = state.current ? state.current.index : -1;
	const go = (i) => {
		if (i < 0 || i >= state.total) return;
		$('list').scrollTop = Math.max(0, i * ROW_H - $('list').clientHeight / 2);
		if (state.rows.get(i)) openMessage(i);
	};
	switch (ev.key) {
	case 'j': go(idx + 1); break;
	case 'k': go(idx - 1); break;
	case 'r': reply(false); break;
	case 'a': reply(true); break;
	case 'f': forward(false); break;
	case 'c': openCompose(); break;
	case '#': case 'Delete': if (state.current) { act('/api/delete', {}, [state.current.uid]); closeReader(); } break;
	case 's': $('flag-btn').click(); break;
	case 'u': $('unread-btn').click(); break;
	case '/': $('search-input').focus(); break;
	case 'Escape': closeReader(); break;
	default: return;
	}
	ev.preventDefault();
});

/* ---- start ---- */

(async () => {
	try {
		const s = await api('/api/session');
		await start(s);
	} catch (e) {
		showLogin('');
	}
})();

/* link.js — the page links in mail lead to: shows where a link goes
 * before the user follows it. Mail HTML never links out directly, so the
 * browser cannot connect to (or preconnect to) a sender's host while a
 * message is merely shown. */
'use strict';
(() => {
	const u = new URLSearchParams(location.search).get('u') || '';
	const a = document.getElementById('target');
	let ok = false;
	try { ok = ['http:', 'https:'].includes(new URL(u).protocol); } catch (e) { ok = false; }
	a.textContent = ok ? u : '(not a web address)';
	if (ok) a.href = u;
})();

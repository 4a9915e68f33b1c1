// webmail.test.mjs — browser tests of the correu webmail: Chromium
// (Debian's) driven by playwright-core against a running `correu web`.
// Environment: WEB_URL, HTTP_URL, WEB_USER, WEB_PASSWORD, SHOT_DIR, CHROMIUM,
// WEB_KICK (a command that drops the user's IMAP connections), WEB_LABEL
// (the upstream's name, appended to every result line).
// Prints "PASS name [label]" / "FAIL name [label]: reason" and a summary line; exits
// non-zero if anything failed. Every request to a non-loopback host is
// aborted before it leaves the browser and counted as a leak.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { execSync } from 'node:child_process';

const URL_BASE = process.env.WEB_URL;
const USER = process.env.WEB_USER;
const PASSWORD = process.env.WEB_PASSWORD;
const SHOTS = process.env.SHOT_DIR;
const LABEL = process.env.WEB_LABEL ? ` [${process.env.WEB_LABEL}]` : '';
fs.mkdirSync(SHOTS, { recursive: true });

// Every host name except localhost resolves, inside Chromium only, to this
// loopback sink: a request that would have gone to a remote host arrives
// here instead and is counted, whichever frame or process made it.
// Chromium's own background connections (update checks and the like)
// land here too; only hits for the corpus's host, evil.example, count.
const sinkHits = [];
const sinkOther = [];

// The server name of a TLS ClientHello, or null.
function sni(d) {
	try {
		let p = 5 + 4 + 2 + 32;
		p += 1 + d[p];
		p += 2 + d.readUInt16BE(p);
		p += 1 + d[p];
		const end = p + 2 + d.readUInt16BE(p);
		p += 2;
		while (p + 4 <= end) {
			const type = d.readUInt16BE(p), len = d.readUInt16BE(p + 2);
			if (type === 0) return d.toString('latin1', p + 9, p + 9 + d.readUInt16BE(p + 7));
			p += 4 + len;
		}
	} catch { /* not a ClientHello */ }
	return null;
}

// A 1x1 GIF: what the sink answers the corpus host's image requests with,
// over plain HTTP or TLS (its own self-signed certificate; the browser
// context ignores certificate errors), so a remote image the user allowed
// really loads. (Chromium upgrades http: images on an https: page.)
const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const sinkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'correu-sink-'));
execSync(`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=evil.example ` +
	`-addext subjectAltName=DNS:evil.example -keyout ${sinkDir}/key.pem -out ${sinkDir}/cert.pem`, { stdio: 'ignore' });
const sinkTls = tls.createSecureContext({ key: fs.readFileSync(`${sinkDir}/key.pem`),
	cert: fs.readFileSync(`${sinkDir}/cert.pem`) });
fs.rmSync(sinkDir, { recursive: true, force: true });

// One HTTP request (its first bytes in d) on stream, counted; a GIF for
// an image of the corpus's host, nothing for anything else.
function sinkRequest(stream, d, tlsHost) {
	const text = d.toString('latin1');
	const host = (text.match(/\r\nhost: *([^\r:]+)/i) || [])[1] || tlsHost || '?';
	const evil = host.endsWith('evil.example');
	(evil ? sinkHits : sinkOther).push(`${host} ${text.split('\r\n')[0].slice(0, 80)}${tlsHost ? ' (TLS)' : ''}`);
	if (evil && /^GET \S+\.gif /.test(text)) {
		stream.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\n' +
			`Content-Length: ${GIF.length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`), GIF]));
		return;
	}
	stream.destroy();
}

const sink = net.createServer((sock) => {
	sock.on('error', () => {});
	sock.once('data', (d) => {
		if (/^[A-Z]+ /.test(d.toString('latin1', 0, 8))) {
			sinkRequest(sock, d, null);
			return;
		}
		const host = sni(d) || '?';
		if (!host.endsWith('evil.example')) {
			sinkOther.push(host + ' (TLS)');
			sock.destroy();
			return;
		}
		// The handshake alone counts as reaching the sink.
		sinkHits.push(host + ' (TLS handshake)');
		// TLS over a JS stream that replays the bytes already read.
		const raw = new Duplex({
			read() {},
			write(chunk, enc, cb) { sock.write(chunk, cb); },
			final(cb) { sock.end(); cb(); },
			destroy(err, cb) { sock.destroy(); cb(err); },
		});
		raw.push(d);
		sock.on('data', (x) => raw.push(x));
		sock.on('end', () => raw.push(null));
		const t = new tls.TLSSocket(raw, { isServer: true, secureContext: sinkTls });
		t.on('error', () => sock.destroy());
		t.once('data', (x) => sinkRequest(t, x, host));
	});
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const SINK_PORT = sink.address().port;

const results = [];
const leaks = [];
const dialogs = [];

function loopback(u) {
	let url;
	try { url = new URL(u); } catch { return true; }
	if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return true;
	const h = url.hostname;
	return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
}

async function test(name, fn) {
	try {
		await fn();
		results.push([name, true]);
		console.log(`PASS ${name}${LABEL}`);
	} catch (e) {
		results.push([name, false]);
		console.log(`FAIL ${name}${LABEL}: ${(e && e.stack) || e}`);
	}
}

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: false });
}

const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'correu-chromium-'));
// A fresh profile directory each run (playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(userDir, {
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync',
		`--host-resolver-rules=MAP * 127.0.0.1:${SINK_PORT}, EXCLUDE localhost`],
	ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 800 },
});
// Set while the test of allowed remote images runs: their requests go on
// to the sink instead of being aborted.
let remoteAllowed = false;
await context.route('**/*', (route) => {
	const u = route.request().url();
	if (!loopback(u) && !(remoteAllowed && new URL(u).hostname === 'evil.example')) {
		leaks.push(u);
		return route.abort();
	}
	return route.continue();
});
const page = context.pages()[0] || await context.newPage();
// Also every request the page or its frames start (routes may miss some).
const seen = [];
page.on('request', (req) => {
	seen.push(req.url());
	if (!loopback(req.url()) && !remoteAllowed && !leaks.includes(req.url())) leaks.push(req.url());
});
page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
page.on('pageerror', (e) => console.log('page error:', e.message));

const row = (text) => page.locator('.row', { hasText: text }).first();

// Polls fn in node (the page's CSP forbids eval, so no waitForFunction).
async function poll(fn, what, timeout = 20000) {
	const end = Date.now() + timeout;
	for (;;) {
		if (await fn()) return;
		if (Date.now() > end) throw new Error('timed out waiting for ' + what);
		await new Promise((r) => setTimeout(r, 100));
	}
}

const rowCount = () => page.locator('.row').count();

// Clicks a row until its message shows (live updates may re-render the list).
async function openRow(text, subject = text) {
	await poll(async () => {
		await row(text).click({ timeout: 2000 }).catch(() => {});
		return page.locator('#msg-head h2', { hasText: subject }).waitFor({ timeout: 1500 }).then(() => true, () => false);
	}, 'message ' + text);
}

async function waitRow(text, timeout = 20000) {
	await row(text).waitFor({ timeout });
}

await test('http redirect', async () => {
	if (!process.env.HTTP_URL) return;
	const res = await fetch(process.env.HTTP_URL + '/some/path?x=1', { redirect: 'manual' });
	assert(res.status === 301, 'status ' + res.status);
	assert(res.headers.get('location').startsWith('https://'), 'location ' + res.headers.get('location'));
});

await test('login rejects a wrong password', async () => {
	await page.goto(URL_BASE + '/');
	await page.fill('#login-user', USER);
	await page.fill('#login-password', 'wrong-' + PASSWORD);
	await page.click('#login-submit');
	await page.locator('#login-error', { hasText: 'Wrong' }).waitFor({ timeout: 20000 });
	await shot(page, 'login');
});

await test('login', async () => {
	await page.fill('#login-user', USER);
	await page.fill('#login-password', PASSWORD);
	await page.click('#login-submit');
	await page.locator('#folder-list li', { hasText: 'INBOX' }).waitFor();
	const cookies = await context.cookies();
	const c = cookies.find((x) => x.name === 'correu_session');
	assert(c && c.httpOnly && c.secure && c.sameSite === 'Strict', 'cookie flags ' + JSON.stringify(c));
	assert(!(await page.content()).includes(PASSWORD), 'password in page');
});

await test('folder list with unread counts, special folders first', async () => {
	const names = await page.locator('#folder-list li .name').allTextContents();
	assert(names[0] === 'INBOX', 'first folder ' + names[0]);
	for (const f of ['Drafts', 'Sent', 'Trash']) assert(names.includes(f), 'missing ' + f);
	assert(names.indexOf('Trash') < names.length, 'order');
	const unread = await page.locator('#folder-list li[data-folder="INBOX"] .unread').textContent();
	assert(parseInt(unread, 10) >= 5, 'unread ' + unread);
});

await test('message list', async () => {
	await waitRow('Quarterly report with attachment');
	await waitRow('Überprüfung der Rechnung');
	await waitRow('Привет');
	await shot(page, 'list');
});

await test('open multipart message and download attachment', async () => {
	await row('Quarterly report').click();
	await page.locator('#msg-head h2', { hasText: 'Quarterly report' }).waitFor();
	const frame = page.frameLocator('#msg-body iframe');
	await frame.locator('b', { hasText: 'report' }).waitFor();
	const link = page.locator('#attachments a', { hasText: 'report-q3.csv' });
	await link.waitFor();
	const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
	const file = await download.path();
	const data = fs.readFileSync(file, 'utf8');
	assert(data === 'col1,col2\n1,2\n3,4\n', 'attachment content ' + JSON.stringify(data));
	assert(download.suggestedFilename() === 'report-q3.csv', 'name ' + download.suggestedFilename());
	await shot(page, 'message');
});

await test('charsets and RFC 2047/2231', async () => {
	await row('Überprüfung').click();
	await page.locator('#msg-head .from', { hasText: 'José García' }).waitFor();
	await page.locator('#msg-body pre', { hasText: 'Señor, la factura está lista. Grüße.' }).waitFor();
	await row('Привет').click();
	await page.locator('#msg-body pre', { hasText: 'Привет, мир!' }).waitFor();
	await page.locator('#attachments a', { hasText: 'отчёт.txt' }).waitFor();
});

await test('inline cid: image', async () => {
	await row('Picture inline').click();
	const img = page.frameLocator('#msg-body iframe').locator('#logo');
	await img.waitFor();
	const src = await img.getAttribute('src');
	assert(src && src.startsWith('data:image/png;base64,'), 'src ' + src);
});

await test('raw source view', async () => {
	await page.click('#raw-btn');
	await page.locator('#msg-body pre.raw', { hasText: 'Content-Type: image/png' }).waitFor();
});

await test('thread view', async () => {
	await page.check('#threads');
	await poll(async () => (await page.locator('.row .subject', { hasText: '\u21b3 Re: Lunch on Friday?' }).count()) === 1,
		'the reply indented under its thread');
	await shot(page, 'threads');
	await page.uncheck('#threads');
	await waitRow('Quarterly report');
});

await test('sort by subject', async () => {
	await page.selectOption('#sort', 'subject');
	await page.selectOption('#order', 'asc');
	// IMAP SORT SUBJECT compares base subjects ("Re:" removed), ASCII case-insensitively.
	const base = (t) => t.replace(/^\s*(re|fwd?):\s*/i, '').toLowerCase();
	let subjects = [];
	await poll(async () => {
		const rows = await page.locator('.row').evaluateAll((els) => els
			.sort((a, b) => a.dataset.index - b.dataset.index).map((e) => e.querySelector('.subject').textContent));
		subjects = rows;
		if (rows.length < 5) return false;
		for (let i = 1; i < rows.length; i++)
			if (base(rows[i - 1]) > base(rows[i]) && /^[\x20-\x7e]*$/.test(rows[i - 1] + rows[i])) return false;
		return true;
	}, 'rows sorted by subject').catch((e) => { throw new Error(e.message + ': ' + subjects.join('|')); });
	await page.selectOption('#sort', 'date');
	await page.selectOption('#order', 'desc');
});

const stamp = Date.now().toString(36);

await test('compose and send to self, arrives without reload', async () => {
	await page.click('#compose-btn');
	await page.fill('#c-to', USER);
	await page.fill('#c-subject', `Self test ${stamp}`);
	await page.fill('#c-text', 'Hello from the browser test.\n.\nA line with a dot above.');
	const tmp = path.join(userDir, 'note.txt');
	fs.writeFileSync(tmp, 'attached note\n');
	await page.setInputFiles('#c-files', tmp);
	await page.locator('#c-attachments li', { hasText: 'note.txt' }).waitFor();
	await shot(page, 'compose');
	await page.click('#c-send');
	await page.locator('#toast', { hasText: 'sent' }).waitFor();
	// No reload: the event stream must bring it in.
	await waitRow(`Self test ${stamp}`, 30000);
});

await test('IMAP connection re-established after the server drops it', async () => {
	if (!process.env.WEB_KICK) throw new Error('WEB_KICK not set');
	execSync(process.env.WEB_KICK);
	await page.waitForTimeout(1500);
	// Live updates come back by themselves (IDLE again after reconnecting).
	await page.click('#compose-btn');
	await page.fill('#c-to', USER);
	await page.fill('#c-subject', `After reconnect ${stamp}`);
	await page.fill('#c-text', 'still here');
	await page.click('#c-send');
	await page.locator('#toast', { hasText: 'sent' }).waitFor();
	await waitRow(`After reconnect ${stamp}`, 30000);
});

await test('reply', async () => {
	await openRow(`Self test ${stamp}`);
	await page.locator('#attachments a', { hasText: 'note.txt' }).waitFor();
	await page.keyboard.press('r');
	await page.locator('#compose').waitFor();
	assert((await page.inputValue('#c-subject')) === `Re: Self test ${stamp}`, 'subject');
	assert((await page.inputValue('#c-text')).includes('> Hello from the browser test.'), 'quote');
	await page.click('#c-send');
	await waitRow(`Re: Self test ${stamp}`, 30000);
	await page.locator('#folder-list li[data-folder="Sent"]').click();
	await waitRow(`Re: Self test ${stamp}`);
	await page.locator('#folder-list li[data-folder="INBOX"]').click();
	await waitRow(`Self test ${stamp}`);
});

await test('save a draft, edit it, save again', async () => {
	await page.click('#compose-btn');
	await page.fill('#c-to', 'dave@example.test');
	await page.fill('#c-subject', `Draft ${stamp}`);
	await page.fill('#c-text', 'first version');
	const keep = path.join(userDir, 'keep.txt'), drop = path.join(userDir, 'drop.txt');
	fs.writeFileSync(keep, 'kept with the draft\n');
	fs.writeFileSync(drop, 'removed from the draft\n');
	await page.setInputFiles('#c-files', [keep, drop]);
	await page.locator('#c-attachments li', { hasText: 'keep.txt' }).waitFor();
	await page.locator('#c-attachments li', { hasText: 'drop.txt' }).waitFor();
	await page.click('#c-draft');
	await page.locator('#c-status', { hasText: 'Draft saved' }).waitFor();
	await page.click('#c-cancel');
	await page.locator('#folder-list li[data-folder="Drafts"]').click();
	await openRow(`Draft ${stamp}`);
	await page.locator('#attachments a', { hasText: 'keep.txt' }).waitFor();
	await page.click('#edit-btn');
	// The editor lists the draft's attachments, and one can be removed.
	await page.locator('#c-attachments li', { hasText: 'keep.txt' }).waitFor();
	await page.locator('#c-attachments li', { hasText: 'drop.txt' }).waitFor();
	assert((await page.inputValue('#c-text')).includes('first version'), 'draft text');
	await shot(page, 'draft-edit');
	await page.locator('#c-attachments li', { hasText: 'drop.txt' }).locator('button.remove').click();
	await poll(async () => (await page.locator('#c-attachments li').count()) === 1, 'one attachment left');
	await page.fill('#c-text', 'second version');
	await page.click('#c-draft');
	await page.locator('#c-status', { hasText: 'Draft saved' }).waitFor();
	await page.click('#c-cancel');
	// The old version is replaced, not kept beside the new one, and the
	// attachment kept is in the new one (the removed one is not).
	await poll(async () => (await page.locator('.row', { hasText: `Draft ${stamp}` }).count()) === 1, 'one draft');
	await openRow(`Draft ${stamp}`);
	const link = page.locator('#attachments a', { hasText: 'keep.txt' });
	await link.waitFor();
	assert((await page.locator('#attachments a', { hasText: 'drop.txt' }).count()) === 0, 'removed attachment still there');
	const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
	const data = fs.readFileSync(await download.path(), 'utf8');
	assert(data.replace(/\r\n/g, '\n') === 'kept with the draft\n', 'attachment content ' + JSON.stringify(data));
	// Edited again and sent: the attachment goes with it, the draft goes.
	await page.click('#edit-btn');
	await page.locator('#c-attachments li', { hasText: 'keep.txt' }).waitFor();
	assert((await page.inputValue('#c-text')).includes('second version'), 'second draft text');
	await page.fill('#c-to', USER);
	await page.click('#c-send');
	await page.locator('#toast', { hasText: 'sent' }).waitFor();
	await poll(async () => (await page.locator('.row', { hasText: `Draft ${stamp}` }).count()) === 0, 'the draft gone');
	await page.locator('#folder-list li[data-folder="INBOX"]').click();
	await waitRow(`Draft ${stamp}`, 30000);
	await openRow(`Draft ${stamp}`);
	await page.locator('#attachments a', { hasText: 'keep.txt' }).waitFor();
	assert((await page.locator('#attachments a', { hasText: 'drop.txt' }).count()) === 0, 'removed attachment sent');
	await waitRow('Quarterly report');
});

await test('create folder and move a message', async () => {
	page.once('dialog', () => {});
	await page.evaluate(() => { window.prompt = () => 'Projects'; });
	await page.click('#folder-new');
	await page.locator('#folder-list li[data-folder="Projects"]').waitFor();
	await row('Lunch on Friday?').click();
	await page.locator('#msg-head h2', { hasText: 'Lunch' }).waitFor();
	await page.selectOption('#move-select', 'Projects');
	await page.waitForTimeout(500);
	await page.locator('#folder-list li[data-folder="Projects"]').click();
	await waitRow('Lunch on Friday?');
	await page.locator('#folder-list li[data-folder="INBOX"]').click();
	await waitRow('Quarterly report');
});

await test('search', async () => {
	await page.fill('#search-input', 'Quarterly');
	await page.selectOption('#search-field', 'subject');
	await page.press('#search-input', 'Enter');
	await poll(async () => (await rowCount()) === 1 && (await row('Quarterly report').count()) === 1, 'one result');
	await page.fill('#search-input', 'factura');
	await page.selectOption('#search-field', 'body');
	await page.press('#search-input', 'Enter');
	await poll(async () => (await rowCount()) === 1 && (await row('Überprüfung').count()) === 1, 'one result');
	await shot(page, 'search');
	await page.fill('#search-input', '');
	await page.press('#search-input', 'Enter');
	await poll(async () => (await rowCount()) > 5, 'the whole list again');
});

await test('delete to Trash', async () => {
	await row('Picture inline').click();
	await page.locator('#msg-head h2', { hasText: 'Picture inline' }).waitFor();
	await page.keyboard.press('#');
	await page.waitForTimeout(500);
	await page.locator('#folder-list li[data-folder="Trash"]').click();
	await waitRow('Picture inline');
	await page.locator('#folder-list li[data-folder="INBOX"]').click();
	await waitRow('Quarterly report');
});

await test('XSS corpus executes nothing and leaks nothing', async () => {
	const before = leaks.length;
	const sinkBefore = sinkHits.length;
	const xss = await page.locator('.row', { hasText: 'XSS ' }).count();
	const culprits = [];
	let hitsSoFar = sinkHits.length;
	assert(xss >= 10, 'corpus rows ' + xss);
	for (let i = 0; i < xss; i++) {
		const r = page.locator('.row', { hasText: 'XSS ' }).nth(i);
		const subject = await r.locator('.subject').textContent();
		await r.click();
		await page.locator('#msg-head h2', { hasText: subject }).waitFor();
		const frame = page.frameLocator('#msg-body iframe');
		// Try the bait: click links and buttons inside the frame.
		for (const sel of ['#jslink', '#submit', '#hover']) {
			const n = await frame.locator(sel).count();
			if (n > 0) await frame.locator(sel).first().click({ timeout: 2000 }).catch(() => {});
		}
		await page.waitForTimeout(300);
		if (sinkHits.length > hitsSoFar) culprits.push(subject);
		hitsSoFar = sinkHits.length;
	}
	await shot(page, 'xss');
	const marker = await page.evaluate(() => window.__xss);
	assert(marker === undefined, 'script ran: ' + marker);
	assert(dialogs.length === 0, 'dialogs: ' + dialogs.join(', '));
	assert(leaks.length === before, 'requests to remote hosts: ' + leaks.slice(before).join(', '));
	await page.waitForTimeout(500);
	assert(sinkHits.length === sinkBefore, 'requests reached the remote-host sink: ' + sinkHits.slice(sinkBefore).join(', ') +
		' after opening ' + culprits.join(', '));
	assert(page.url().startsWith(URL_BASE), 'navigated away: ' + page.url());
});

await test('remote images only after the user allows them', async () => {
	const before = sinkHits.length, leaksBefore = leaks.length;
	await openRow('XSS 08-remote-images');
	await page.locator('#remote-bar').waitFor();
	const frame = page.frameLocator('#msg-body iframe');
	await frame.locator('p', { hasText: 'Tracking pixels' }).waitFor();
	assert((await frame.locator('img[src^="http"]').count()) === 0, 'remote image sources kept before the click');
	await page.waitForTimeout(500);
	assert(sinkHits.length === before && leaks.length === leaksBefore,
		'requested before the click: ' + [...sinkHits.slice(before), ...leaks.slice(leaksBefore)].join(', '));
	remoteAllowed = true;
	try {
		await page.click('#remote-allow');
		await page.locator('#remote-bar').waitFor({ state: 'hidden' });
		// The frame is rendered again with the images, and the sink
		// serves the plain-HTTP one: it loads.
		const img = page.frameLocator('#msg-body iframe').locator('img[src="http://evil.example/track.gif"]');
		await img.waitFor({ state: 'attached' });
		await poll(async () => (await img.evaluate((e) => e.complete && e.naturalWidth)) === 1,
			'the allowed image to load');
		assert(sinkHits.slice(before).some((h) => h.startsWith('evil.example GET /track.gif')),
			'sink hits ' + sinkHits.slice(before).join(', '));
	} finally {
		remoteAllowed = false;
	}
	// Another message blocks them again.
	await openRow('Quarterly report');
	await openRow('XSS 08-remote-images');
	await page.locator('#remote-bar').waitFor();
});

await test('keyboard shortcuts', async () => {
	await page.locator('#folder-list li[data-folder="INBOX"]').click();
	await waitRow('Quarterly report');
	await row('Quarterly report').click();
	await page.locator('#msg-head h2', { hasText: 'Quarterly' }).waitFor();
	const first = await page.locator('#msg-head h2').textContent();
	await page.keyboard.press('j');
	await poll(async () => (await page.locator('#msg-head h2').textContent()) !== first, 'the next message');
	await page.keyboard.press('k');
	await page.locator('#msg-head h2', { hasText: 'Quarterly' }).waitFor();
	await page.keyboard.press('c');
	await page.locator('#compose').waitFor();
	await page.click('#c-cancel');
});

await test('phone layout', async () => {
	await page.setViewportSize({ width: 390, height: 844 });
	await page.locator('#folder-list li[data-folder="INBOX"]').click({ force: true }).catch(() => {});
	await waitRow('Quarterly report');
	await shot(page, 'phone-list');
	await row('Quarterly report').click();
	await page.locator('#msg-head h2', { hasText: 'Quarterly' }).waitFor();
	assert(await page.locator('#list-pane').isHidden(), 'list still shown on a phone');
	await shot(page, 'phone-message');
	await page.click('#back-btn');
	await page.setViewportSize({ width: 1280, height: 800 });
});

await test('state-changing requests need the CSRF token', async () => {
	const status = await page.evaluate(async () => {
		const r = await fetch('/api/flags', { method: 'POST', headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ folder: 'INBOX', uids: [1], add: ['\\Flagged'] }) });
		return r.status;
	});
	assert(status === 403, 'status ' + status);
});

await test('logout', async () => {
	await page.click('#logout-btn');
	await page.locator('#login-form').waitFor();
	const status = await page.evaluate(async () => (await fetch('/api/folders')).status);
	assert(status === 401, 'status after logout ' + status);
});

await context.close();
sink.close();
fs.rmSync(userDir, { recursive: true, force: true });
if (sinkOther.length) console.log('(other connections Chromium made: ' + [...new Set(sinkOther)].join(', ') + ')');
const failed = results.filter(([, ok]) => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed${LABEL}`);
process.exit(failed === 0 ? 0 : 1);

// Browser end-to-end test of the pickup portal in Debian's chromium, driven by
// playwright-core (no bundled browser). Run by tests/integration/test_portal_browser.py,
// which starts the portal and a recording SMTP sink, deposits the pickups and
// passes them in a scenario file:  node portal_e2e.mjs SCENARIO.json
// Prints a JSON result line; exits non-zero on the first failed expectation.
import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scenario = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const origin = new URL(scenario.base).origin;
const shots = scenario.out_dir;
const result = { steps: [], offsite_requests: [], dialogs: [], console_errors: [] };

function expect(cond, what) {
  if (!cond) throw new Error('expectation failed: ' + what);
  result.steps.push(what);
}

async function smsCode(timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(scenario.sms_file)) {
      const m = readFileSync(scenario.sms_file, 'utf8').match(/\b(\d{8})\b/);
      if (m) {
        unlinkSync(scenario.sms_file);
        return m[1];
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no SMS code arrived');
}

// Patients click the link in their webmail: a cross-site navigation, so the
// SameSite=Strict session cookie set on it must still reach /auth.
const WEBMAIL = 'http://webmail.example/';
async function serveWebmail(ctx) {
  await ctx.route(WEBMAIL + '**', (route) => {
    const link = new URL(route.request().url()).searchParams.get('link');
    const html = '<!DOCTYPE html><html><body><p>Ihre Nachricht</p>' +
                 '<a id="notice-link" href="' + link.replace(/[<>"&]/g, '') + '">Nachricht abholen</a>' +
                 '</body></html>';
    return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
  });
}

async function openFromWebmail(page, link, what) {
  await page.goto(WEBMAIL + 'inbox?link=' + encodeURIComponent(link));
  await page.click('#notice-link');
  await page.waitForURL(origin + '/auth');
  expect(new URL(page.url()).pathname === '/auth',
         what + ': link from webmail arrives at /auth (secret leaves the address bar)');
  expect((await page.textContent('h1')).includes('Identität bestätigen'),
         what + ': the session cookie reached /auth after the cross-site click');
}

async function authenticate(page, link, shotName) {
  await openFromWebmail(page, link, 'pickup');
  if (shotName) await page.screenshot({ path: join(shots, shotName), fullPage: true });
  await page.getByRole('button', { name: 'Code anfordern' }).click();
  await page.getByRole('status').waitFor();
  const code = await smsCode();
  await page.getByLabel('Bestätigungscode').fill(code);
  await page.getByRole('button', { name: 'Bestätigen' }).click();
  await page.waitForURL(origin + '/read');
}

// What the sanitiser must have removed from a hostile message, checked in the DOM.
async function checkHostile(page, pass) {
  const pwned = await page.evaluate(() => window.__pwned === true || document.title === 'pwned');
  expect(!pwned, pass + ': no script from the message ran');
  const dom = await page.evaluate(() => {
    const body = document.querySelector('main .body');
    const all = body ? Array.from(body.querySelectorAll('*')) : [];
    return {
      found: !!body,
      elements: all.length,
      banned: body ? body.querySelectorAll(
        'script, style, link, img, iframe, frame, object, embed, svg, form, input, base, meta').length : -1,
      styled: body ? body.querySelectorAll('[style]').length : -1,
      handlers: all.filter((el) => Array.from(el.attributes).some((a) => a.name.toLowerCase().startsWith('on'))).length,
      jsLinks: body ? body.querySelectorAll('a[href^="javascript" i], a[href*="script:" i]').length : -1,
      otherLinks: Array.from(document.querySelectorAll('main .body a[href]'))
        .map((a) => a.getAttribute('href'))
        .filter((h) => !/^(https?:|mailto:)/i.test(h)),
      headStyles: document.querySelectorAll('head style, head script').length,
    };
  });
  expect(dom.found && dom.elements > 0, pass + ': the message body is there (' + dom.elements + ' elements)');
  expect(dom.banned === 0, pass + ': no script, style, image, frame, object, svg, form or input in the message');
  expect(dom.styled === 0, pass + ': no style attributes (no CSS url())');
  expect(dom.handlers === 0, pass + ': no on* event handler attributes');
  expect(dom.jsLinks === 0 && dom.otherLinks.length === 0,
         pass + ': links are http(s)/mailto only: ' + dom.otherLinks.join(' '));
  expect(dom.headStyles === 0, pass + ': nothing from the message reached <head>');
  expect((await page.textContent('main')).includes(scenario.hostile_text), pass + ': hostile message text still readable');
}

const userDataDir = mkdtempSync(join(tmpdir(), 'sealpost-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 360, height: 740 },  // a small phone
  locale: 'de-DE',
  acceptDownloads: true,
});
let exitCode = 0;
try {
  // Anything not aimed at the portal is recorded and blocked: nothing may leave 127.0.0.1.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/')) return route.continue();
    result.offsite_requests.push(url);
    return route.abort();
  });
  await serveWebmail(context);  // registered last, so it is asked first
  const page = context.pages()[0] || (await context.newPage());
  page.on('dialog', (d) => { result.dialogs.push(d.message()); d.dismiss(); });
  page.on('console', (m) => { if (m.type() === 'error') result.console_errors.push(m.text()); });

  // 1. Happy path: authenticate, read, download, reply.
  await authenticate(page, scenario.link, '01-auth.png');
  await page.screenshot({ path: join(shots, '02-read.png'), fullPage: true });
  expect((await page.textContent('main')).includes(scenario.expect_text), 'message text is shown');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= 360, 'no horizontal scrolling at 360 px (scrollWidth ' + width + ')');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: scenario.attachment_name }).click(),
  ]);
  const saved = join(shots, 'downloaded.bin');
  await download.saveAs(saved);
  const digest = createHash('sha256').update(readFileSync(saved)).digest('hex');
  expect(digest === scenario.attachment_sha256, 'downloaded bytes equal the original');
  expect(download.suggestedFilename() === scenario.attachment_name, 'download keeps the UTF-8 filename');

  await page.getByRole('link', { name: 'Sicher antworten' }).click();
  await page.waitForURL(origin + '/reply');
  await page.getByLabel('Ihre Antwort').fill(scenario.reply_text);
  await page.getByLabel('Dateien anhängen (optional)').setInputFiles(scenario.reply_file);
  await page.screenshot({ path: join(shots, '03-reply.png'), fullPage: true });
  await page.getByRole('button', { name: 'Antwort senden' }).click();
  await page.waitForURL(origin + '/done');
  await page.screenshot({ path: join(shots, '04-done.png'), fullPage: true });
  expect((await page.textContent('main')).includes('übermittelt'), 'done page confirms the reply');

  // 1b. The optional portal password, offered after a pickup with the code.
  await page.goto(origin + '/read');
  await page.getByRole('link', { name: 'Portal-Kennwort festlegen' }).click();
  await page.waitForURL(origin + '/password');
  await page.getByLabel('Neues Portal-Kennwort').fill(scenario.portal_password);
  await page.getByLabel('Kennwort wiederholen').fill(scenario.portal_password);
  await page.screenshot({ path: join(shots, '09-password.png'), fullPage: true });
  await page.getByRole('button', { name: 'Kennwort speichern' }).click();
  expect((await page.getByRole('status').textContent()).includes('gespeichert'), 'portal password saved');

  // 2. Hostile HTML is shown inert. CSP alone would already stop scripts and
  // remote loads, so the DOM is checked for what the sanitiser must remove,
  // and the page is opened once more with CSP bypassed (below).
  await authenticate(page, scenario.hostile_link, null);
  await page.screenshot({ path: join(shots, '05-hostile.png'), fullPage: true });
  await checkHostile(page, 'with CSP');

  // 3. Blob URLs without a session.
  for (const path of ['/att/0', '/read']) {
    const r = await fetch(origin + path, { redirect: 'manual' });
    expect(r.status === 403, path + ' without a session is 403');
  }

  // 4. Wrong codes lock the pickup.
  await openFromWebmail(page, scenario.lock_link, 'lock');
  await page.getByRole('button', { name: 'Code anfordern' }).click();
  const real = await smsCode();
  const wrong = (real[0] === '0' ? '1' : '0') + real.slice(1);
  for (let i = 0; i < scenario.max_attempts; i++) {
    await page.getByLabel('Bestätigungscode').fill(wrong);
    await page.getByRole('button', { name: 'Bestätigen' }).click();
    await page.waitForLoadState();
  }
  await page.screenshot({ path: join(shots, '06-locked.png'), fullPage: true });
  expect((await page.textContent('h1')).includes('Zugang gesperrt'), 'wrong codes lock the pickup');

  // 5. Revoked, expired and tampered links.
  await page.goto(scenario.revoked_link);
  await page.screenshot({ path: join(shots, '07-revoked.png'), fullPage: true });
  expect((await page.textContent('h1')).includes('nicht mehr verfügbar'), 'revoked link shows a clear page');
  await page.goto(scenario.expired_link);
  expect((await page.textContent('h1')).includes('nicht mehr verfügbar'), 'expired link shows a clear page');
  const tampered = scenario.link.slice(0, -3) + (scenario.link.endsWith('AAA') ? 'BBB' : 'AAA');
  await page.goto(tampered);
  await page.screenshot({ path: join(shots, '08-tampered.png'), fullPage: true });
  const tamperedTitle = await page.textContent('h1');
  const u = new URL(scenario.link);
  const parts = u.pathname.split('/');
  parts[2] = (parts[2][0] === 'a' ? 'b' : 'a') + parts[2].slice(1);
  await page.goto(origin + parts.join('/'));
  expect(tamperedTitle.includes('Link ungültig') && (await page.textContent('h1')) === tamperedTitle,
         'tampered secret and tampered id give the same page');

  // 6. A later pickup opens with the portal password instead of a code.
  await openFromWebmail(page, scenario.password_link, 'password pickup');
  await page.getByLabel('Portal-Kennwort').fill(scenario.portal_password);
  await page.screenshot({ path: join(shots, '10-password-login.png'), fullPage: true });
  await page.getByRole('button', { name: 'Mit Kennwort anmelden' }).click();
  await page.waitForURL(origin + '/read');
  expect((await page.textContent('main')).includes(scenario.expect_text), 'portal password opens a later pickup');
  expect((await page.locator('a[href="/password"]').count()) === 0, 'no password offer to a password session');

  expect(result.offsite_requests.length === 0, 'no request left 127.0.0.1: ' + result.offsite_requests.join(' '));
  expect(result.dialogs.length === 0, 'no dialogs were opened');

  // 7. The hostile message once more with the page's CSP switched off: now
  // only the sanitiser stands between the message and the browser.
  const bareDir = mkdtempSync(join(tmpdir(), 'sealpost-chromium-nocsp-'));
  const bare = await chromium.launchPersistentContext(bareDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 360, height: 740 },
    locale: 'de-DE',
    bypassCSP: true,
  });
  try {
    await bare.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin + '/')) return route.continue();
      result.offsite_requests.push(url);
      return route.abort();
    });
    await serveWebmail(bare);
    const p2 = bare.pages()[0] || (await bare.newPage());
    p2.on('dialog', (d) => { result.dialogs.push(d.message()); d.dismiss(); });
    await authenticate(p2, scenario.hostile_link, null);
    await p2.waitForLoadState('networkidle');
    await checkHostile(p2, 'CSP bypassed');
    expect(result.offsite_requests.length === 0,
           'CSP bypassed: still no request left 127.0.0.1: ' + result.offsite_requests.join(' '));
    expect(result.dialogs.length === 0, 'CSP bypassed: no dialogs were opened');
  } finally {
    await bare.close();
    rmSync(bareDir, { recursive: true, force: true });
  }
} catch (e) {
  result.error = String(e && e.stack || e);
  exitCode = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(exitCode);

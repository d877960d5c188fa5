// browser.js - the e-service in a real browser: headless Chromium driven by
// playwright-core, its context presenting Anna's client certificate. Logs
// in, sees the municipality's children, files a report, and (after the
// shell's STOP_DIRECTORY command) sees the disruption notice. Prints one
// "ok"/"not ok" line per step; a screenshot of each step goes to SHOTS.
// Environment: PLAYWRIGHT (its node_modules), BASE (https://127.0.0.1:PORT),
// CERT, KEY, SHOTS, STOP_DIRECTORY (a shell command).
'use strict';
const { execSync } = require('child_process');
const path = require('path');
const { chromium } = require(path.join(process.env.PLAYWRIGHT, 'node_modules', 'playwright-core'));

let failed = 0;
function ok(cond, desc) {
  console.log((cond ? 'ok' : 'not ok') + ' - ' + desc);
  if (!cond) failed++;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // the test root is not Node's: the handshake is Playwright's, in Node
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      clientCertificates: [{ origin: process.env.BASE, certPath: process.env.CERT,
        keyPath: process.env.KEY }],
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    const shot = (name) => page.screenshot({ path: path.join(process.env.SHOTS, name),
      fullPage: true });

    let resp = await page.goto(process.env.BASE + '/');
    ok(resp.status() === 200, 'the browser logs in with Anna\'s certificate (' + resp.status() + ')');
    const table = await page.textContent('#ansvar');
    ok(table.includes('Amir Testsson') && !table.includes('Omar Söderberg'),
      'and sees Norrby\'s children, not Söderås\'s');
    ok(await page.locator('#storning').count() === 0, 'no disruption notice while all is well');
    await shot('1-ansvar.png');

    await page.click('text=Anmäl ändring >> nth=0');
    await page.fill('input[name=datum]', '2026-11-15');
    await page.fill('textarea[name=text]', 'Flyttat till familjehem');
    await shot('2-anmal.png');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    ok((await page.textContent('#kvitto')).includes('är sparad'), 'files a report');
    ok((await page.textContent('#sista-dag')).match(/^20\d\d-\d\d-07$/) !== null,
      'and is shown its deadline');
    await shot('3-kvitto.png');

    execSync(process.env.STOP_DIRECTORY, { stdio: 'ignore' });
    resp = await page.goto(process.env.BASE + '/');
    ok(resp.status() === 200, 'with the directory stopped, the page still opens');
    ok(await page.locator('#storning').count() === 1 &&
      (await page.textContent('#storning')).includes('störd'),
      'and shows the disruption notice by itself');
    await shot('4-storning.png');
  } catch (e) {
    ok(false, 'the browser session ran to its end: ' + e.message.split('\n')[0]);
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();

// Browser tests of the publisher pages (src/web/ui-user.c, ui-publish.c, src/http/publish.c):
// sign in (a wrong password refused, the right one accepted, the session cookie's flags),
// create a dataset (an invalid one first: the error next to its field), upload a CSV
// with the progress bar and watch its ingest to the end, preview the table, re-type a
// column (a value that does not fit is reported with its line; a type that fits
// re-ingests), the same upload without JavaScript, sign out. axe-core on every page.
// Run by ctest (browser/publish); screenshots go to KAIFANG_ARTIFACTS.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, axeViolations, cli, launch, makePortal, serve, shot } from './harness.mjs';

const PASSWORD = 'a long enough password';
const ORG = 'publishing-office';
let fixture, server, browser, context, csvPath;

before(async () => {
    fixture = makePortal();
    cli(fixture.portal, 'organization', 'add', ORG, '--title', 'Publishing Office');
    cli(fixture.portal, 'user', 'add', 'pub');
    const p = spawnSync(BIN, ['user', 'password', 'pub', '--portal', fixture.portal],
                        { input: PASSWORD + '\n', encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    cli(fixture.portal, 'member', 'add', ORG, 'pub', 'editor');
    // A table of a few rows; "x13" is no integer (line 3 of the file).
    csvPath = path.join(fixture.dir, 'rainfall.csv');
    fs.writeFileSync(csvPath, 'station,year,rain_mm\nHaidian,2021,512\nChaoyang,2022,x13\n' +
                              'Fengtai,2023,498\n');
    server = await serve(fixture.portal);
    browser = await launch();
    context = await browser.newContext({ locale: 'en-GB' });
});

after(async () => {
    await context?.close();
    await browser?.close();
    const code = await server?.stop();
    if (fixture) fs.rmSync(fixture.dir, { recursive: true, force: true });
    assert.equal(code, 0, `kaifang serve exited ${code}:\n${server?.stderr()}`);
    for (const m of ['ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'])
        assert.ok(!server.stderr().includes(m), server.stderr());
});

/** Status, security headers, axe-core (no serious or critical violation; not in a
 *  context without JavaScript, where axe cannot run: the same pages are checked with it). */
async function check(page, resp, where, status = 200, axe = true) {
    if (resp) {
        assert.equal(resp.status(), status, `${where}: status`);
        const h = resp.headers();
        assert.match(h['content-security-policy'] || '', /script-src 'self'(;|$)/, where);
        assert.equal(h['x-content-type-options'], 'nosniff', where);
    }
    if (axe) assert.deepEqual(await axeViolations(page), [], `${where}: axe-core`);
}

async function submit(page, selector, where, status = 200, axe = true) {
    const [resp] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
    await check(page, resp, where, status, axe);
    return resp;
}

async function signIn(ctx, name, password) {
    const page = await ctx.newPage();
    const resp = await page.goto(server.url + '/user/login');
    await check(page, resp, '/user/login');
    await page.fill('#login-name', name);
    await page.fill('#login-password', password);
    return page;
}

const sessionCookie = async (ctx) =>
    (await ctx.cookies()).find((c) => c.name === 'kf_session');

describe('publisher pages', () => {
    let dsName, ingestUrl;

    test('sign in: a wrong password is refused, the right one accepted', async () => {
        let page = await signIn(context, 'pub', 'not the password');
        await shot(page, 'login');
        await submit(page, 'form.login button', 'wrong password', 403);
        assert.match(await page.locator('#login-error').innerText(), /Wrong user name or password/);
        assert.equal(await sessionCookie(context), undefined);
        // The form comes back with the name kept and the password empty.
        assert.equal(await page.inputValue('#login-name'), 'pub');
        assert.equal(await page.inputValue('#login-password'), '');
        await page.close();

        page = await signIn(context, 'pub', PASSWORD);
        await submit(page, 'form.login button', 'signed in');
        const c = await sessionCookie(context);
        assert.ok(c, 'a session cookie');
        assert.equal(c.httpOnly, true);
        assert.equal(c.sameSite, 'Lax');
        assert.equal(c.path, '/');
        assert.equal(c.secure, false); // the site URL is http here (e2e test_web_session: https)
        assert.ok(c.value.length >= 46, c.value);
        // No script can read it.
        assert.equal(await page.evaluate(() => document.cookie.includes('kf_session')), false);
        assert.match(await page.locator('header.site .user').innerText(), /^pub$/);
        await page.close();
    });

    test('create a dataset: the error next to its field, then created', async () => {
        const page = await context.newPage();
        let resp = await page.goto(server.url + '/dataset/new');
        await check(page, resp, '/dataset/new');
        await shot(page, 'dataset-new');
        await page.fill('#f-title', 'Rainfall by station');
        await page.fill('#f-name', 'Rainfall By Station'); // upper case and spaces: refused
        await page.selectOption('#f-owner_org', { label: 'Publishing Office' });
        await page.fill('#f-tag_string', 'rain, weather');
        await page.fill('#f-title_zh', '各站降雨量');
        await page.fill('#f-temporal', '2021-01-01/2023-12-31');
        await submit(page, 'form.publish button[type=submit]', 'invalid name', 409);
        assert.equal(await page.getAttribute('#f-name', 'aria-invalid'), 'true');
        assert.match(await page.locator('#e-name').innerText(), /lowercase alphanumeric/);
        assert.match(await page.getAttribute('#f-name', 'aria-describedby'), /e-name/);
        // What was typed is still there.
        assert.equal(await page.inputValue('#f-title'), 'Rainfall by station');
        assert.equal(await page.inputValue('#f-tag_string'), 'rain, weather');
        await shot(page, 'dataset-new-error');

        dsName = 'rainfall-' + Date.now();
        await page.fill('#f-name', dsName);
        resp = await submit(page, 'form.publish button[type=submit]', 'created');
        assert.equal(new URL(page.url()).pathname, '/dataset/' + dsName);
        assert.equal(await page.locator('h1').innerText(), 'Rainfall by station');
        assert.match(await page.locator('main').innerText(), /weather/);

        // Edit: the form holds the dataset's values; a change is saved.
        resp = await page.goto(server.url + '/dataset/edit/' + dsName);
        await check(page, resp, '/dataset/edit');
        assert.equal(await page.inputValue('#f-title_zh'), '各站降雨量');
        await page.fill('#f-notes', 'Daily **rainfall** at three stations.');
        await submit(page, 'form.publish button[type=submit]', 'edited');
        assert.equal(await page.locator('main strong').first().innerText(), 'rainfall');
        await page.close();
    });

    test('upload a CSV with the progress bar and watch it ingest', async () => {
        const page = await context.newPage();
        const progress = [];
        await page.exposeFunction('__uploadProgress', (loaded) => progress.push(loaded));
        const kinds = [];
        page.on('request', (r) => {
            if (r.method() === 'POST') kinds.push(r.resourceType());
        });
        const resp = await page.goto(`${server.url}/dataset/${dsName}/resource/new`);
        await check(page, resp, '/resource/new');
        assert.equal(await page.locator('.progress').isHidden(), true);
        // Record the upload's progress events as the page's script receives them.
        await page.evaluate(() => {
            const send = XMLHttpRequest.prototype.send;
            XMLHttpRequest.prototype.send = function (body) {
                this.upload.addEventListener('progress', (e) => window.__uploadProgress(e.loaded));
                return send.call(this, body);
            };
        });
        await page.setInputFiles('#f-upload', csvPath);
        await page.fill('#f-name', 'Rainfall');
        await Promise.all([page.waitForURL(/\/ingest$/), page.click('form.upload button')]);
        assert.deepEqual(kinds, ['xhr'], 'the form went through XMLHttpRequest');
        assert.ok(progress.length >= 1, 'upload progress events');
        ingestUrl = page.url();
        await page.waitForSelector('#ingest-live[data-done="true"]', { timeout: 60000 });
        assert.equal(await page.getAttribute('.ingest-status', 'data-status'), 'complete');
        assert.match(await page.locator('#ingest-live').innerText(), /Rows read\s*3/);
        await check(page, null, 'ingest page');
        await shot(page, 'ingest-complete');

        // The table preview.
        await submit(page, 'ul.actions a >> text=Preview the table', 'preview');
        const table = await page.locator('table.preview').innerText();
        assert.match(table, /Haidian/);
        assert.match(table, /Fengtai/);
        await page.close();
    });

    test('re-type a column: a misfit is reported with its line, a fit re-ingests', async () => {
        const page = await context.newPage();
        const dict = ingestUrl.replace(/\/ingest$/, '/dictionary');
        let resp = await page.goto(dict);
        await check(page, resp, '/dictionary');
        await shot(page, 'dictionary');
        assert.equal(await page.inputValue('#f-type_1'), 'int8'); // year
        assert.equal(await page.inputValue('#f-type_2'), 'text'); // rain_mm (holds "x13")
        await page.selectOption('#f-type_2', 'int8');
        await submit(page, 'form.dictionary button', 'misfit', 409);
        const msg = await page.locator('#errors').innerText();
        assert.match(msg, /line 3/);
        assert.match(msg, /x13/);
        // The table stays as it was: still text, still three rows.
        resp = await page.goto(dict);
        assert.equal(await page.inputValue('#f-type_2'), 'text');

        await page.selectOption('#f-type_1', 'text');
        await submit(page, 'form.dictionary button', 'retyped');
        assert.match(page.url(), /\/ingest$/);
        await page.waitForSelector('#ingest-live[data-done="true"]', { timeout: 60000 });
        assert.equal(await page.getAttribute('.ingest-status', 'data-status'), 'complete');
        resp = await page.goto(dict);
        assert.equal(await page.inputValue('#f-type_1'), 'text');
        await page.close();
    });

    test('the upload works without JavaScript', async () => {
        const ctx = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
        await ctx.addCookies([{ ...(await sessionCookie(context)) }]);
        const page = await ctx.newPage();
        const resp = await page.goto(`${server.url}/dataset/${dsName}/resource/new`);
        await check(page, resp, '/resource/new (no script)', 200, false);
        await page.setInputFiles('#f-upload', csvPath);
        await submit(page, 'form.upload button', 'uploaded (no script)', 200, false);
        assert.match(page.url(), /\/ingest$/);
        // Reloaded by hand until the ingest ends.
        for (let i = 0; i < 60; i++) {
            if ((await page.getAttribute('#ingest-live', 'data-done')) === 'true') break;
            await page.waitForTimeout(500);
            await page.reload();
        }
        assert.equal(await page.getAttribute('.ingest-status', 'data-status'), 'complete');
        await ctx.close();
    });

    test('Chinese pages', async () => {
        const ctx = await browser.newContext({ locale: 'zh-CN' });
        await ctx.addCookies([{ name: 'lang', value: 'zh_CN', url: server.url }]);
        const page = await ctx.newPage();
        const resp = await page.goto(server.url + '/user/login');
        await check(page, resp, '/user/login (zh)');
        assert.equal(await page.locator('h1').innerText(), '登录');
        assert.equal(await page.locator('label[for=login-password]').innerText(), '密码');
        await ctx.close();
    });

    test('sign out', async () => {
        const page = await context.newPage();
        const resp = await page.goto(server.url + '/');
        await check(page, resp, 'home (signed in)');
        await submit(page, 'form.logout button', 'signed out');
        assert.equal(await sessionCookie(context), undefined);
        assert.ok(await page.locator('header.site a[href^="/user/login"]').count() === 1);
        // The publisher pages now send the browser to sign in.
        await page.goto(`${server.url}/dataset/new`);
        assert.match(page.url(), /\/user\/login\?next=%2Fdataset%2Fnew$/);
        await page.close();
    });
});

// Browser tests of the account pages (src/web/ui-account.c, src/http/account.c): a
// sysadmin creates a user on /user; an organization's admin adds a member and gives the
// approver role on /organization/members/<org>; the approver approves a pending grant
// request on /organization/grants/<org> while the request of their own shows no button;
// anyone signed in creates an API token on /user/account (shown once) and revokes it.
// axe-core on every page, each page also at 375 px wide (no sideways scrolling), and the
// Chinese pages. Run by ctest (browser/accounts); screenshots go to KAIFANG_ARTIFACTS.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { BIN, axeViolations, cli, launch, makePortal, serve, shot } from './harness.mjs';

const PASSWORD = 'a long enough password';
const ORG = 'records-office';
let fixture, server, browser, grantId, ownGrantId;

function password(user) {
    const p = spawnSync(BIN, ['user', 'password', user, '--portal', fixture.portal],
                        { input: PASSWORD + '\n', encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
}

async function api(action, token, params) {
    const r = await fetch(`${server.url}/api/3/action/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: token },
        body: JSON.stringify(params),
    });
    const doc = await r.json();
    assert.equal(doc.success, true, `${action}: ${JSON.stringify(doc.error)}`);
    return doc.result;
}

function day(delta) {
    const d = new Date(Date.now() + delta * 86400000);
    return d.toISOString().slice(0, 10);
}

before(async () => {
    fixture = makePortal();
    cli(fixture.portal, 'organization', 'add', ORG, '--title', 'Records Office');
    cli(fixture.portal, 'user', 'add', 'root', '--sysadmin');
    for (const u of ['root', 'boss', 'appr', 'pub', 'newbie']) {
        if (u !== 'root') cli(fixture.portal, 'user', 'add', u);
        password(u);
    }
    cli(fixture.portal, 'user', 'add', 'operator');
    cli(fixture.portal, 'role', 'add', 'operator', 'grantee');
    cli(fixture.portal, 'member', 'add', ORG, 'boss', 'admin');
    cli(fixture.portal, 'member', 'add', ORG, 'pub', 'editor');
    server = await serve(fixture.portal);
    browser = await launch();
    const pubToken = cli(fixture.portal, 'token', 'create', 'pub').trim();
    const d = await api('package_create', pubToken, { name: 'clinic-visits', title: 'Clinic visits',
                                                      owner_org: ORG,
                                                      access_level: 'restricted public' });
    await api('datastore_create', pubToken, { resource: { package_id: d.id, name: 'visits' },
                                              fields: [{ id: 'district', type: 'text' },
                                                       { id: 'visits', type: 'int' }],
                                              records: [{ district: 'A', visits: 3 }] });
    const request = { dataset: d.id, grantee: 'operator', purpose: 'Planning <b>clinics</b>',
                      legal_basis: 'Statistics law, art. 7', columns: ['district', 'visits'],
                      valid_from: day(-1), valid_until: day(30) };
    grantId = (await api('grant_request', pubToken, request)).id;
    // The approver will also be an editor who requested a grant: the two-person rule.
    cli(fixture.portal, 'member', 'add', ORG, 'appr', 'editor');
    const apprToken = cli(fixture.portal, 'token', 'create', 'appr').trim();
    ownGrantId = (await api('grant_request', apprToken, { ...request, purpose: 'My own request' })).id;
});

after(async () => {
    await browser?.close();
    const code = await server?.stop();
    if (fixture) fs.rmSync(fixture.dir, { recursive: true, force: true });
    assert.equal(code, 0, `kaifang serve exited ${code}:\n${server?.stderr()}`);
    for (const m of ['ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'])
        assert.ok(!server.stderr().includes(m), server.stderr());
});

async function check(page, resp, where, status = 200) {
    assert.equal(resp.status(), status, `${where}: status`);
    assert.deepEqual(await axeViolations(page), [], `${where}: axe-core`);
}

/** The page at 375 px: usable without scrolling sideways, axe-core still clean. */
async function narrow(page, where) {
    const size = page.viewportSize();
    await page.setViewportSize({ width: 375, height: 800 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 375, `${where}: ${wide} px wide at 375`);
    assert.deepEqual(await axeViolations(page), [], `${where} at 375 px: axe-core`);
    await shot(page, `${where.replace(/\W+/g, '-')}-375`);
    await page.setViewportSize(size);
}

async function submit(page, selector, where, status = 200) {
    const [resp] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
    await check(page, resp, where, status);
    return resp;
}

/** A new browser context signed in as name; returns its page. */
async function signedIn(name, locale = 'en-GB') {
    const ctx = await browser.newContext({ locale });
    const page = await ctx.newPage();
    await page.goto(server.url + '/user/login');
    await page.fill('#login-name', name);
    await page.fill('#login-password', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('form.login button')]);
    assert.match(await page.locator('header.site .user').innerText(), new RegExp(`^${name}$`));
    return page;
}

describe('account pages', () => {
    test('a sysadmin creates a user', async () => {
        const page = await signedIn('root');
        const resp = await page.goto(server.url + '/user');
        await check(page, resp, '/user');
        await narrow(page, 'users');
        await page.fill('#f-name', 'Not A Name');
        await submit(page, 'form.account button[type=submit]', 'bad user name', 409);
        assert.match(await page.locator('#e-create').innerText(), /lowercase/);
        await page.fill('#f-name', 'clerk');
        await page.fill('#f-fullname', 'A <b>clerk</b>');
        await page.fill('#f-password', PASSWORD);
        await submit(page, 'form.account button[type=submit]', 'user created');
        assert.match(await page.locator('p.notice').innerText(), /The user was created/);
        assert.ok(await page.locator('tbody th', { hasText: 'clerk' }).count() >= 1);
        assert.equal(await page.locator('main b').count(), 0); // the markup is text
        await shot(page, 'users');
        await page.context().close();
    });

    test('an organization admin adds a member and gives the approver role', async () => {
        const page = await signedIn('boss');
        const resp = await page.goto(server.url + `/organization/members/${ORG}`);
        await check(page, resp, 'members');
        await narrow(page, 'members');
        await page.fill('#f-username', 'newbie');
        await page.selectOption('#f-capacity', 'member');
        await submit(page, 'form.account:has(#f-username) button', 'member added');
        assert.match(await page.locator('p.notice').innerText(), /The member was saved/);
        await page.fill('#f-role-user', 'appr');
        await page.selectOption('#f-role', 'approver');
        await submit(page, 'form.account:has(#f-role) button', 'role given');
        assert.match(await page.locator('p.notice').innerText(), /The role was given/);
        await shot(page, 'members');
        await page.context().close();
    });

    test('the approver approves a request, never their own', async () => {
        const page = await signedIn('appr');
        const resp = await page.goto(server.url + `/organization/grants/${ORG}`);
        await check(page, resp, 'grant requests');
        await narrow(page, 'grants');
        const own = page.locator(`section.grant:has(#g-${ownGrantId})`);
        assert.match(await own.innerText(), /another approver decides it/);
        assert.equal(await own.locator('button').count(), 0);
        const other = page.locator(`section.grant:has(#g-${grantId})`);
        assert.match(await other.innerText(), /Planning <b>clinics<\/b>/);
        await other.locator('input[name=note]').fill('Within the statistics law');
        await shot(page, 'grants');
        await submit(page, `section.grant:has(#g-${grantId}) button[value=approve]`, 'approved');
        assert.match(await page.locator('p.notice').innerText(), /The grant was approved/);
        assert.equal(await page.locator(`#g-${grantId}`).count(), 0);
        await page.context().close();
    });

    test('my account: a token shown once, then revoked; the page in Chinese', async () => {
        const page = await signedIn('pub');
        let resp = await page.goto(server.url + '/user/account');
        await check(page, resp, '/user/account');
        await narrow(page, 'account');
        await page.fill('#f-label', 'nightly harvest');
        await submit(page, 'form.account:has(#f-label) button', 'token created');
        const token = await page.locator('#new-token').innerText();
        assert.match(token, /^kf_/);
        const r = await fetch(`${server.url}/api/3/action/grant_list`, { headers: { Authorization: token } });
        assert.equal(r.status, 200);
        resp = await page.goto(server.url + '/user/account');
        assert.equal(await page.locator('#new-token').count(), 0);
        assert.ok(!(await page.content()).includes(token));
        await submit(page, 'button[aria-label="Revoke nightly harvest"]', 'token revoked');
        assert.match(await page.locator('p.notice').innerText(), /revoked/);
        const again = await fetch(`${server.url}/api/3/action/grant_list`, { headers: { Authorization: token } });
        assert.equal(again.status, 403);
        await page.context().close();

        const zh = await signedIn('pub', 'zh-CN');
        resp = await zh.goto(server.url + '/user/account');
        await check(zh, resp, '/user/account (zh)');
        assert.match(await zh.locator('h1').innerText(), /我的账户/);
        await shot(zh, 'account-zh');
        await zh.context().close();
    });
});

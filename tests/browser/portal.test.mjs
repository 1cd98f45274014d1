// Browser tests of the web portal: one server and one browser for the whole file, as
// starting an ASan build and chromium is most of the time. Run by ctest (browser/portal);
// screenshots of the main pages go to KAIFANG_ARTIFACTS.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { SOURCE_DIR, axeViolations, launch, makePortal, serve, shot } from './harness.mjs';

let fixture, server, browser, context;

before(async () => {
    fixture = makePortal();
    server = await serve(fixture.portal);
    browser = await launch();
    context = await browser.newContext({ locale: 'en-GB', acceptDownloads: true });
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

/** Checks what every page must have: status, security headers, no axe-core violation
 *  that is serious or critical, no script error. */
async function checkPage(page, resp, where, status = 200) {
    assert.equal(resp.status(), status, `${where}: status`);
    const h = resp.headers();
    const csp = h['content-security-policy'] || '';
    assert.match(csp, /frame-ancestors 'none'/, where);
    assert.match(csp, /script-src 'self'(;|$)/, where);
    assert.doesNotMatch(csp, /unsafe/, where);
    assert.equal(h['x-content-type-options'], 'nosniff', where);
    assert.deepEqual(await axeViolations(page), [], `${where}: axe-core`);
}

/** Opens path in a new page of ctx and checks it (checkPage); name: save a screenshot. */
async function open(urlPath, { status = 200, name = null, ctx = context } = {}) {
    const page = await ctx.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    const resp = await page.goto(server.url + urlPath);
    await checkPage(page, resp, urlPath, status);
    if (name) await shot(page, name);
    return page;
}

/** Follows a click that loads a new document and checks that page too. */
async function clickAndCheck(page, locator, where) {
    const [resp] = await Promise.all([page.waitForNavigation(), locator.click()]);
    await checkPage(page, resp, where);
    return resp;
}

const text = (page, sel) => page.locator(sel).first().innerText();

describe('pages', () => {
    test('home: search box, counts, newest datasets, organizations', async () => {
        const page = await open('/', { name: 'home' });
        assert.match(await text(page, '.counts'), /22 datasets · \d+ organizations/);
        assert.ok((await page.locator('ul.datasets li').count()) >= 5);
        assert.ok((await page.locator('ul.organizations li a').count()) >= 10);
        // No script on the home page at all (nothing can block its rendering).
        assert.equal(await page.locator('script').count(), 0);
        await page.fill('#home-q', 'unemployment');
        await Promise.all([page.waitForURL(/\/dataset\?q=unemployment$/),
                           page.press('#home-q', 'Enter')]);
        assert.match(await text(page, 'ul.datasets'), /County Unemployment/);
        await page.close();
    });

    test('search in English and in Chinese', async () => {
        const page = await open('/dataset?q=weather', { name: 'search' });
        assert.match(await text(page, '.result-count'), /datasets? found/);
        assert.match(await text(page, 'ul.datasets'), /Seattle Daily Weather/);
        await page.close();
        const zh = await open('/dataset?q=' + encodeURIComponent('行政区划'));
        assert.match(await text(zh, 'ul.datasets'), /China Administrative Division Codes/);
        assert.match(await text(zh, ".result-count"), /^\d+ datasets? found/);
        await zh.close();
    });

    test('facets filter, count and keep their state in the URL', async () => {
        const page = await open('/dataset');
        const total = Number((await text(page, '.result-count')).match(/\d+/)[0]);
        const org = page.locator('[data-facet=organization] a').filter({ hasText: /NOAA/ });
        const orgCount = Number((await org.locator('.count').innerText()).trim());
        await clickAndCheck(page, org, 'organization facet');
        assert.match(page.url(), /organization=noaa-/);
        assert.equal(Number((await text(page, '.result-count')).match(/\d+/)[0]), orgCount);
        assert.ok(orgCount < total);
        // A second facet narrows further and keeps the first one.
        const fmt = page.locator('[data-facet=res_format] a').first();
        await clickAndCheck(page, fmt, 'format facet');
        assert.match(page.url(), /organization=noaa-.*res_format=/);
        // Sorting keeps the filters.
        await page.selectOption('#sort', 'title_string asc');
        await Promise.all([page.waitForNavigation(), page.click('form.sort button')]);
        assert.match(page.url(), /organization=noaa-.*sort=title_string/);
        const titles = await page.locator('ul.datasets li > a').allInnerTexts();
        assert.deepEqual(titles, [...titles].sort((a, b) => a.localeCompare(b)));
        // The selected facet value removes itself, and the back button goes back.
        await clickAndCheck(page, page.locator('[data-facet=organization] a.selected'),
                            'facet removed');
        assert.doesNotMatch(page.url(), /organization=/);
        await page.goBack();
        assert.match(page.url(), /organization=noaa-/);
        await page.close();
    });

    test('search pages through results', async () => {
        const page = await open('/dataset?sort=title_string%20asc');
        const first = await page.locator('ul.datasets li > a').allInnerTexts();
        assert.equal(first.length, 20);
        await clickAndCheck(page, page.locator('a[rel=next]'), 'search page 2');
        assert.match(page.url(), /page=2/);
        const second = await page.locator('ul.datasets li > a').allInnerTexts();
        assert.equal(second.length, 2);
        assert.ok(!second.some((t) => first.includes(t)));
        await page.close();
    });

    test('dataset page: facts, resources, dictionary, API snippet; download matches', async () => {
        const page = await open('/dataset/noaa-seattle-daily-weather', { name: 'dataset' });
        assert.equal(await text(page, 'h1'), 'Seattle Daily Weather, 2012–2015');
        const facts = await text(page, 'dl.facts');
        assert.match(facts, /Licence/);
        assert.match(facts, /2012-01-01\/2015-12-31/);
        assert.match(await text(page, '.publisher'), /NOAA/);
        assert.match(await text(page, 'table.dictionary'), /temp_max\s+number/);
        const rid = await page.locator('li.resource h3 a').getAttribute('href');
        const id = rid.split('/').pop();
        assert.match(await text(page, 'section.api'), new RegExp(`resource_id=${id}`));
        assert.equal(await page.locator('a[href$="/datapackage.json"]').count(), 1);
        const [download] = await Promise.all([page.waitForEvent('download'),
                                              page.click('a.download')]);
        const got = fs.readFileSync(await download.path());
        const want = fs.readFileSync(path.join(SOURCE_DIR, 'examples', 'catalog',
                                               'noaa-seattle-daily-weather',
                                               'seattle-weather.csv'));
        assert.ok(got.equals(want), 'downloaded bytes differ from the loaded file');
        await page.close();
    });

    test('resource page: preview pages, sorts and filters without JavaScript', async () => {
        const ctx = await browser.newContext({ javaScriptEnabled: false });
        const ds = await ctx.newPage();
        await ds.goto(server.url + '/dataset/noaa-seattle-daily-weather');
        await ds.click('li.resource h3 a');
        assert.match(await text(ds, 'p.rows'), /Rows 1–25 \/ 1461/);
        assert.equal(await ds.getAttribute('.ingest-status', 'data-status'), 'complete');
        assert.match(await text(ds, 'section.ingest'), /Rows read\s+1461/);
        assert.equal(await ds.locator('table.preview tbody tr').count(), 25);
        await ds.click('a[rel=next]');
        assert.match(await text(ds, 'p.rows'), /Rows 26–50 \/ 1461/);
        // Sort by temp_max, then descending.
        await ds.click('table.preview th a:has-text("temp_max")');
        await ds.click('table.preview th a:has-text("temp_max")');
        assert.equal(await ds.locator('th[aria-sort=descending]').count(), 1);
        const col = await ds.locator('table.preview thead th').allInnerTexts();
        const i = col.findIndex((t) => t.startsWith('temp_max'));
        const vals = await ds.locator(`table.preview tbody tr td:nth-child(${i + 1})`)
            .allInnerTexts();
        const nums = vals.map(Number);
        assert.deepEqual(nums, [...nums].sort((a, b) => b - a));
        // Filter weather = snow.
        await ds.selectOption('#f-column', 'weather');
        await ds.fill('#f-value', 'snow');
        await ds.click('form.filter button');
        const rows = await text(ds, 'p.rows');
        assert.match(rows, /Rows 1–\d+ \/ \d+/);
        const w = col.findIndex((t) => t.startsWith('weather'));
        const weathers = await ds.locator(`table.preview tbody tr td:nth-child(${w + 1})`)
            .allInnerTexts();
        assert.ok(weathers.length > 0 && weathers.every((v) => v === 'snow'), weathers.join());
        await shot(ds, 'resource-nojs');
        await ctx.close();
    });

    test('resource page draws a chart and redraws it for other columns', async () => {
        const page = await open('/dataset/noaa-seattle-daily-weather');
        await clickAndCheck(page, page.locator('li.resource h3 a'), 'resource page');
        await page.waitForSelector('#chart[data-drawn="date|precipitation"] svg');
        assert.ok((await page.locator('#chart svg path').count()) > 0);
        await page.selectOption('#chart-y', 'temp_max');
        await page.waitForSelector('#chart[data-drawn="date|temp_max"] svg');
        // A text column makes a bar chart.
        await page.selectOption('#chart-x', 'weather');
        await page.waitForSelector('#chart[data-drawn="weather|temp_max"] svg');
        assert.ok((await page.locator('#chart svg .mark-rect path').count()) >= 5);
        assert.deepEqual(page.errors, []);
        await shot(page, 'resource');
        await page.close();
    });

    test('organizations, themes, licences, the API, ledger and audit pages', async () => {
        const orgs = await open('/organization', { name: 'organizations' });
        await clickAndCheck(orgs, orgs.locator('ul.cards a').filter({ hasText: /Statistics of China/ }),
                            'organization page');
        assert.match(await text(orgs, 'ul.datasets'), /China Administrative Division Codes/);
        await orgs.close();
        (await open('/group')).close();
        const lic = await open('/licenses');
        assert.ok((await lic.locator('tbody tr').count()) >= 5);
        await lic.close();
        const api = await open('/api');
        assert.match(await text(api, 'main'), /package_search/);
        await api.close();
        const ledger = await open('/ledger', { name: 'ledger' });
        assert.match(await text(ledger, 'main'), /datastore_ingest|dataset_create/);
        await ledger.close();
        const audit = await open('/audit', { name: 'audit' });
        await audit.close();
        const nf = await open('/dataset/no-such-dataset', { status: 404 });
        await nf.close();
    });
});

describe('ingest', () => {
    test('an upload the datastore cannot read shows its error on the resource page', async () => {
        const post = async (action, body) => {
            const r = await fetch(`${server.url}/api/3/action/${action}`, {
                method: 'POST', body,
                headers: { Authorization: fixture.token,
                           ...(typeof body === 'string' ? { 'Content-Type': 'application/json' } : {}) } });
            return [r.status, await r.json()];
        };
        const upload = (dataset) => {
            const form = new FormData();
            form.set('package_id', dataset);
            form.set('name', 'broken.xlsx');
            form.set('upload', new Blob(['this is not a workbook\n']), 'broken.xlsx');
            return post('resource_create', form);
        };
        // Into a public dataset a file that cannot be scanned is refused, nothing stored
        // (docs/internals/privacy-gate.md, "A refused upload").
        let [status, doc] = await upload('xss-test-dataset');
        assert.equal(status, 409, JSON.stringify(doc));
        assert.equal(doc.error.privacy_gate.reasons[0].reason, 'unscanned', JSON.stringify(doc));
        assert.equal(doc.error.resource_id, undefined, JSON.stringify(doc));
        // Into a private one it is kept, and its editor sees the ingest's error.
        const [, shown] = await post('package_show', JSON.stringify({ id: 'xss-test-dataset' }));
        [status, doc] = await post('package_create', JSON.stringify(
            { name: 'unreadable-private', owner_org: shown.result.owner_org, private: true }));
        assert.equal(status, 200, JSON.stringify(doc));
        [status, doc] = await upload('unreadable-private');
        assert.equal(status, 200, JSON.stringify(doc));
        const page = await context.newPage();
        await page.setExtraHTTPHeaders({ Authorization: fixture.token });
        const url = `${server.url}/dataset/unreadable-private/resource/${doc.result.id}`;
        // The ingest runs on the server's worker: reload until it has finished.
        for (let i = 0; i < 100; i++) {
            await page.goto(url);
            const st = await page.locator('.ingest-status').getAttribute('data-status')
                .catch(() => null);
            if (st === 'error' || st === 'complete') break;
            await page.waitForTimeout(200);
        }
        assert.equal(await page.getAttribute('.ingest-status', 'data-status'), 'error');
        assert.ok((await text(page, 'section.ingest dd.error')).length > 5);
        assert.match(await text(page, 'main'), /This resource has no table to preview/);
        assert.deepEqual(await axeViolations(page), []);
        await shot(page, 'ingest-error');
        await page.close();
    });
});

describe('language', () => {
    test('Accept-Language picks Chinese; the switch and its cookie win', async () => {
        const ctx = await browser.newContext({ locale: 'zh-CN' });
        const page = await open('/', { ctx, name: 'home-zh' });
        assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
        assert.match(await text(page, 'h1'), /政府开放数据/);
        assert.match(await text(page, '.counts'), /22 个数据集/);
        // A dataset with a Chinese title shows it.
        await page.goto(server.url + '/dataset/cn-nbs-administrative-divisions-2023');
        assert.match(await text(page, 'h1'), /2023年统计用区划代码/);
        // Switch to English: the same page, in English, remembered.
        await clickAndCheck(page, page.locator('a.lang'), 'switch to English');
        assert.match(page.url(), /\/dataset\/cn-nbs-administrative-divisions-2023$/);
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        assert.match(await text(page, 'h1'), /China Administrative Division Codes/);
        await page.goto(server.url + '/dataset?q=weather');
        assert.match(await text(page, '.result-count'), /found/);
        const cookies = await ctx.cookies();
        assert.equal(cookies.find((c) => c.name === 'lang').value, 'en');
        await clickAndCheck(page, page.locator('a.lang'), 'switch to Chinese');
        assert.match(page.url(), /\/dataset\?q=weather$/);
        assert.match(await text(page, '.result-count'), /找到 \d+ 个数据集/);
        await ctx.close();
    });
});

describe('security', () => {
    test('the markup dataset renders its title, columns and cells as text', async () => {
        const search = await open('/dataset?q=markup', { name: 'xss-search' });
        await clickAndCheck(search, search.locator('ul.datasets li > a').first(), 'xss dataset');
        assert.match(search.url(), /\/dataset\/xss-test-dataset$/);
        assert.equal(await text(search, 'h1'),
                     '<script>window.__xss=1</script><img src=x onerror="window.__xss=1"> Markup test');
        assert.match(await text(search, '.publisher'), /<b onmouseover="window.__xss=1">bold<\/b>/);
        assert.match(await text(search, 'dl.facts'), /<i>nowhere<\/i>/);
        assert.equal(await search.locator('main script, main img, main svg, main b, main i').count(), 0);
        assert.equal(await search.locator('a[href^="javascript:"]').count(), 0);
        await shot(search, 'xss-dataset');
        await clickAndCheck(search, search.locator('li.resource h3 a', { hasText: 'markup.csv' }),
                            'xss resource');
        const head = await search.locator('table.preview thead').innerText();
        assert.ok(head.includes('<script>window.__xss=1</script>'), head);
        const body = await search.locator('table.preview tbody').innerText();
        assert.ok(body.includes('<img src=x onerror=window.__xss=1>'), body);
        assert.ok(body.includes('"><svg onload=window.__xss=1>'), body);
        assert.equal(await search.locator('main table img, main table svg, main table script')
            .count(), 0);
        await search.waitForSelector('#chart[data-drawn]');
        assert.equal(await search.evaluate(() => window.__xss), undefined);
        assert.deepEqual(search.errors, []);
        await shot(search, 'xss-resource');
        await search.close();
    });

    test('the language switch only sends the browser back to this site', async () => {
        const page = await context.newPage();
        const resp = await page.goto(server.url + '/lang?to=en&next=//evil.example/');
        assert.equal(new URL(page.url()).host, new URL(server.url).host);
        assert.equal(resp.status(), 200);
        await page.close();
    });
});

describe('small screens', () => {
    test('pages fit a 375-pixel-wide screen', async () => {
        const ctx = await browser.newContext({ viewport: { width: 375, height: 800 } });
        for (const [p, name] of [['/', 'home-375'], ['/dataset?q=weather', 'search-375'],
                                 ['/dataset/noaa-seattle-daily-weather', 'dataset-375']]) {
            const page = await open(p, { ctx, name });
            const width = await page.evaluate(() => document.documentElement.scrollWidth);
            assert.ok(width <= 375, `${p}: ${width} px wide`);
            await page.close();
        }
        await ctx.close();
    });
});

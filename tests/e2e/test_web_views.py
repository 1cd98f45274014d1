"""Most-viewed datasets on the home page (src/catalog/views.c): dataset pages and
package_show calls are counted in memory by each server and flushed to the store as sums
(here at shutdown, SIGTERM); the home page lists the public datasets with the most views,
most first. Views of private and restricted datasets never show, HEAD is not a view, and
two servers sharing one portal add up."""

import re

from conftest import make_dataset, ok


def viewed_section(html):
    m = re.search(r'<section aria-labelledby="h-viewed">(.*?)</section>', html, re.S)
    return m.group(1) if m else None


def test_most_viewed_on_home_page(clone_portal, start_server):
    portal = clone_portal()
    a = start_server(portal, name="views-a")
    b = start_server(portal, name="views-b")
    tok = portal.tokens
    pa = make_dataset(a, tok["editor"], title="Viewed most")
    pb = make_dataset(a, tok["editor"], title="Viewed second")
    pc = make_dataset(a, tok["editor"], title="Never viewed")
    pp = make_dataset(a, tok["editor"], title="Private but popular", private=True)
    pr = make_dataset(a, tok["editor"], title="Restricted but popular",
                      access_level="restricted public")

    for _ in range(3):
        assert a.get("/dataset/" + pa["name"]).status_code == 200
    assert b.get("/dataset/" + pa["id"]).status_code == 200  # by id, on the other server
    ok(a.api("package_show", id=pb["name"]))
    for _ in range(2):
        assert b.get("/dataset/" + pb["name"]).status_code == 200
    for _ in range(10):
        page = a.get("/dataset/" + pp["name"], headers={"Authorization": tok["editor"]})
        assert page.status_code == 200
        ok(a.api("package_show", token=tok["editor"], id=pp["id"]))
        assert a.get("/dataset/" + pr["name"]).status_code == 200
        assert a.request("HEAD", "/dataset/" + pc["name"]).status_code == 200
    assert a.get("/dataset/no-such-dataset").status_code == 404

    # Counted in memory only: nothing is in the store before a flush.
    assert viewed_section(a.get("/").text) is None
    a.stop()
    b.stop()

    c = start_server(portal, name="views-c")
    home = c.get("/", headers={"Accept-Language": "en"})
    section = viewed_section(home.text)
    assert section is not None, home.text
    assert "Most viewed datasets" in section
    names = re.findall(r'href="/dataset/([^"]+)"', section)
    assert names == [pa["name"], pb["name"]], section
    assert "4 views" in section and "3 views" in section
    for hidden in (pc, pp, pr):
        assert hidden["name"] not in section
    # The Chinese page has the same list under its Chinese heading.
    zh = viewed_section(c.get("/", headers={"Accept-Language": "zh-CN"}).text)
    assert "浏览最多的数据集" in zh and re.findall(r'href="/dataset/([^"]+)"', zh) == names
    # A signed-in editor of the private dataset sees the public list too.
    mine = viewed_section(c.get("/", headers={"Authorization": tok["editor"]}).text)
    assert pp["name"] not in mine and re.findall(r'href="/dataset/([^"]+)"', mine) == names

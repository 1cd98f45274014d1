"""package_search over HTTP after its page is spliced from the stored dataset texts
(docs/internals/catalog.md, "package_search as text"): every dataset in the results is
the dataset package_show gives (upload urls absolute under this server, links and text
untouched, hostile values intact), the body is valid JSON, and the ETag, 304 and gzip
work on the spliced bytes, for anonymous (cached) and signed-in (uncached) callers."""

import gzip
import json
import time

from conftest import ok, make_dataset, unique

HOSTILE = [
    '"url_type":"upload"',
    '{"url_type":"upload","url":"x"}',
    'kaifang-splice-00000000000000000000000000000000',
    '</script><b>"quoted"</b> \\ \u2028 统计局',
]


def upload(srv, token, package_id, content, filename):
    r = ok(srv.api("resource_create", token=token, params={"package_id": package_id, "name": filename},
                   files={"upload": (filename, content, "text/csv")}))
    # The ingest worker then makes the CSV a datastore table, which changes the dataset
    # (datastore_active, datastore_status): wait for it, so that the tests compare and
    # revalidate datasets at rest.
    deadline = time.monotonic() + 120
    while ok(srv.api("resource_show", token=token, id=r["id"])).get("datastore_status") in ("pending", "running"):
        assert time.monotonic() < deadline, "the ingest of %s did not finish" % r["id"]
        time.sleep(0.05)
    return r


def test_results_are_package_show(srv, tok):
    word = unique("rawword").replace("-", "")
    names = []
    for i, text in enumerate(HOSTILE):
        d = make_dataset(srv, tok["editor"], title="%s %s" % (word, text), notes=text,
                         private=(i == 1),
                         resources=[{"url": "http://example.org/a.csv?q=\"url_type\":\"upload\"",
                                     "name": text}])
        if i % 2 == 0:
            upload(srv, tok["editor"], d["id"], b"a,b\n1,2\n", "统计 %d.csv" % i)
        names.append(d["name"])

    for token in (None, tok["sysadmin"]):
        for _ in range(2):  # the second time from the response cache (anonymous)
            r = srv.api("package_search", token=token, q=word, rows=100, include_private=True)
            res = ok(r)
            want = 4 if token else 3
            assert res["count"] == want, res
            assert len(res["results"]) == want
            assert "kaifang-splice-" not in r.raw.decode("utf-8").replace(HOSTILE[2], "")
            for d in res["results"]:
                shown = ok(srv.api("package_show", token=tok["sysadmin"], id=d["name"]))
                assert d == shown
                for res_ in d["resources"]:
                    if res_["url_type"] == "upload":
                        assert res_["url"].startswith(srv.url + "/dataset/" + d["id"] + "/resource/")
                    else:
                        assert res_["url"] == "http://example.org/a.csv?q=\"url_type\":\"upload\""


def test_etag_gzip_on_spliced_bytes(srv, tok):
    word = unique("etagword").replace("-", "")
    for i in range(3):
        d = make_dataset(srv, tok["editor"], title="%s 北京 %d" % (word, i))
        upload(srv, tok["editor"], d["id"], b"x\n" * 600, "big.csv")
    path = "/api/3/action/package_search?q=%s&rows=3" % word
    ident = {"Accept-Encoding": "identity"}  # requests asks for gzip by default
    plain = srv.get(path, headers=ident)
    assert plain.status_code == 200
    body = json.loads(plain.content)
    assert body["result"]["count"] == 3
    etag = plain.headers["ETag"]
    assert srv.get(path, headers=dict(ident, **{"If-None-Match": etag})).status_code == 304

    z = srv.get(path, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert z.status_code == 200
    if z.headers.get("Content-Encoding") == "gzip":
        assert gzip.decompress(z.raw.read()) == plain.content
        assert z.headers["ETag"] != etag
    # Signed in: not cached, the same bytes.
    authed = srv.get(path, headers=dict(ident, Authorization=tok["member"]))
    assert authed.status_code == 200
    assert authed.content == plain.content

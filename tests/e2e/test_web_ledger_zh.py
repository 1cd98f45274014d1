"""The ledger and audit pages in Chinese (po/zh_CN.po): every label of /ledger (the
checkpoint, the key, the filter form, the table, the paging links) and of /audit (the
report's headings, sections and summaries) is translated on a Chinese page and stays
English on an English one; the data (entry types, names, hashes) is shown as it is."""

import os
import re
import time

from conftest import SOURCE_DIR, make_dataset

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}

LEDGER_ZH = ["公共账本", "最新检查点", "来源", "树大小", "根哈希", "签名注记", "验证密钥",
             "规范：", "记录", "筛选", "类型", "机构", "序号", "时间", "操作者", "对象", "证明",
             "包含证明"]
LEDGER_EN = ["Public ledger", "Latest checkpoint", "Origin", "Tree size", "Root hash",
             "The signed note", "Verifier key", "Specifications:", "Entries", "Filter",
             "Index", "Actor", "Objects", "inclusion proof"]

AUDIT_ZH = ["收费审计", "公共账本", "同一报告的 JSON 格式", "生成于", "笔收费",
            "没有已批准收费标准的收费", "超出收费标准有效期的收费", "高于收费标准价格的收费",
            "由创建者本人批准的收费标准", "由申请人本人批准的授权", "授权之外的读取",
            "过期后仍被使用的授权", "未经授权即被公开的受限资源", "隐私闸门放行",
            "存储与账本不一致", "此版本未检查的项目", "未发现"]
AUDIT_EN = ["Audit of fees", "Charges with no approved fee schedule", "Charges outside",
            "Charges above", "Fee schedules approved by their creator",
            "Grants approved by their own requester", "Reads outside any grant",
            "Expired grants still used", "Restricted resources published without a grant",
            "Privacy overrides", "Store and ledger disagree",
            "Not checked by this version", "None found", "charges audited"]


def main_text(html):
    m = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert m, html[:500]
    return m.group(1)


def with_checkpoint(srv, path, headers):
    """The page once the sequencer has signed a checkpoint of the entries written."""
    deadline = time.monotonic() + 30
    while True:
        page = srv.get(path, headers=headers)
        assert page.status_code == 200, page.text[:500]
        if 'id="tree-size"' in page.text or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


def test_ledger_page_in_chinese(srv, tok):
    make_dataset(srv, tok["editor"], title="账本页面")
    zh = with_checkpoint(srv, "/ledger", ZH)
    assert '<html lang="zh-CN">' in zh.text
    body = main_text(zh.text)
    for label in LEDGER_ZH:
        assert label in body, label
    for label in LEDGER_EN:
        assert label not in body, label
    assert "dataset_create" in body  # entry types are data, shown as they are
    en = main_text(srv.get("/ledger", headers=EN).text)
    for label in LEDGER_EN:
        assert label in en, label
    # The filtered page's note and the paging links.
    zf = main_text(srv.get("/ledger?type=dataset_create", headers=ZH).text)
    assert "筛选每页最多查看 4096 条记录" in zf
    assert "Filters look at" not in zf
    none = main_text(srv.get("/ledger?type=no-such-type", headers=ZH).text)
    assert "这里没有记录。" in none and "No entries here" not in none
    older = main_text(srv.get("/ledger?before=1", headers=ZH).text)
    assert "最新的记录" in older and "Newest entries" not in older


def test_audit_page_in_chinese(srv):
    zh = srv.get("/audit", headers=ZH)
    assert zh.status_code == 200
    body = main_text(zh.text)
    for label in AUDIT_ZH:
        assert label in body, label
    for label in AUDIT_EN:
        assert label not in body, label
    en = main_text(srv.get("/audit", headers=EN).text)
    for label in AUDIT_EN:
        assert label in en, label
    # The cookie chooses as well, and the switch goes back to the same page.
    cookie = srv.get("/audit", headers={"Cookie": "lang=zh_CN", "Accept-Language": "en"})
    assert "收费审计" in cookie.text


def test_every_page_string_has_a_chinese_translation():
    # po/zh_CN.po must translate every string xgettext extracts from the pages: an empty
    # msgstr shows English on a Chinese page. msgattrib (GNU gettext, which the build
    # needs for msgfmt) lists the untranslated and fuzzy entries.
    import subprocess
    po = os.path.join(SOURCE_DIR, "po", "zh_CN.po")
    for flag in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(["msgattrib", flag, "--no-obsolete", po], check=True,
                             capture_output=True, text=True).stdout
        # Nothing left: no output at all (else the header and each entry).
        assert out.strip() == "", (flag, out[:2000])

#!/usr/bin/env python3
"""Writes a synthetic catalog directory for `kaifang load`: N dataset folders, each a
metadata.json in the shape of examples/catalog (title, title_zh, description,
publisher, license, keywords) and, for one folder in EVERY, a small CSV resource.

    bench/gen-catalog.py OUT_DIR [N] [--every K]

Deterministic (seeded), so runs compare. Titles and keywords mix English and Chinese
words so that search has realistic postings lists: some words are in every dataset,
most in a few percent, a few in one.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import time

EN = ("population census traffic transport road rail air water river quality weather climate "
      "temperature rainfall budget revenue tax school hospital health education employment wage "
      "housing price energy electricity coal emissions forest land crop harvest fishery port "
      "airport flight bus metro bicycle accident crime court license permit business trade export "
      "import tourism museum library park waste recycling noise").split()
ZH = ("人口 普查 交通 运输 道路 铁路 航空 水质 河流 天气 气候 气温 降水 预算 收入 税收 学校 医院 卫生 "
      "教育 就业 工资 住房 价格 能源 电力 煤炭 排放 森林 土地 作物 渔业 港口 机场 航班 公交 地铁 "
      "事故 犯罪 法院 许可 企业 贸易 出口 进口 旅游 博物馆 图书馆 公园 垃圾 回收 噪声").split()
PLACES = ["Beijing", "Shanghai", "Guangdong", "Sichuan", "Hubei", "Zhejiang", "Jiangsu", "Shandong",
          "Henan", "Yunnan", "Gansu", "Xinjiang", "Tibet", "Hainan", "Fujian", "Anhui"]
ZH_PLACES = ["北京", "上海", "广东", "四川", "湖北", "浙江", "江苏", "山东", "河南", "云南", "甘肃", "新疆",
             "西藏", "海南", "福建", "安徽"]
PUBLISHERS = ["Bureau of %s Statistics" % p for p in PLACES] + \
             ["%s Department of %s" % (p, d) for p in PLACES[:8] for d in ("Transport", "Health", "Finance")]
LICENSES = ["CC BY 4.0", "CC0 1.0 (public domain dedication)", "ODbL 1.0", "U.S. Government Work (public domain)"]


def main():
    ap = argparse.ArgumentParser(description="write a synthetic catalog for kaifang load")
    ap.add_argument("out")
    ap.add_argument("n", nargs="?", type=int, default=100000)
    ap.add_argument("--every", type=int, default=100, help="one folder in EVERY gets a CSV file (0: none)")
    a = ap.parse_args()
    out, n, every = a.out, a.n, a.every
    rnd = random.Random(20261129)
    t0 = time.monotonic()
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        name = "gen-%06d" % i
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        words = rnd.sample(EN, 3)
        zh = rnd.sample(ZH, 2)
        p = rnd.randrange(len(PLACES))
        place, zh_place = PLACES[p], ZH_PLACES[p]
        year = 2000 + i % 24
        meta = {
            "title": "%s %s %s %d (#%d)" % (place, words[0], words[1], year, i),
            "title_zh": "%s%s%s %d年" % (zh_place, zh[0], zh[1], year),
            "description": "Synthetic dataset %d about %s, %s and %s in %s, %d. Generated for benchmarks."
                           % (i, words[0], words[1], words[2], place, year),
            "publisher": PUBLISHERS[i % len(PUBLISHERS)],
            "license": LICENSES[i % len(LICENSES)],
            "keywords": words + zh + ["year-%d" % year],
            "temporal": str(year),
            "spatial": place,
            "resources": [],
        }
        if every and i % every == 0:
            data = ("year,value\n" + "".join("%d,%d\n" % (year, rnd.randint(0, 10 ** 6)) for _ in range(20))).encode()
            with open(os.path.join(d, "data.csv"), "wb") as f:
                f.write(data)
            meta["resources"].append({"file": "data.csv", "bytes": len(data),
                                      "sha256": hashlib.sha256(data).hexdigest()})
        with open(os.path.join(d, "metadata.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
    sys.stderr.write("gen-catalog: %d datasets in %s in %.1f s\n" % (n, out, time.monotonic() - t0))


if __name__ == "__main__":
    main()

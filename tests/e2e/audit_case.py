#!/usr/bin/env python3
"""The synthetic charges file of issue 8's case (made-up payers; no real person or firm).

Four ministries charged for data from 13 systems with no approved fee schedule over six
years, and a fifth organization whose charges all match its approved schedules:

    organization  units  systems  total (yuan)
    mot           2      4        145,000,000.00   Ministry of Transport
    moe           2      3         58,657,000.00   Ministry of Education
    miit          2      5         24,470,700.00   Ministry of Industry and Information Technology
    samr          1      1         20,245,500.00   State Administration for Market Regulation
    (sum)         7      13       248,373,200.00
    cnis          charges under approved schedules only (nothing to report)

Amounts are integers of fen throughout (exact); each ministry's charges sum to its total
to the fen. The same seed gives the same file.

    python3 tests/e2e/audit_case.py [--seed S] [--charges N] [-o FILE]

--charges N scales the unapproved charges to about N rows (the benchmark's million);
the totals stay those of the table.
"""
import argparse
import random
import sys

HEADER = "organization,unit,system,payer,date,amount,currency,schedule"

# organization, title, total in fen, {unit: [systems]}
MINISTRIES = [
    ("mot", "Ministry of Transport", 14500000000, {
        "交通运输信息中心": ["全国道路货运车辆公共监管与服务平台", "交通运输电子政务平台"],
        "路网监测与应急处置中心": ["全国高速公路联网收费系统", "路网运行监测系统"],
    }),
    ("moe", "Ministry of Education", 5865700000, {
        "学生服务与素质发展中心": ["学信网学历查询系统", "学籍学历信息管理平台"],
        "教育管理信息中心": ["全国教师管理信息系统"],
    }),
    ("miit", "Ministry of Industry and Information Technology", 2447070000, {
        "电子信息产品监督检验中心": ["电信设备进网管理系统", "无线电设备型号核准系统",
                                    "电子产品质量检测数据库"],
        "信息通信管理局": ["电话用户实名登记核验平台", "域名备案管理系统"],
    }),
    ("samr", "State Administration for Market Regulation", 2024550000, {
        "信息中心": ["国家企业信用信息公示系统"],
    }),
]

# The fifth organization: its schedules (name, price in fen) and its unit and systems.
FIFTH = ("cnis", "China National Institute of Standardization")
FIFTH_SCHEDULES = [("cnis-standard-copy", 5000), ("cnis-data-extract", 20000)]
FIFTH_UNIT = "标准信息服务部"
FIFTH_SYSTEMS = ["标准文献服务系统", "标准数据查询系统"]
PERIOD = ("2019-01-01", "2024-12-31")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
FIRMS = ["数据科技有限公司", "信息咨询有限公司", "征信服务有限公司", "网络技术有限公司"]
CITIES = ["华东", "华南", "西北", "中原", "滨海", "北方"]


def payer(rng):
    if rng.random() < 0.5:
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    return rng.choice(CITIES) + "某" + rng.choice(FIRMS)  # made up, "某" = "a certain"


def date(rng):
    # six years: 2019-01-01 .. 2024-12-31
    y = rng.randint(2019, 2024)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return "%04d-%02d-%02d" % (y, m, d)


def yuan(fen):
    return "%d.%02d" % (fen // 100, fen % 100)


def split(rng, total, n):
    """n positive fen amounts summing to total exactly."""
    cuts = sorted(rng.sample(range(1, total), n - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [total])]


def rows(seed=1, charges=240):
    rng = random.Random(seed)
    out = []
    nsys = sum(len(s) for _, _, _, u in MINISTRIES for s in u.values())
    per_system = max(1, charges // nsys)
    for org, _title, total, units in MINISTRIES:
        systems = [(u, s) for u, ss in units.items() for s in ss]
        amounts = split(rng, total, per_system * len(systems))
        for i, fen in enumerate(amounts):
            unit, system = systems[i % len(systems)]
            # schedule: empty mostly; sometimes a made-up reference no schedule has
            sched = "" if rng.random() < 0.8 else "%s-fee-%d" % (org, rng.randint(1, 3))
            out.append((org, unit, system, payer(rng), date(rng), yuan(fen), "CNY", sched))
    for i in range(max(4, charges // 20)):
        name, price = FIFTH_SCHEDULES[i % len(FIFTH_SCHEDULES)]
        fen = rng.randint(1, price)
        out.append((FIFTH[0], FIFTH_UNIT, FIFTH_SYSTEMS[i % 2], payer(rng), date(rng),
                    yuan(fen), "CNY", name))
    rng.shuffle(out)
    return out


def csv_text(seed=1, charges=240):
    lines = [HEADER]
    for r in rows(seed, charges):
        lines.append(",".join(r))  # no field holds a comma or a quote
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--charges", type=int, default=240)
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    text = csv_text(a.seed, a.charges)
    if a.output:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()

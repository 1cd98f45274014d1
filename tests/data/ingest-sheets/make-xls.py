#!/usr/bin/python3
"""Writes the XLS fixtures of tests/unit/test-ingest-sheets.c with xlwt (Debian package
python3-xlwt; `scripts/install-deps.sh --fixtures` installs it). Deterministic: running it
again writes the same bytes. Usage: make-xls.py [OUTPUT_DIR] (default: this folder)."""
import datetime
import os
import sys

import xlwt

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def kinds(path, dates_1904):
    wb = xlwt.Workbook(encoding="utf-8")
    wb.dates_1904 = dates_1904
    wb.add_sheet("Empty")
    ws = wb.add_sheet("Kinds")
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    stamp = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    time = xlwt.easyxf(num_format_str="hh:mm:ss")
    for c, h in enumerate(["int", "float", "code", "date", "stamp", "time", "flag", "name"]):
        ws.write(0, c, h)
    ws.write(1, 0, 42)
    ws.write(1, 1, 4429.4)
    ws.write(1, 2, "000123")
    ws.write(1, 3, datetime.date(2024, 1, 15), date)
    ws.write(1, 4, datetime.datetime(2024, 1, 15, 13, 45, 30), stamp)
    ws.write(1, 5, 0.5, time)
    ws.write(1, 6, True)
    ws.write(1, 7, "Zürich 北京")
    # row 3 (index 2) left empty: a blank row between data
    ws.write(3, 0, 110101199001011234)
    ws.write(3, 1, 0.1)
    ws.write(3, 2, -2.5e-7)
    ws.write(3, 3, 1, date)          # serial 1
    ws.write(3, 4, 45000.75, stamp)
    ws.write(3, 5, 1.25, time)
    ws.write(3, 7, "")
    if not dates_1904:
        ws.write(4, 0, 60, date)     # the fictitious 1900-02-29
        ws.write(4, 1, 61, date)     # 1900-03-01
        ws.write(4, 2, 73110, date)  # 2100-03-01 (2100 is no leap year)
        ws.write(4, 3, 2958465, date)  # 9999-12-31
        ws.write_merge(5, 6, 0, 1, "merged")
    wb.save(path)


kinds(os.path.join(out, "kinds-1900.xls"), False)
kinds(os.path.join(out, "kinds-1904.xls"), True)

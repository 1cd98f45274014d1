#!/usr/bin/python3
"""Writes the small text fixtures of tests/unit/test-ingest.c into this folder, byte for
byte the same on every run: `/usr/bin/python3 make-fixtures.py`. README.md says what each
one exercises. Every value is written here, so the files hold no data from elsewhere."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# Rows shared by the encoding fixtures: each file holds them in its own encoding.
CITIES = "id,city,country\n1,Zürich,Schweiz\n2,北京,中国\n3,São Paulo,Brasil\n"

# CSV quirks (UTF-8).
write("bom.csv", b"\xef\xbb\xbf" + "id,name\r\n1,Zoë\r\n2,北京\r\n".encode())
write("crlf.csv", b'id,name,note\r\n1,a,x\r\n2,b,"two\r\nlines"\r\n3,c,\r\n')
write("cr.csv", b'id,name\r1,a\r2,"b\rc"\r3,d\r')
write("mixed-newlines.csv", b"a,b\n1,2\r\n3,4\r5,6\n\r\n7,8")
write("quoted.csv",
      b'id,text,n\n'
      b'1,"a, b",2\n'
      b'2,"He said ""hi""",3\n'
      b'3,"line one\nline two\n\nline four",4\n'
      b'4,"",5\n'
      b'5,6" tall,6\n'
      b'6,"quoted"tail,7\n'
      b'7,"""",8\n')
write("semicolon.csv",
      "name;amount;date\nÄpfel;1,50;2023-01-02\nBirnen;2,25;2023-01-03\n"
      "Kirschen, sauer;3,00;2023-01-04\n".encode())
write("pipe.txt", b"code|name|note\n01|one|a,b\n02|two|c;d\n03|three|\n")
write("tab.txt", b"name\tdescription\nalpha\ta, b, c\nbeta\td; e\n")
write("trailing-blank.csv", b"a,b\n1,2\n\n3,4\n\n\r\n\n")
write("no-final-newline.csv", b"a,b\n1,2\n3,4")
write("unterminated.csv", b'a,b\n1,2\n3,"open\n4,5\n')
write("blank.csv", b" \r\n\t\n\n")

# Encodings.
write("utf16le.csv", b"\xff\xfe" + CITIES.encode("utf-16-le"))
write("utf16be.csv", b"\xfe\xff" + CITIES.encode("utf-16-be"))
# Traditional Chinese (Taiwan's special municipalities and counties) in Big5.
BIG5 = ("縣市,人口,面積\n臺北市,2500000,271.8\n新北市,4000000,2052.6\n桃園市,2300000,1221.0\n"
        "臺中市,2800000,2214.9\n臺南市,1800000,2191.7\n高雄市,2700000,2951.9\n"
        "基隆市,360000,132.8\n新竹縣,580000,1427.5\n苗栗縣,540000,1820.3\n"
        "彰化縣,1250000,1074.4\n南投縣,480000,4106.4\n雲林縣,670000,1290.8\n"
        "嘉義縣,490000,1903.6\n屏東縣,800000,2775.6\n宜蘭縣,450000,2143.6\n"
        "花蓮縣,320000,4628.6\n臺東縣,210000,3515.3\n澎湖縣,100000,126.9\n")
write("big5.csv", BIG5.encode("big5"))
# Western European text with Windows-1252's curly quotes, dash and euro sign (0x80-0x9f).
CP1252 = ("name,city,remark\nJosé,São Paulo,“quoted” – dash\nFrançoise,Besançon,€ 12\n"
          "Jürgen,Köln,naïve café\nÅsa,Malmö,smörgåsbord\n")
write("windows-1252.csv", CP1252.encode("cp1252"))
# ISO-8859-1 without any byte in 0x80-0x9f: read as WINDOWS-1252, which agrees there.
LATIN1 = ("name,city,remark\nJosé,São Paulo,señor\nFrançoise,Besançon,garçon\n"
          "Jürgen,Köln,naïve café\nÅsa,Malmö,smörgåsbord\n")
write("latin1.csv", LATIN1.encode("latin-1"))
# Polish in ISO-8859-2 and Russian in WINDOWS-1251 and KOI8-R: single-byte code pages
# that must not be taken for WINDOWS-1252.
PL = ("miasto,województwo,ludność\nŁódź,łódzkie,670000\nKraków,małopolskie,800000\n"
      "Wrocław,dolnośląskie,670000\nGdańsk,pomorskie,486000\nPoznań,wielkopolskie,540000\n"
      "Białystok,podlaskie,297000\nŚwiętochłowice,śląskie,50000\nZielona Góra,lubuskie,140000\n")
write("iso-8859-2.csv", PL.encode("iso-8859-2"))
RU = ("город,область,население\nМосква,Московская область,13000000\n"
      "Санкт-Петербург,Ленинградская область,5600000\n"
      "Новосибирск,Новосибирская область,1600000\nЕкатеринбург,Свердловская область,1500000\n"
      "Казань,Республика Татарстан,1300000\nНижний Новгород,Нижегородская область,1200000\n")
write("windows-1251.csv", RU.encode("cp1251"))
write("koi8-r.csv", RU.encode("koi8-r"))
# Simplified Chinese in GB18030, with 湖㳇镇 (U+3CC7, CJK Extension A: outside GBK).
GB = ("code,name,county\n320282113,湖㳇镇,宜兴市\n341524112,流波䃥镇,金寨县\n"
      "110101001,东华门街道,东城区\n110101002,景山街道,东城区\n110101003,交道口街道,东城区\n"
      "110101004,安定门街道,东城区\n110101005,北新桥街道,东城区\n")
write("gb18030.csv", GB.encode("gb18030"))

# JSON and NDJSON.
write("records.ndjson",
      b'{"id": 1, "name": "Ann", "score": 1.10, "ok": true, "tags": ["a", "b"], "geo": {"x": 1e3}}\n'
      b"\n"
      b'{"id": 2, "name": "B\\u00e9a \\ud83d\\ude00", "ok": false, "extra": null}\r\n'
      b'   \n'
      b'{"name": "Cy", "id": -0.5E-2, "score": 12345678901234567890, "note": "x\\ty"}\n')
write("wrapped.json",
      b'{\n  "meta": {"count": 2, "list": [1, 2]},\n  "rows": [\n'
      b'    {"a": "1", "b": 2},\n    {"b": 3, "c": {"d": [true, null]}}\n  ],\n'
      b'  "source": "test"\n}\n')
write("several-arrays.json", b'{"x": [{"a": 1}], "y": [{"b": 2}]}\n')
write("bad-syntax.json", b'[\n  {"a": 1},\n  {"a": 2,, "b": 3}\n]\n')
write("not-object.json", b'[\n  {"a": 1},\n  "two"\n]\n')
write("scalar.json", b'  42\n')

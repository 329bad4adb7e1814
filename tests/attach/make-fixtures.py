#!/usr/bin/python3
"""Attachments for the tests of attachment reading, made from scratch.

    tests/attach/make-fixtures.py OUTDIR

writes into OUTDIR (nothing here is committed; "make" puts it in
build/attach):

  files/      one file per format, each carrying a case number of the
              fixture diarium (../shared/fixtures/arenden.csv), a valid
              personnummer with a diagnosis, or an errand; and the hostile
              ones: malformed, truncated and encrypted PDFs, a 10,000-page
              PDF, a PDF that is a CPU bomb, a zip bomb in a DOCX, deeply
              nested TNEF, random bytes named .pdf
  expect.tsv  file, declared type, expected status ("slow": the CPU bomb,
              which only a deadline ends), words its text must hold
              (tests/unit/test_extract_worker.c and the pool test)
  messages/   mail carrying them (tests/attach/run.sh, the end-to-end
              test, bench/attach.sh)
  corpus/     labelled cases (cases.tsv, as ../shared/tools/corpus-eval
              reads them) whose errand, case number or sekretess -- or
              private or party content -- stands only in an attachment,
              of every format: a01-a05 labelled here, the others in
              tests/attach/cases.tsv; graded by make check
              (tests/corpus/run.sh --check)
  heldout/    the same kind of cases that the rules do not yet classify
              right, labelled in tests/heldout/attach/cases.tsv: they
              measure the rules (tests/corpus/run.sh build/attach/heldout),
              make check does not grade them
  affairs/    a person's own affairs as an attachment (an invoice, a
              receipt, a booking, a club's or union's letter) beside
              newsletters, advertising, a business trip's booking and
              errands whose evidence is such a document, labelled in
              tests/attach/affairs.tsv: one more set of the fit
              (tests/corpus/fit.sh)
  seeds/      requests of the worker's wire format wrapping each file
              (the libFuzzer target's seeds)

Formats are written from their specifications: PDF through cairo's PDF
surface (python3-cairo), encrypted with qpdf; DOCX, XLSX, PPTX (ECMA-376)
and ODT, ODS, ODP (OpenDocument 1.2) as zips of XML; RTF (1.9.1); TNEF
([MS-OXTNEF]) with compressed RTF ([MS-OXRTFCP]).  Deterministic: the same
bytes every run (fixed dates, seeded randomness).
"""
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from email.message import EmailMessage
from email.utils import format_datetime
import datetime

import cairo

OUT = sys.argv[1] if len(sys.argv) > 1 else "build/attach"
FILES = os.path.join(OUT, "files")
MSGS = os.path.join(OUT, "messages")
CORPUS = os.path.join(OUT, "corpus")
SEEDS = os.path.join(OUT, "seeds")
HELDOUT = os.path.join(OUT, "heldout")
AFFAIRS = os.path.join(OUT, "affairs")
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_LABELS = os.path.join(HERE, "cases.tsv")
HELDOUT_LABELS = os.path.join(HERE, "..", "heldout", "attach", "cases.tsv")
AFFAIRS_LABELS = os.path.join(HERE, "affairs.tsv")
EPOCH = (2026, 11, 17, 10, 0, 0)
expect = []  # (file, type, status, words)


def luhn_pnr(yymmdd, serial):
    """A valid personnummer YYMMDD-NNNC for the birth date and serial."""
    digits = yymmdd + serial
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return "%s-%s%d" % (yymmdd, serial, (10 - total % 10) % 10)


PNR = luhn_pnr("811218", "987")        # 811218-9870
PNR2 = luhn_pnr("420821", "982")


def put(name, data, ctype, status, words=""):
    with open(os.path.join(FILES, name), "wb") as f:
        f.write(data)
    expect.append((name, ctype, status, words))
    return data


# --- PDF ------------------------------------------------------------------

def pdf(pages, title=None, image_only=False, photo=0):
    """A PDF of the given pages (lists of lines) through cairo."""
    buf = io.BytesIO()
    s = cairo.PDFSurface(buf, 595, 842)
    s.set_metadata(cairo.PDF_METADATA_CREATE_DATE, "2026-11-17T10:00:00")
    if title:
        s.set_metadata(cairo.PDF_METADATA_TITLE, title)
    c = cairo.Context(s)
    for lines in pages:
        if image_only:
            # A "scan": the words drawn into an image, no text layer.
            img = cairo.ImageSurface(cairo.FORMAT_RGB24, 500, 40 * max(1, len(lines)))
            ic = cairo.Context(img)
            ic.set_source_rgb(1, 1, 1)
            ic.paint()
            ic.set_source_rgb(0, 0, 0)
            for i in range(len(lines)):
                ic.rectangle(10, 10 + 40 * i, 300, 20)
                ic.fill()
            c.set_source_surface(img, 40, 60)
            c.paint()
        else:
            if photo:
                # A photograph's worth of bytes: noise does not compress.
                rnd = random.Random(photo)
                img = cairo.ImageSurface(cairo.FORMAT_RGB24, photo, photo)
                data = img.get_data()
                data[:] = bytes(rnd.randrange(256) for _ in range(len(data)))
                img.mark_dirty()
                c.set_source_surface(img, 300, 500)
                c.paint()
                photo = 0
            c.select_font_face("DejaVu Sans")
            c.set_font_size(11)
            c.set_source_rgb(0, 0, 0)
            for i, line in enumerate(lines):
                c.move_to(50, 80 + 16 * i)
                c.show_text(line)
        c.show_page()
    s.finish()
    return buf.getvalue()


def slow_pdf(mb):
    """A CPU bomb: one page whose content stream inflates to MB megabytes
    of "q Q" (save and restore the graphics state, nothing drawn): about
    4 s of Poppler for 64 MB, from a file of 66 kB, in constant memory.
    Written by hand (PDF 1.7, 7.3 and 7.5)."""
    z = zlib.compress(b"q Q\n" * (mb * (1 << 20) // 4), 9)
    objs = [b"<</Type /Catalog /Pages 2 0 R>>",
            b"<</Type /Pages /Kids [3 0 R] /Count 1>>",
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R>>",
            b"<</Length %d /Filter /FlateDecode>>\nstream\n" % len(z) + z + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def qpdf_encrypt(data, user, owner):
    src = os.path.join(OUT, "tmp-plain.pdf")
    dst = os.path.join(OUT, "tmp-enc.pdf")
    with open(src, "wb") as f:
        f.write(data)
    subprocess.run(["qpdf", "--static-id", "--encrypt", user, owner, "256", "--", src, dst],
                   check=True)
    with open(dst, "rb") as f:
        out = f.read()
    os.unlink(src)
    os.unlink(dst)
    return out


ANSOKAN = [
    ["Komplettering till ärende BN 2026/45",
     "Bygglov för nybyggnad av enbostadshus, Sjövik 3:12",
     "",
     "Härmed skickar jag den reviderade fasadritningen som ni begärde.",
     "Takvinkeln på norra fasaden är nu 27 grader."],
    ["Sökande: Maria Karlsson",
     "Jag ber er fortsätta handläggningen av ansökan."],
]
INTYG = [["Läkarintyg",
          "Patient: Kalle Ek, personnummer " + PNR,
          "Diagnos: depression och sömnsvårigheter.",
          "Sjukskrivning på heltid till och med 31 december."]]


def make_pdfs():
    a = put("ansokan.pdf", pdf(ANSOKAN, "Komplettering"), "application/pdf", "read",
            "BN 2026/45|fasadritningen|Sökande")
    put("intyg.pdf", pdf(INTYG), "application/pdf", "read", PNR + "|Diagnos")
    put("scan.pdf", pdf([["a", "b", "c"]], image_only=True), "application/pdf", "no text")
    put("encrypted.pdf", qpdf_encrypt(a, "hemligt", "agare"), "application/pdf", "encrypted")
    put("owner-only.pdf", qpdf_encrypt(a, "", "agare"), "application/pdf", "read", "BN 2026/45")
    put("truncated.pdf", a[: len(a) // 3], "application/pdf", "any")
    bad = bytearray(a)
    rnd = random.Random(7)
    for i in range(200, len(bad) - 200, 97):
        bad[i] = rnd.randrange(256)
    put("malformed.pdf", bytes(bad), "application/pdf", "any")
    put("random.pdf", bytes(random.Random(11).randrange(256) for _ in range(65536)),
        "application/octet-stream", "failed")
    put("slow.pdf", slow_pdf(64), "application/pdf", "slow")
    many = [["Sida %d av 10000. Ärende KS 2026/112." % (i + 1)] for i in range(10000)]
    put("pages-10000.pdf", pdf(many), "application/pdf", "read", "Sida 1 av 10000|KS 2026/112")
    # A typical 200 kB application: ten pages of text and an image.
    big = []
    for p in range(10):
        big.append(["Ansökan om bygglov, sida %d. Ärende BN 2026/51." % (p + 1)] +
                   ["Rad %d: beskrivning av åtgärden, material och utförande på fastigheten "
                    "Ekudden 1:4." % i for i in range(45)])
    doc = pdf(big, photo=250)
    put("typical.pdf", doc, "application/pdf", "read", "BN 2026/51|Ekudden")


# --- zip of XML: OOXML and OpenDocument ------------------------------------

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/>%s</Types>')


def zipped(entries, stored_first=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if stored_first:
            info = zipfile.ZipInfo(stored_first[0], EPOCH)
            z.writestr(info, stored_first[1], compress_type=zipfile.ZIP_STORED)
        for name, data in entries:
            info = zipfile.ZipInfo(name, EPOCH)
            z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def docx(paragraphs, header=None):
    body = "".join(
        '<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
        '<w:r><w:t xml:space="preserve">%s</w:t></w:r>'
        '<w:r><w:tab/><w:t>.</w:t></w:r></w:p>' % p for p in paragraphs)
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<w:document %s><w:body>%s<w:p><w:r><w:delText>struket</w:delText></w:r>'
           '<w:r><w:instrText>HYPERLINK</w:instrText></w:r></w:p></w:body></w:document>' % (W, body))
    entries = [
        ("[Content_Types].xml", CT % '<Override PartName="/word/document.xml" ContentType='
         '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'),
        ("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
         'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
         'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
        ("word/document.xml", doc),
    ]
    if header:
        entries.append(("word/header1.xml", '<w:hdr %s><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:hdr>'
                        % (W, header)))
    return zipped(entries)


def docx_bomb():
    """A DOCX whose document.xml expands to 400 MB from about 400 kB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("[Content_Types].xml", EPOCH), CT % "",
                   compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("word/document.xml", EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            f.write(('<?xml version="1.0"?><w:document %s><w:body><w:p><w:r><w:t>'
                     'Ärende BN 2026/77 ' % W).encode())
            chunk = b" " * (1 << 20)
            for _ in range(400):
                f.write(chunk)
            f.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def xlsx():
    sst = ["Namn", "Personnummer", "Diagnos", "Kalle Ek", "diabetes", "Ärende SN 2026/233"]
    sst_xml = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" '
               'uniqueCount="%d">%s<si><r><t>rik</t></r><r><t>text</t></r><rPh><t>fonetik</t></rPh>'
               '</si></sst>' % (len(sst) + 1, len(sst) + 1,
                                "".join("<si><t>%s</t></si>" % s for s in sst)))
    sheet = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
             '<c r="C1" t="s"><v>2</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="inlineStr"><is><t>%s</t></is></c>'
             '<c r="C2" t="s"><v>4</v></c><c r="D2"><f>1+1</f><v>2</v></c></row>'
             '<row r="3"><c r="A3" t="s"><v>5</v></c><c r="B3" t="s"><v>6</v></c></row>'
             '</sheetData></worksheet>' % PNR)
    return zipped([
        ("[Content_Types].xml", CT % ""),
        ("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<sheets><sheet name="Blad1" sheetId="1"/></sheets></workbook>'),
        ("xl/worksheets/sheet1.xml", sheet),
        ("xl/sharedStrings.xml", sst_xml),  # after the sheet, as Excel writes it
    ])


def pptx():
    def slide(lines):
        return ('<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
                'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree>'
                '<p:sp><p:txBody>%s</p:txBody></p:sp></p:spTree></p:cSld></p:sld>'
                % "".join("<a:p><a:r><a:t>%s</a:t></a:r></a:p>" % l for l in lines))
    return zipped([
        ("[Content_Types].xml", CT % ""),
        ("ppt/presentation.xml", '<p:presentation xmlns:p="http://schemas.openxmlformats.org/'
         'presentationml/2006/main"/>'),
        ("ppt/slides/slide2.xml", slide(["Tidplan", "Beslut i januari"])),
        ("ppt/slides/slide1.xml", slide(["Upphandling av skolskjutstjänster", "Ärende KS 2026/140"])),
    ])


ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"')


def odf(kind, body, encrypted=False):
    mimetype = "application/vnd.oasis.opendocument." + kind
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content %s '
               'office:version="1.2"><office:automatic-styles/><office:body>%s</office:body>'
               '</office:document-content>' % (ODF_NS, body))
    enc = ('<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA">'
           '<manifest:algorithm manifest:algorithm-name="Blowfish CFB" '
           'manifest:initialisation-vector="AAAA"/></manifest:encryption-data>') if encrypted else ""
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest %s manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="%s"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
                '%s</manifest:file-entry></manifest:manifest>' % (ODF_NS, mimetype, enc))
    if encrypted:
        content = bytes(random.Random(5).randrange(256) for _ in range(2000))
    return zipped([("content.xml", content), ("META-INF/manifest.xml", manifest)],
                  stored_first=("mimetype", mimetype))


def make_office():
    put("overklagande.docx",
        docx(["Överklagande av beslut om skolplacering, ärende BUN 2026/41.",
              "Jag överklagar beslutet och begär att det ändras.",
              "Med vänlig hälsning\u2003Hanna Berg"], header="Sjövik kommun"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "read",
        "BUN 2026/41|överklagar|Sjövik kommun")
    put("bomb.docx", docx_bomb(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "limit-or-read")
    put("utredning.xlsx", xlsx(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "read",
        PNR + "|diabetes|SN 2026/233|Kalle Ek\t" + PNR + "\tdiabetes|riktext")
    put("presentation.pptx", pptx(),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", "read",
        "Ärende KS 2026/140\nTidplan")
    put("yttrande.odt", odf("text", '<office:text><text:h>Yttrande i ärende BN 2026/51</text:h>'
                                    '<text:p>Vi motsätter oss<text:s/>dispensen.<text:tab/>Slut.</text:p>'
                                    '<text:tracked-changes><text:changed-region><text:deletion>'
                                    '<text:p>borttaget</text:p></text:deletion></text:changed-region>'
                                    '</text:tracked-changes></office:text>'),
        "application/vnd.oasis.opendocument.text", "read", "BN 2026/51|Vi motsätter oss dispensen.")
    put("lista.ods", odf("spreadsheet", '<office:spreadsheet><table:table table:name="Blad1">'
                                        '<table:table-row><table:table-cell><text:p>Ärende</text:p>'
                                        '</table:table-cell><table:table-cell><text:p>BN 2026/77'
                                        '</text:p></table:table-cell></table:table-row></table:table>'
                                        '</office:spreadsheet>'),
        "application/vnd.oasis.opendocument.spreadsheet", "read", "Ärende\tBN 2026/77")
    put("bilder.odp", odf("presentation", '<office:presentation><draw:page draw:name="1"><draw:frame>'
                                          '<draw:text-box><text:p>Klagomål på skolskjuts, BUN 2026/33'
                                          '</text:p></draw:text-box></draw:frame></draw:page>'
                                          '<draw:page draw:name="2"/></office:presentation>'),
        "application/vnd.oasis.opendocument.presentation", "read", "BUN 2026/33")
    put("hemlig.odt", odf("text", "", encrypted=True), "application/vnd.oasis.opendocument.text",
        "encrypted")
    # Office keeps an encrypted DOCX in an OLE2 compound file: the header,
    # then (here, in the first directory sector) an entry "EncryptionInfo".
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHHH", 0x3E, 3,
                                                                            0xFFFE, 9, 6, 0)
              + b"\0" * (512 - 36))
    name = "EncryptionInfo".encode("utf-16-le") + b"\0\0"
    entry = name + b"\0" * (64 - len(name)) + struct.pack("<HBB", len(name), 2, 1) + b"\0" * 60
    put("skyddad.docx", header + entry + b"\0" * (512 - len(entry)),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "encrypted")
    put("arkiv.zip", zipped([("a.txt", "BN 2026/45")]), "application/zip", "not a readable type")


# --- RTF ------------------------------------------------------------------

RTF = (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}{\f1 Symbol;}}"
       r"{\colortbl;\red0\green0\blue0;}{\stylesheet{\s0 Normal;}}"
       r"{\info{\title Hemlig titel}{\author Ingen}}"
       r"{\*\generator Handskrivet;}"
       "\n" r"\pard\plain\f0\fs20 Ans\'f6kan om ekonomiskt bist\'e5nd, \'e4rende SN 2026/210.\par "
       "\n" r"Personnummer " + PNR2 + r", diagnos: diabetes.\par "
       r"Tecken: \u8212\'97 och {\uc2\u8364\'80\'80} euro, \u-10179?\u-8704? emoji.\par "
       r"{\field{\*\fldinst HYPERLINK \"http://x.example\"}{\fldrslt L\'e4nk}}\tab slut\line "
       r"{\pict\wmetafile8 0102030405}{\*\bkmkstart b1}"
       r"\trowd\cellx1000\cellx2000 A1\cell B1\cell\row "
       r"\bin3 {}\\par}")


def make_rtf():
    # Another code page: its iconv module is loaded after the sandbox closed.
    put("kyrillisk.rtf", b"{\\rtf1\\ansi\\ansicpg1251 \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2, BN 2026/45\\par}",
        "text/rtf", "read", "\u041f\u0440\u0438\u0432\u0435\u0442, BN 2026/45")
    put("brev.rtf", RTF.encode("latin-1"), "application/rtf", "read",
        "Ansökan om ekonomiskt bistånd|SN 2026/210|" + PNR2 + "|diabetes.\nTecken: \u2014 och \u20ac euro, \U0001f600 emoji|Länk\tslut\n|A1\tB1")


# --- TNEF -----------------------------------------------------------------

def compressed_rtf(rtf):
    """[MS-OXRTFCP] 2.1.3.1: literals only, then the end reference."""
    prebuf = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
              b"\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
              b"{\\colortbl\\red0\\green0\\blue0\n\r\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")
    body = bytearray()
    i = 0
    while i < len(rtf):
        group = rtf[i:i + 8]
        i += len(group)
        if len(group) == 8:
            body += b"\0" + group
        else:
            # The last group: its literals, then the end marker (a
            # reference to the current write position).
            flag = 1 << len(group)
            end = (len(prebuf) + len(rtf)) % 4096
            body += bytes([flag]) + group + bytes([end >> 4, (end & 0xF) << 4])
    if len(rtf) % 8 == 0:
        end = (len(prebuf) + len(rtf)) % 4096
        body += b"\x01" + bytes([end >> 4, (end & 0xF) << 4])
    crc = ~zlib.crc32(bytes(body), 0xFFFFFFFF) & 0xFFFFFFFF
    header = struct.pack("<III I", len(body) + 12, len(rtf), 0x75465A4C, crc)
    return header + bytes(body)


def tnef_attr(level, attr, data):
    return struct.pack("<BII", level, attr, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def mapi_props(props):
    """attMAPIProps data: (tag, bytes) with tag's type deciding the layout."""
    out = struct.pack("<I", len(props))
    for tag, value in props:
        out += struct.pack("<I", tag)
        if tag & 0xFFFF in (0x0003,):  # PT_LONG
            out += struct.pack("<I", value)
        else:
            out += struct.pack("<II", 1, len(value)) + value + b"\0" * (-len(value) % 4)
    return out


def tnef(body=None, rtf=None, attachments=()):
    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += tnef_attr(1, 0x00089006, struct.pack("<I", 0x00010000))        # attTnefVersion
    out += tnef_attr(1, 0x00069007, struct.pack("<II", 1252, 0))          # attOemCodepage
    out += tnef_attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")         # attMessageClass
    if body is not None:
        out += tnef_attr(1, 0x0002800C, body)                             # attBody
    if rtf is not None:
        out += tnef_attr(1, 0x00069003, mapi_props([(0x10090102, compressed_rtf(rtf))]))
    for att in attachments:
        out += tnef_attr(2, 0x00069002, b"\x01\x00" + b"\xff" * 4 + b"\0" * 8)  # attAttachRenddata
        if "data" in att:
            out += tnef_attr(2, 0x00018010, att["name"].encode("cp1252") + b"\0")  # attAttachTitle
            out += tnef_attr(2, 0x0006800F, att["data"])                           # attAttachData
            props = [(0x3707001E, att["name"].encode("cp1252") + b"\0")]
            if "type" in att:
                props.append((0x370E001E, att["type"].encode() + b"\0"))
            out += tnef_attr(2, 0x00069005, mapi_props(props))                     # attAttachment
        else:
            # An attached message: PR_ATTACH_METHOD 5, PR_ATTACH_DATA_OBJ
            # = IID_IMessage, then the message as TNEF.
            iid = bytes.fromhex("0703020000000000c000000000000046")
            out += tnef_attr(2, 0x00069005, mapi_props([
                (0x37050003, 5), (0x3707001E, att["name"].encode() + b"\0"),
                (0x3701000D, iid + att["message"])]))
    return out


def make_tnef(pdf_bytes):
    put("winmail.dat", tnef(body="Hej, se bifogat beslut i \xe4rende KS 2026/140.".encode("cp1252"),
                            attachments=[{"name": "Beslut.pdf", "type": "application/pdf",
                                          "data": pdf_bytes}]),
        "application/ms-tnef", "read", "KS 2026/140|Bilaga: Beslut.pdf|BN 2026/45")
    put("rtf-winmail.dat", tnef(rtf=RTF.encode("latin-1")), "application/ms-tnef", "read",
        "SN 2026/210|" + PNR2)
    inner = tnef(body=b"Innersta meddelandet, \xe4rende BN 2026/45.")
    for i in range(60):
        inner = tnef(body=("Niv\xe5 %d" % i).encode("cp1252"),
                     attachments=[{"name": "niva%d" % i, "message": inner}])
    put("nested-winmail.dat", inner, "application/ms-tnef", "read", "Niv\xe5 59|Niv\xe5 55")
    put("broken-winmail.dat", inner[:40] + b"\xff" * 64, "application/ms-tnef", "any")


# --- text ------------------------------------------------------------------

def make_text():
    put("latin1.txt", "Överklagande i ärende BUN 2026/33, mottaget.\n".encode("latin-1"),
        "text/plain", "text", "BUN 2026/33")
    put("utf16.txt", "\ufeffSkrivelse om KS 2025/300 från förvaltningen.".encode("utf-16-le"),
        "text/plain; charset=utf-16", "text", "KS 2025/300")


# --- wire-format requests (fuzzer seeds) ------------------------------------

def request(data, ctype="", name="", charset=""):
    t, n, c = ctype.encode(), name.encode(), charset.encode()
    head = b"DMXQ" + struct.pack("<IQQQIIIIHHHH", 1, 25 << 20, 64 << 10, 16 << 20, 20, 200, 100, 4,
                                 len(t), len(n), len(c), 0)
    return head + t + n + c + data


# --- messages ---------------------------------------------------------------

def message(mid, subject, body, files, sender="fredrik.ek@example.net",
            to="erik.sjoberg@sjovik.test"):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(datetime.datetime(2026, 11, 17, 10, 5, tzinfo=datetime.timezone.utc))
    m["Message-ID"] = "<%s@example.org>" % mid
    m.set_content(body)
    for name, ctype in files:
        with open(os.path.join(FILES, name), "rb") as f:
            data = f.read()
        main, sub = ctype.split(";")[0].split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


def make_messages():
    specs = {
        # name: (subject, body, attachments)
        "pdf-case": ("Till Erik", "Hej Erik,\n\nse bifogad fil.\n\nMaria", [("ansokan.pdf", "application/pdf")]),
        "pdf-sekretess": ("Intyg", "Hej,\n\nhär kommer intyget.\n", [("intyg.pdf", "application/pdf")]),
        "docx-case": ("Överklagande", "Se bifogat.\n", [("overklagande.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]),
        "odt-case": ("Yttrande", "Bifogat.\n", [("yttrande.odt", "application/vnd.oasis.opendocument.text")]),
        "xlsx-sekretess": ("Lista", "Bifogat.\n", [("utredning.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]),
        "rtf-sekretess": ("Ansökan", "Bifogat.\n", [("brev.rtf", "application/rtf")]),
        "tnef-case": ("Beslut", "Se bifogat.\n", [("winmail.dat", "application/ms-tnef")]),
        "typical-pdf": ("Ansökan", "Se bifogad fil.\n", [("typical.pdf", "application/pdf")]),
        "no-attachment": ("Hej", "Bara text, ingen bilaga.\n", []),
    }
    hostile = ["encrypted.pdf", "pages-10000.pdf", "slow.pdf", "bomb.docx", "nested-winmail.dat", "random.pdf",
               "truncated.pdf", "malformed.pdf", "scan.pdf", "broken-winmail.dat"]
    for h in hostile:
        ctype = dict((e[0], e[1]) for e in expect)[h]
        specs["hostile-" + h.replace(".", "-")] = ("Bilaga " + h, "Se bifogad fil.\n", [(h, ctype)])
    for name, (subject, body, files) in specs.items():
        with open(os.path.join(MSGS, name + ".eml"), "wb") as f:
            f.write(message("attach-" + name, subject, body, files))


def make_corpus():
    """Cases graded like the project's own corpus: the errand, the case
    number or the sekretess is only in the attachment (a01-a05 here, the
    others labelled in tests/attach/cases.tsv); and the held-out ones."""
    rows = [
        ("a01", "pdf-case", "fredrik.ek@example.net", "erik.sjoberg@sjovik.test", "registreras", "no",
         "registrator@sjovik.test",
         "R6.3 the body says only 'se bifogad fil'; the attached PDF cites BN 2026/45, and Erik (BN) has fullmakt: copy to registrator@."),
        ("a02", "pdf-sekretess", "lakare@vard.example", "socialforvaltningen@sjovik.test", "registreras", "yes",
         "sn-registrator@sjovik.test",
         "R6.5/R9 a personnummer with a diagnosis and sick leave, only in the attached PDF, to the SN mailbox: sekretess; copy to sn-registrator@."),
        ("a03", "docx-case", "hanna.berg@example.com", "norrbyskola@sjovik.test", "registreras", "yes",
         "registrator@sjovik.test",
         "R9 the attached DOCX appeals BUN 2026/41, which the diarium marks sekretess: sekretess; copy to registrator@ (BUN)."),
        ("a04", "xlsx-sekretess", "lakare@vard.example", "socialforvaltningen@sjovik.test", "registreras", "yes",
         "sn-registrator@sjovik.test",
         "R6.5/R9 a personnummer beside a diagnosis in a row of the attached XLSX, to the SN mailbox: sekretess; copy to sn-registrator@."),
        ("a05", "rtf-sekretess", "jessica.lundgren87@example.com", "kommun@sjovik.test", "registreras", "yes",
         "sn-registrator@sjovik.test",
         "R6.5 personnummer with a diagnosis in the attached RTF, citing SN 2026/210: sekretess; the myndighet concerned is SN: copy to sn-registrator@."),
    ]
    for d in (CORPUS, HELDOUT, AFFAIRS):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    labelled = labelled_messages()
    more = write_labelled(labelled, CORPUS_LABELS, CORPUS)
    held = write_labelled(labelled, HELDOUT_LABELS, HELDOUT)
    affairs = affairs_messages()
    own = write_labelled(affairs, AFFAIRS_LABELS, AFFAIRS)
    for left in (labelled, affairs):
        if left:
            sys.exit("make-fixtures.py: messages without labels: %s" % " ".join(sorted(left)))
    head = ("id\tfrom\trcpt\tauth\tnow\tclass\tsekretess\tcopy_to\tnotice_to\tforward_to\t"
            "manager_notice_to\treject\twhy\n")
    with open(os.path.join(CORPUS, "cases.tsv"), "w") as f:
        f.write(head)
        for cid, msg, frm, rcpt, klass, sek, copy, why in rows:
            shutil.copy(os.path.join(MSGS, msg + ".eml"), os.path.join(CORPUS, cid + ".eml"))
            f.write("\t".join([cid, frm, rcpt, "-", "2026-11-17T09:05:00Z", klass, sek, copy, "-", "-",
                               "-", "no", why]) + "\n")
        f.write("".join(r + "\n" for r in more))
    with open(os.path.join(HELDOUT, "cases.tsv"), "w") as f:
        f.write(head + "".join(r + "\n" for r in held))
    with open(os.path.join(AFFAIRS, "cases.tsv"), "w") as f:
        f.write(head + "".join(r + "\n" for r in own))


# --- labelled cases of every format (tests/attach/cases.tsv, and the
# held-out tests/heldout/attach/cases.tsv) -----------------------------------

def xlsx_rows(rows):
    """An XLSX of one sheet, its cells inline strings."""
    def col(i):
        return chr(ord("A") + i)
    sheet = "".join('<row r="%d">%s</row>' % (r + 1, "".join(
        '<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (col(c), r + 1, v)
        for c, v in enumerate(cells))) for r, cells in enumerate(rows))
    return zipped([
        ("[Content_Types].xml", CT % ""),
        ("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<sheets><sheet name="Blad1" sheetId="1"/></sheets></workbook>'),
        ("xl/worksheets/sheet1.xml", '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
         '2006/main"><sheetData>%s</sheetData></worksheet>' % sheet),
    ])


def pptx_slides(slides):
    """A PPTX of the given slides (lists of lines)."""
    def slide(lines):
        return ('<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
                'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree>'
                '<p:sp><p:txBody>%s</p:txBody></p:sp></p:spTree></p:cSld></p:sld>'
                % "".join("<a:p><a:r><a:t>%s</a:t></a:r></a:p>" % l for l in lines))
    return zipped([("[Content_Types].xml", CT % ""),
                   ("ppt/presentation.xml", '<p:presentation xmlns:p="http://schemas.openxmlformats.org/'
                    'presentationml/2006/main"/>')] +
                  [("ppt/slides/slide%d.xml" % (i + 1), slide(l)) for i, l in enumerate(slides)])


def odf_text(paragraphs):
    return odf("text", "<office:text>%s</office:text>" % "".join(
        "<text:p>%s</text:p>" % p for p in paragraphs))


def odf_sheet(rows):
    return odf("spreadsheet", '<office:spreadsheet><table:table table:name="Blad1">%s</table:table>'
               '</office:spreadsheet>' % "".join(
                   "<table:table-row>%s</table:table-row>" % "".join(
                       "<table:table-cell><text:p>%s</text:p></table:table-cell>" % c for c in row)
                   for row in rows))


def rtf_doc(paragraphs):
    """RTF 1.9.1 in code page 1252: letters past ASCII as \\'hh."""
    def esc(t):
        return "".join(c if ord(c) < 128 else "\\'%02x" % c.encode("cp1252")[0] for c in t)
    return (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}}" "\n" +
            "".join(r"\pard\plain\f0\fs22 " + esc(p) + r"\par" "\n" for p in paragraphs) +
            "}").encode("ascii")


PNR_ADULT = luhn_pnr("790314", "246")
PNR_CHILD = luhn_pnr("170602", "314")
PNR_BOAT = luhn_pnr("650921", "117")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def labelled_messages():
    """Messages whose errand, case number or sekretess -- or private or
    party content -- stands only in an attachment, written (with their
    labels) before they were first classified.  id: (subject, body,
    [(file name, type, bytes)])."""
    return {
        "b01": ("Garage", "Hej!\n\nSe bifogad fil.\n\nJohan Ek\n",
                [("ansokan-garage.pdf", "application/pdf", pdf([[
                    "Ansökan om bygglov",
                    "Fastighet: Tallbacken 4:2",
                    "Åtgärd: nybyggnad av fristående garage, 40 kvadratmeter",
                    "Sökande: Johan Ek, Tallbacksvägen 12, Sjövik",
                    "",
                    "Jag ansöker härmed om bygglov för ett garage enligt bifogade ritningar.",
                    "Garaget placeras fyra meter från tomtgränsen mot gatan."]]))]),
        "b02": ("Skrivelse", "Hej,\n\nbifogar min skrivelse.\n\nKarin Lund\n",
                [("skrivelse.docx", DOCX, docx([
                    "Klagomål på snöröjningen på Björkvägen",
                    "Under tre veckor har Björkvägen inte plogats en enda gång, trots att det "
                    "har snöat nästan varje dag. Äldre grannar kan inte ta sig till bussen.",
                    "Jag vill att kommunen åtgärdar detta och svarar mig på vad som kommer att göras.",
                    "Karin Lund, Björkvägen 8"]))]),
        "b03": ("Bifogad fil", "Hej,\nse bilagan.\n\nMvh Ahmed\n",
                [("forslag.odt", "application/vnd.oasis.opendocument.text", odf_text([
                    "Medborgarförslag: fler bänkar längs Strandpromenaden",
                    "Längs Strandpromenaden finns i dag bara två bänkar på två kilometer.",
                    "Jag föreslår att kommunen ställer ut minst sex nya bänkar, så att äldre och "
                    "personer med funktionsnedsättning kan vila under promenaden.",
                    "Ahmed Yusuf"]))]),
        "b04": ("Dokument", "Hej,\n\nse bifogad PDF. Tack på förhand!\n\n/Jonas Berg\n",
                [("begaran.pdf", "application/pdf", pdf([[
                    "Begäran om att ta del av allmän handling",
                    "",
                    "Med stöd av tryckfrihetsförordningen begär jag att få ta del av samtliga",
                    "avtal som Sjövik kommun har tecknat med Sjövik Buss AB under 2025.",
                    "Handlingarna önskas i elektronisk form till denna adress.",
                    "",
                    "Jonas Berg, Tidningen Sjöviksbladet"]]))]),
        "b05": ("Angående Tallbacken", "Hej Erik,\n\nse bifogat dokument.\n\nOlle Tall\n",
                [("overklagande.rtf", "application/rtf", rtf_doc([
                    "Överklagande av föreläggande, ärende BN 2026/77",
                    "Jag överklagar byggnadsnämndens föreläggande om rivning av förrådet på "
                    "Tallbacken 2:8 och begär att beslutet upphävs.",
                    "Förrådet stod på platsen redan när jag köpte fastigheten 1998.",
                    "Olle Tall"]))]),
        "b06": ("Handlingar", "Hej,\n\nse bifogat.\n",
                [("winmail.dat", "application/ms-tnef", tnef(
                    body="Hej, se bifogat.".encode("cp1252"),
                    attachments=[{"name": "Ansokan.docx", "type": DOCX, "data": docx([
                        "Ansökan om ekonomiskt bistånd",
                        "Sökande: Maria Holm, personnummer " + PNR_ADULT,
                        "Jag är sjukskriven för depression sedan augusti och har ingen inkomst.",
                        "Jag ansöker om försörjningsstöd för december månad."])}]))]),
        "b07": ("Som vi pratade om", "Hej Fatima,\n\nsom vi pratade om i telefon, se bifogad lista.\n\n"
                "Hälsningar\nSkolsköterskan, Norrby skola\n",
                [("oro.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  xlsx_rows([["Namn", "Personnummer", "Iakttagelse"],
                             ["Elin S", PNR_CHILD, "kommer hungrig till skolan, blåmärken på armarna, "
                              "misstänkt vanvård i hemmet"]]))]),
        "b08": ("Presentationen", "Hej Göran,\n\ntack för mötet i dag. Här är bildspelet.\n\n"
                "Anders Krona\n",
                [("bildspel.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                  pptx_slides([["Upphandling av skolskjutstjänster 2027", "Dnr KS 2026/140"],
                               ["Förslag till utvärderingsmodell", "Pris 60 procent, kvalitet 40 procent"]]))]),
        "b09": ("Outdoor market in Sjövik", "Dear Sir or Madam,\n\nPlease see the attached document.\n\n"
                "Kind regards,\nEmma Clarke\n",
                [("market.pdf", "application/pdf", pdf([[
                    "Application for permission to hold an outdoor market",
                    "",
                    "Nordic Fairs Ltd hereby applies for permission to use the square in",
                    "Sjövik centre for a Christmas market on 12 and 13 December 2026.",
                    "We expect twenty stalls selling food and handicrafts.",
                    "Please let us know what the municipality decides."]]))]),
        "b10": ("Skolskjutsen igen", "Hej,\n\nmitt brev finns i bilagan.\n\nLisa\n",
                [("brev.txt", "text/plain; charset=windows-1252",
                  ("Angående ärende BUN 2026/33.\n\nSkolbussen kom inte i morse heller, för fjärde "
                   "gången i månaden. Barnen stod och väntade i minusgrader i fyrtio minuter.\n"
                   "Jag vill veta vad ni gör åt saken.\n\nLisa Ahmed\n").encode("cp1252"))]),
        "b11": ("Din faktura november 2026",
                "Hej Anna!\n\nDin faktura för el till Björkvägen 3 finns bifogad som PDF.\n\n"
                "Vänliga hälsningar\nSjövik Energi, kundservice\n",
                [("faktura-2026-11.pdf", "application/pdf", pdf([[
                    "Sjövik Energi AB - Faktura 2026-11-0412",
                    "Kund: Anna Lind, Björkvägen 3, Sjövik",
                    "Elförbrukning oktober 2026: 412 kWh",
                    "Nätavgift: 215 kr",
                    "Att betala: 987 kr senast 2026-12-15 till bankgiro 123-4567"]]))]),
        "b12": ("Kommunaktuellt vecka 47", "Veckans nummer finns som bilaga.\n\n"
                "Avsluta prenumerationen: svara med AVSLUTA.\n",
                [("kommunaktuellt-47.pdf", "application/pdf", pdf([[
                    "Kommunaktuellt - nyhetsbrev vecka 47",
                    "Regeringen föreslår ändrade regler för bygglov i strandnära lägen.",
                    "Tre kommuner i Mellansverige inför en ny e-tjänst för ekonomiskt bistånd.",
                    "Kalendarium: konferens om offentlig upphandling i mars.",
                    "Du får detta nyhetsbrev som prenumerant."]]))]),
        "b13": ("Till gruppmötet", "Hej David,\n\nhär är utkastet, se bilagan.\n\n"
                "Lotta, ordförande\n",
                [("motion.pdf", "application/pdf", pdf([[
                    "Motion till partistämman 2027 - Parti A i Sjövik",
                    "",
                    "Vi yrkar att partistämman beslutar att partiet ska driva frågan om",
                    "sänkt taxa för skolskjuts i kommunfullmäktige under nästa mandatperiod.",
                    "Motionen behandlas på medlemsmötet innan den skickas till distriktet."]]))]),
        "b14": ("Beslut", "Hej Maria,\n\nbifogat finns beslutet.\n\nMed vänlig hälsning\n"
                "Erik Sjöberg\nSjövik kommun\n",
                [("beslut.pdf", "application/pdf", pdf([[
                    "Beslut",
                    "Ärende BN 2026/45",
                    "Byggnadsnämnden beviljar bygglov för nybyggnad av enbostadshus",
                    "på fastigheten Sjövik 3:12.",
                    "Beslutet kan överklagas inom tre veckor."]]))]),
        "b15": ("Båtplats", "Hej,\n\nse bifogad blankett.\n\n/Per\n",
                [("blankett.docx", DOCX, docx([
                    "Anmälan om byte av båtplats",
                    "Namn: Per Nyberg, personnummer " + PNR_BOAT,
                    "Jag vill byta från plats 14 till plats 22 i Norra hamnen från och med nästa "
                    "säsong. Båten är 7 meter lång."]))]),
        "b16": ("Utkast", "Hej Maja,\n\nhär är mitt utkast, kan du titta på det före fredag?\n\nErik\n",
                [("tjansteskrivelse.docx", DOCX, docx([
                    "Tjänsteskrivelse, ärende BN 2026/51",
                    "Strandskyddsdispens, Ekudden 1:4",
                    "Förvaltningen föreslår att nämnden avslår ansökan om strandskyddsdispens."]))]),
        "b17": ("Underlag", "Hej Olof,\n\nunderlaget som utlovat.\n\nHälsningar\nAnnika\n",
                [("underlag.ods", "application/vnd.oasis.opendocument.spreadsheet", odf_sheet([
                    ["Ärende", "SN 2026/233"],
                    ["Timmar personlig assistans per vecka", "112"],
                    ["Beviljad period", "2027-01-01 -- 2027-06-30"]]))]),
    }


def affairs_messages():
    """A person's own affairs that arrive as an attachment, each written
    as another sender would (a shop, a hotel, a housing association's
    board, a dentist, an internet provider, a club, a workshop, a union),
    some saying what the file is, some only "se bifogad fil"; beside them
    what must not be taken for such: newsletters and advertising (ringa),
    a business trip's booking (the work's: ringa), and errands whose
    evidence is an invoice or whose request stands only in a PDF.
    Written with their labels (tests/attach/affairs.tsv) before any was
    classified.  id: (subject, body, [(file name, type, bytes)])."""
    return {
        "p01": ("Trädgårdsbutiken - ditt köp",
                "Hej Erik!\n\nTack för att du handlade hos oss. Kvittot finns i bilagan.\n\n"
                "Trädgårdsbutiken i Sjövik\n",
                [("kvitto-30114.pdf", "application/pdf", pdf([[
                    "Kvitto - Trädgårdsbutiken i Sjövik AB",
                    "Kund: Erik Sjöberg, Lövstigen 7, Sjövik",
                    "1 st Trädgårdsslang 25 m                349 kr",
                    "2 st Planteringsjord 50 l               158 kr",
                    "Summa 507 kr, betalt med kort 2026-11-21"]]))]),
        "p02": ("Your reservation 88412",
                "Dear Ms Lund,\n\nThank you for choosing Fjällhotellet. Your confirmation is "
                "attached. We look forward to welcoming you and your family.\n\n"
                "Fjällhotellet reservations\n",
                [("confirmation-88412.pdf", "application/pdf", pdf([[
                    "Reservation confirmation 88412",
                    "Guest: Maja Lund",
                    "Arrival: Friday 5 February 2027, departure: Sunday 7 February 2027",
                    "One family room, 2 adults and 2 children, ski passes included",
                    "Total 6 480 SEK, paid by card"]]))]),
        "p03": ("Information från styrelsen", "Hej,\n\nse bifogat.\n\nStyrelsen\n",
                [("kallelse-extrastamma.docx", DOCX, docx([
                    "Kallelse till extra föreningsstämma i Brf Ekbacken",
                    "Tid: torsdag 10 december kl. 19.00 i föreningslokalen, Ekbacken 2.",
                    "Dagordning: 1. Val av ordförande för stämman. 2. Beslut om stambyte 2027. "
                    "3. Höjning av månadsavgiften med 8 procent.",
                    "Varmt välkomna! Styrelsen"]))]),
        "p04": ("Kallelse",
                "Hej!\n\nDu har en bokad tid hos oss, se bifogad kallelse. Vid förhinder, "
                "avboka senast 24 timmar innan.\n\nTandläkarna i Sjövik\n",
                [("kallelse.pdf", "application/pdf", pdf([[
                    "Tandläkarna i Sjövik - kallelse till undersökning",
                    "Olof Persson",
                    "Tid: tisdag 19 januari 2027 kl. 08.15",
                    "Behandlare: tandläkare Sofia Ek",
                    "Ta med frikort om du har ett."]]))]),
        "p05": ("Ny faktura från Sjövik Fiber",
                "Hej Helena,\n\nnu finns din månadsfaktura. Den är bifogad som PDF och dras via "
                "autogiro den 28:e.\n\nSjövik Fiber\n",
                [("faktura-7730219.pdf", "application/pdf", pdf([[
                    "Sjövik Fiber AB - Faktura 7730219",
                    "Abonnemang: Bredband 250/250 Mbit, Granvägen 5, Sjövik",
                    "Period: december 2026",
                    "Belopp: 399 kr, dras via autogiro 2026-12-28"]]))]),
        "p06": ("Sjövik IF P13 - säsongen 2027",
                "Hej föräldrar!\n\nBifogat finns informationen inför säsongen.\n\nLedarna\n",
                [("info-p13.pdf", "application/pdf", pdf([[
                    "Sjövik IF, pojkar födda 2013",
                    "Träningar: måndagar och torsdagar 17.30-19.00 på Sjövallen",
                    "Medlemsavgift 2027: 900 kr per spelare, betalas senast 31 januari",
                    "Föräldramöte 14 januari kl. 18.30 i klubbstugan",
                    "Anmälan till sommarens turnering görs till lagledaren"]]))]),
        "p07": ("Bekräftelse", "Se bifogad fil.\n",
                [("bokning.pdf", "application/pdf", pdf([[
                    "Sjövik Bil & Service - bokningsbekräftelse",
                    "Kund: Karin Wall",
                    "Fordon: ABC 123, Volvo V60",
                    "Service och byte till vinterdäck",
                    "Lämna bilen onsdag 2 december kl. 07.30. Beräknat pris 3 950 kr."]]))]),
        "p08": ("Medlemsbrev december", "Hej medlem!\n\nHär kommer avdelningens medlemsbrev.\n",
                [("medlemsbrev-december.odt", "application/vnd.oasis.opendocument.text", odf_text([
                    "Medlemsbrev från fackförbundets avdelning Sjövik",
                    "Årsmöte 20 januari: anmäl dig till styrelsen senast 10 januari.",
                    "Ny inkomstförsäkring för medlemmar från 1 februari.",
                    "Glöm inte att medlemsavgiften höjs med 10 kr i månaden."]))]),
        "r01": ("Upphandlingsnytt nr 11",
                "Hej!\n\nHär kommer månadens nyhetsbrev som PDF.\n\nVill du inte längre få "
                "våra utskick? Svara AVREGISTRERA.\n",
                [("upphandlingsnytt-11.pdf", "application/pdf", pdf([[
                    "Upphandlingsnytt november 2026",
                    "Nya tröskelvärden för offentlig upphandling gäller från 1 januari.",
                    "Kammarrätten har prövat en överprövning om skolskjuts i en annan kommun.",
                    "Seminarium om hållbara inköp 3 februari i Stockholm: anmälan på vår webbplats."]]))]),
        "r02": ("Erbjudande till er verksamhet",
                "Hej!\n\nSe bifogad katalog med vårens kampanjpriser.\n\nMed vänlig hälsning\n"
                "Säljavdelningen\n",
                [("kampanj-var.pdf", "application/pdf", pdf([[
                    "Kampanj: ergonomiska kontorsstolar",
                    "30 % rabatt vid köp av minst tio stolar",
                    "Fri leverans och montering",
                    "Erbjudandet gäller till 31 januari. Beställ i dag!"]]))]),
        "r03": ("Bokningsbekräftelse", "Hej,\n\nbifogat är bekräftelsen på bokningen.\n\n"
                "Konferenshotellet\n",
                [("bokning-2231.pdf", "application/pdf", pdf([[
                    "Bokningsbekräftelse 2231",
                    "Gäst: Göran Nordström",
                    "Företag: Sjövik kommun, kommunikationsenheten",
                    "Konferens: Kommunikatörsdagarna 2027, ankomst 9 mars, avresa 10 mars",
                    "Faktureras Sjövik kommun, referens KLF-1120"]]))]),
        "g01": ("Fel på VA-fakturan",
                "Hej,\n\njag bifogar min senaste faktura för vatten och avlopp. Ni har debiterat "
                "för 240 kubikmeter, men vi är två personer och brukar förbruka runt 90. Jag begär "
                "att ni kontrollerar mätaren och rättar fakturan.\n\nBo Strand, Ängsvägen 4\n",
                [("va-faktura.pdf", "application/pdf", pdf([[
                    "Sjövik kommun - faktura vatten och avlopp",
                    "Kund: Bo Strand, Ängsvägen 4, Sjövik",
                    "Förbrukning: 240 kubikmeter",
                    "Belopp: 8 640 kr"]]))]),
        "g02": ("Ärende", "Hej,\nse PDF.\n//Sofia\n",
                [("anmalan.pdf", "application/pdf", pdf([[
                    "Anmälan om olovligt byggande",
                    "På fastigheten Granen 7 har grannen byggt ett plank som är över två meter "
                    "högt, utan bygglov.",
                    "Jag vill att nämnden utreder saken och tar ställning till om planket ska tas "
                    "bort."]]))]),
    }


def write_labelled(m, labels, outdir):
    """The messages of the cases labels (a cases.tsv) names, into outdir
    beside those labels' rows; each message is taken out of m."""
    with open(labels) as f:
        lines = f.read().splitlines()
    cols = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        row = dict(zip(cols, line.split("\t")))
        cid = row["id"]
        if cid not in m:
            sys.exit("make-fixtures.py: %s: no message for case %s" % (labels, cid))
        rows.append(line)
        subject, body, files = m.pop(cid)
        msg = EmailMessage()
        msg["From"] = row["from"]
        msg["To"] = row["rcpt"].split(",")[0]
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.datetime.fromisoformat(
            row["now"].replace("Z", "+00:00")) - datetime.timedelta(minutes=2))
        msg["Message-ID"] = "<attach-case-%s@example.org>" % cid
        msg.set_content(body)
        for name, ctype, data in files:
            main_type, sub = ctype.split(";")[0].split("/")
            params = {}
            if "charset=" in ctype:
                params["params"] = {"charset": ctype.split("charset=")[1]}
            msg.add_attachment(data, maintype=main_type, subtype=sub, filename=name, **params)
        with open(os.path.join(outdir, cid + ".eml"), "wb") as f:
            f.write(msg.as_bytes())
    return rows


def main():
    for d in (FILES, MSGS, SEEDS):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    make_pdfs()
    with open(os.path.join(FILES, "ansokan.pdf"), "rb") as f:
        make_tnef(f.read())
    make_office()
    make_rtf()
    make_text()
    with open(os.path.join(OUT, "expect.tsv"), "w") as f:
        for name, ctype, status, words in expect:
            # Tabs and line ends in the words written as \t and \n.
            words = words.replace("\t", "\\t").replace("\n", "\\n")
            f.write("\t".join([name, ctype, status, words]) + "\n")
    for name, ctype, status, _ in expect:
        with open(os.path.join(FILES, name), "rb") as f:
            data = f.read()
        # Not the CPU bomb: seconds an input would slow the fuzzer.
        if len(data) <= 1 << 20 and status != "slow":
            with open(os.path.join(SEEDS, name + ".req"), "wb") as f:
                f.write(request(data, ctype, name))
    make_messages()
    make_corpus()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the two EN 10204 3.1 inspection certificates of the example PETG lots.

    python3 make-certificates.py [OUTDIR]      (default: the folder of this script)

These stand in for the documents a filament supplier would send with each lot:
certificate-3.1.pdf (lot PETG-2026-0117, conforming, released) and
certificate-3.1-quarantine.pdf (lot PETG-2026-0131, moisture out of
specification, held in quarantine). The results below are transcribed
verbatim into ../material-lot.yaml and ../material-lot-quarantine.yaml.

Standard library only. The PDF is a minimal, uncompressed PDF 1.4 with one A4
page and the two standard fonts Helvetica and Helvetica-Bold (WinAnsiEncoding),
so its text can be searched with grep. The output is deterministic: the dates
in the document information come from the certificate, and the file ID is a
hash of the content.
"""
import hashlib
import os
import sys

SUPPLIER = [
    "POLYFIL Extrusion SAS",
    "ZA des Tisserands, 14 rue de l'Industrie, 69150 Décines-Charpieu, France",
    "Quality department: +33 4 00 00 00 00, quality@polyfil.example",
]

# Common to both lots.
PRODUCT = {
    "customer": "ACME Mechanical Components, 3 allée des Forges, 38000 Grenoble, France",
    "product": "3D printing filament, \u00d8 1.75 mm, black, on 1 kg spools (net)",
    "spec": "PETG, ISO 1043 / general purpose, 1.75 mm filament",
    "grade": "PF-PETG GP",
    "resin": "PETG copolyester (ISO 1043: PETG), natural, with 1.5 % black masterbatch",
}

METHOD_DIAMETER = "Laser micrometer, 2 axes, 100 % of length"

LOTS = [
    {
        "out": "certificate-3.1.pdf",
        "number": "PF-3.1-26-0117",
        "issued": "2026-10-05",
        "order": "PO-2026-4471 of 2026-09-14",
        "delivery": "DN-26-10442",
        "lot": "PETG-2026-0117",
        "resin_lot": "R-26-7731",
        "quantity": "120 kg (120 spools)",
        "manufactured": "2026-10-02",
        "expires": "2028-10-02",
        "results": [
            ("Filament diameter, mean", METHOD_DIAMETER, "1.75 mm \u00b1 0.02 mm", "1.75 mm"),
            ("Diameter, max. deviation", METHOD_DIAMETER, "max. 0.02 mm", "0.015 mm"),
            ("Ovality", METHOD_DIAMETER, "max. 0.02 mm", "0.008 mm"),
            ("Density", "ISO 1183-1, method A, 23 \u00b0C", "1.26 \u2013 1.28 g/cm\u00b3", "1.27 g/cm\u00b3"),
            ("Melt flow rate (MFR)", "ISO 1133-1, 230 \u00b0C / 2.16 kg", "15 \u2013 25 g/10min", "19.6 g/10min"),
            ("Tensile strength at yield", "ISO 527-2, type 1A, 50 mm/min", "min. 45 MPa", "50.2 MPa"),
            ("Moisture content", "ISO 15512, method B (Karl Fischer)", "max. 0.10 %", "0.05 %"),
            ("Vicat softening temperature", "ISO 306, method B50", "min. 75 \u00b0C", "81 \u00b0C"),
        ],
        "verdict": [
            "The results comply with the requirements of the order and of the material specification.",
            "The lot is released for delivery.",
        ],
    },
    {
        "out": "certificate-3.1-quarantine.pdf",
        "number": "PF-3.1-26-0131",
        "issued": "2026-10-21",
        "order": "PO-2026-4471 of 2026-09-14",
        "delivery": "DN-26-10587",
        "lot": "PETG-2026-0131",
        "resin_lot": "R-26-7764",
        "quantity": "80 kg (80 spools)",
        "manufactured": "2026-10-19",
        "expires": "2028-10-19",
        "results": [
            ("Filament diameter, mean", METHOD_DIAMETER, "1.75 mm \u00b1 0.02 mm", "1.75 mm"),
            ("Diameter, max. deviation", METHOD_DIAMETER, "max. 0.02 mm", "0.018 mm"),
            ("Ovality", METHOD_DIAMETER, "max. 0.02 mm", "0.011 mm"),
            ("Density", "ISO 1183-1, method A, 23 \u00b0C", "1.26 \u2013 1.28 g/cm\u00b3", "1.27 g/cm\u00b3"),
            ("Melt flow rate (MFR)", "ISO 1133-1, 230 \u00b0C / 2.16 kg", "15 \u2013 25 g/10min", "22.4 g/10min"),
            ("Tensile strength at yield", "ISO 527-2, type 1A, 50 mm/min", "min. 45 MPa", "48.7 MPa"),
            ("Moisture content", "ISO 15512, method B (Karl Fischer)", "max. 0.10 %", "0.16 %"),
            ("Vicat softening temperature", "ISO 306, method B50", "min. 75 \u00b0C", "80 \u00b0C"),
        ],
        "verdict": [
            "Result 7 (moisture content) does not comply with the requirement. The lot is blocked",
            "(quarantine) pending re-drying and re-test, and must not be used for production.",
        ],
    },
]

# Advance widths (1/1000 em) of Helvetica for the WinAnsi characters used here;
# used only to check that no text overflows its table cell.
_W = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
     556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
     1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
     667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
     333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
     556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]))
_W.update({"\u00b1": 584, "\u00b0": 400, "\u00b3": 333, "\u2013": 556, "\u00d8": 778,
           "\u00e9": 556, "\u00fc": 556})


def width(s, size, bold=False):
    return sum(_W[c] for c in s) * size / 1000.0 * (1.08 if bold else 1.0)


def pdf_string(s):
    out = []
    for b in s.encode("cp1252"):
        c = chr(b)
        if c in "\\()":
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return "(" + "".join(out) + ")"


class Page:
    def __init__(self):
        self.ops = []

    def text(self, x, y, s, size=9, bold=False, maxw=None):
        if maxw is not None and width(s, size, bold) > maxw:
            raise SystemExit("text too wide for its cell: %r" % s)
        self.ops.append("BT /%s %g Tf %.2f %.2f Td %s Tj ET"
                        % ("F2" if bold else "F1", size, x, y, pdf_string(s)))

    def line(self, x1, y1, x2, y2, w=0.5):
        self.ops.append("%.2f w %.2f %.2f m %.2f %.2f l S" % (w, x1, y1, x2, y2))

    def rect(self, x, y, w, h, lw=0.5):
        self.ops.append("%.2f w %.2f %.2f %.2f %.2f re S" % (lw, x, y, w, h))

    def fill(self, x, y, w, h, gray):
        self.ops.append("%.2f g %.2f %.2f %.2f %.2f re f 0 g" % (gray, x, y, w, h))


def certificate(lot):
    p = Page()
    L, R, top = 50, 545, 800
    # Letterhead
    p.text(L, top, SUPPLIER[0], 15, True)
    p.text(L, top - 14, SUPPLIER[1], 8)
    p.text(L, top - 25, SUPPLIER[2], 8)
    p.line(L, top - 33, R, top - 33, 1.2)
    # Title
    p.text(L, top - 58, "INSPECTION CERTIFICATE 3.1", 16, True)
    p.text(L, top - 72, "according to EN 10204:2004, type 3.1", 8.5, maxw=320)
    p.text(L, top - 83, "(Abnahmepr\u00fcfzeugnis 3.1 / certificat de r\u00e9ception 3.1)", 8.5, maxw=320)
    p.text(380, top - 52, "Certificate no.", 8.5)
    p.text(455, top - 52, lot["number"], 8.5, True)
    p.text(380, top - 64, "Date of issue", 8.5)
    p.text(455, top - 64, lot["issued"], 8.5, True)
    p.text(380, top - 76, "Page", 8.5)
    p.text(455, top - 76, "1 of 1", 8.5)

    # Order and product data
    y = top - 100
    rows = [
        ("Customer", PRODUCT["customer"]),
        ("Customer order", lot["order"]),
        ("Delivery note", lot["delivery"]),
        ("Product", PRODUCT["product"]),
        ("Material specification", PRODUCT["spec"]),
        ("Grade", PRODUCT["grade"]),
        ("Lot (batch) number", lot["lot"]),
        ("Base resin", PRODUCT["resin"] + ", resin lot " + lot["resin_lot"]),
        ("Quantity", lot["quantity"]),
        ("Date of manufacture", lot["manufactured"]),
        ("Use before (sealed spool)", lot["expires"]),
    ]
    rh = 14
    p.rect(L, y - rh * len(rows), R - L, rh * len(rows))
    p.line(L + 120, y, L + 120, y - rh * len(rows))
    for i, (k, v) in enumerate(rows):
        yy = y - rh * (i + 1)
        if i:
            p.line(L, yy + rh, R, yy + rh, 0.3)
        p.text(L + 4, yy + 4, k, 8.5, maxw=112)
        p.text(L + 124, yy + 4, v, 8.5, k in ("Lot (batch) number", "Material specification"),
               maxw=R - L - 128)

    # Results
    y = y - rh * len(rows) - 28
    p.text(L, y, "Test results", 11, True)
    p.text(L + 80, y, "Samples taken at the start, middle and end of the extrusion run of the lot.", 8)
    y -= 8
    cols = [(L, 18, "#"), (L + 18, 112, "Property"), (L + 130, 170, "Test method"),
            (L + 300, 110, "Requirement"), (L + 410, 85, "Result")]
    nrows = len(lot["results"]) + 1
    p.fill(L, y - rh, R - L, rh, 0.88)
    p.rect(L, y - rh * nrows, R - L, rh * nrows)
    for x, w, _ in cols[1:]:
        p.line(x, y, x, y - rh * nrows, 0.3)
    for x, w, h in cols:
        p.text(x + 4, y - rh + 4, h, 8.5, True, maxw=w - 6)
    for i, r in enumerate(lot["results"]):
        yy = y - rh * (i + 2)
        p.line(L, yy + rh, R, yy + rh, 0.3)
        cells = (str(i + 1),) + r
        for (x, w, _), c in zip(cols, cells):
            p.text(x + 4, yy + 4, c, 8.5, (x, w, _) == cols[4], maxw=w - 6)

    # Statement
    y = y - rh * nrows - 24
    p.text(L, y, "Statement of compliance", 11, True)
    y -= 15
    for s in ["We certify that the product described above was tested on samples of the lot itself, in accordance",
              "with the order and the test methods stated, by our quality department, which is independent of",
              "the manufacturing department."] + lot["verdict"]:
        p.text(L, y, s, 8.5, maxw=R - L)
        y -= 12

    # Signature
    y -= 26
    p.text(L, y, "Authorized inspection representative (independent of manufacturing)", 8.5)
    p.line(L, y - 34, L + 200, y - 34, 0.5)
    p.text(L, y - 45, "C. Moreau, Quality Manager", 8.5, True)
    p.text(L, y - 56, "Signed electronically on " + lot["issued"], 8)
    p.rect(400, y - 56, 145, 60, 0.8)
    p.text(412, y - 14, "POLYFIL Extrusion SAS", 8.5, True)
    p.text(412, y - 27, "Quality department", 8.5)
    p.text(412, y - 40, "EN 10204 3.1", 8.5)

    # Footer
    p.line(L, 60, R, 60, 0.5)
    p.text(L, 48, "This certificate was issued electronically and is valid without a handwritten signature. "
                  "It may be reproduced only in full.", 7)
    p.text(L, 38, "Example document for the dvi project: the companies and the results are fictitious.", 7)
    return "\n".join(p.ops) + "\n"


def write_pdf(path, content, lot):
    d = lot["issued"].replace("-", "")
    info = ("<< /Title %s /Author %s /Subject %s /Producer (make-certificates.py) "
            "/CreationDate (D:%s120000Z) /ModDate (D:%s120000Z) >>"
            % (pdf_string("EN 10204 3.1 inspection certificate " + lot["number"]),
               pdf_string(SUPPLIER[0]),
               pdf_string("Lot " + lot["lot"] + ", " + PRODUCT["spec"]), d, d))
    stream = content.encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        info.encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    fid = hashlib.md5(bytes(out)).hexdigest().encode()
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, fid, fid, xref))
    with open(path, "wb") as f:
        f.write(out)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for lot in LOTS:
        write_pdf(os.path.join(outdir, lot["out"]), certificate(lot), lot)


if __name__ == "__main__":
    main()

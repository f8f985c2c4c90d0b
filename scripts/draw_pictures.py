#!/usr/bin/env python3
"""Draw the lessons' pictures as SVG, once per language, from this one source.

    python scripts/draw_pictures.py           # (re)write notebooks/pictures/{en,fr}/<name>.svg
    python scripts/draw_pictures.py --check   # exit 1, naming the stale files, if any differs

Standard library only, so it runs with any Python 3.11 (no .venv needed). Each picture is one
drawing function; its words come from a small dictionary with one entry per language, so the
English and the French pictures share every coordinate and cannot drift apart in layout.
The output is deterministic: the same bytes on every run and every machine.

The pictures are laid out by hand on canvases about 960 units wide, to be read at 700-900 px.
While drawing, the canvas measures every label with the metrics of DejaVu Sans (the first font
of the stack below; Verdana has nearly the same widths, the other fallbacks are narrower) and
refuses a label that leaves its box, leaves the picture, overlaps another label or is crossed
by a line: a longer translation fails here, with the label named, instead of in front of a class.
"""

from __future__ import annotations

import argparse
import math
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "notebooks" / "pictures"
LANGS = ("en", "fr")

SANS = "DejaVu Sans, Verdana, Bitstream Vera Sans, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"

# One colour per component, the same in every picture: (stroke, fill, text on the fill).
PALETTE = {
    "producer": ("#2B6CB0", "#E6F0FA", "#1E4E8C"),    # the Python producer, the notebook
    "kafka": ("#1D7874", "#DEF2EF", "#135653"),
    "spark": ("#DD6B20", "#FDEDE0", "#9C4214"),
    "minio": ("#C53B5C", "#FBE6EB", "#8E2240"),
    "prometheus": ("#6B46C1", "#EEE8F9", "#4C2F94"),
    "grafana": ("#C98A1B", "#FDF3DE", "#7F560E"),
    "model": ("#2F855A", "#E4F4EA", "#1F5E3F"),
    "neutral": ("#718096", "#F5F7FA", "#2D3748"),
}
INK = "#1A202C"
MUTED = "#4A5568"
LINE = "#718096"
OK = "#2F855A"
BAD = "#C53030"
WHITE = "#FFFFFF"

# Advance widths of DejaVu Sans (regular, bold) for ' ' .. '~', in thousandths of an em,
# read from the font files once. Letters with accents take their base letter's width.
_WIDTHS = {
    False: [318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
            636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
            770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
            684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
            634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
            525, 636, 337, 636, 838],
    True: [348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
           696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734,
           830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
           774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
           712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
           582, 712, 365, 712, 838],
}
_OTHER_WIDTHS = {"…": 1000, "—": 1000, "–": 500, "«": 612, "»": 612, "’": 318, "·": 318,
                 "\u00a0": 318, "\u202f": 200}
MONO_WIDTH = 0.602


def text_width(s: str, size: float, bold: bool = False, mono: bool = False) -> float:
    """Width in canvas units of `s` at `size`, as DejaVu Sans (Mono) draws it."""
    if mono:
        return len(s) * MONO_WIDTH * size
    total = 0
    for ch in s:
        base = unicodedata.normalize("NFD", ch)[0]
        if " " <= base <= "~":
            total += _WIDTHS[bold][ord(base) - 32]
        else:
            total += _OTHER_WIDTHS.get(ch, 838)  # arrows, maths signs
    return total * size / 1000


def french_spaces(s: str) -> str:
    """French typography: a no-break space before : ; ? ! and inside « », so none starts a line."""
    for mark in (":", ";", "?", "!", "»"):
        s = s.replace(" " + mark, "\u00a0" + mark)
    return s.replace("« ", "«\u00a0")


def num(v: float) -> str:
    """A coordinate as short, stable text: 12, 12.5 (never 12.000000001)."""
    v = round(v, 2)
    return str(int(v)) if v == int(v) else f"{v:.2f}".rstrip("0")


def _crosses(box, seg) -> bool:
    """Does the segment pass through the label's box (its inner part: touching is fine)?"""
    bx, by, bw, bh, _ = box
    x0, y0, x1, y1 = bx + 1, by + 1, bx + bw - 1, by + bh - 1
    (ax, ay, cx, cy), lo, hi = seg, 0.0, 1.0
    for p, q in ((-(cx - ax), ax - x0), (cx - ax, x1 - ax), (-(cy - ay), ay - y0), (cy - ay, y1 - ay)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            lo = max(lo, q / p)
        else:
            hi = min(hi, q / p)
    return lo < hi


class LayoutError(Exception):
    """A label that does not fit where the drawing puts it."""


@dataclass
class Canvas:
    """An SVG picture being drawn; `svg()` gives its text. Checks every label as it is placed."""

    name: str
    lang: str
    width: int
    height: int
    title: str
    desc: str
    parts: list[str] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float, str]] = field(default_factory=list)
    segments: list[tuple[float, float, float, float]] = field(default_factory=list)

    # -- shapes -----------------------------------------------------------------------------
    def rect(self, x, y, w, h, *, fill=WHITE, stroke=LINE, sw=1.5, rx=6, dash=None, opacity=None):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' fill-opacity="{opacity}"' if opacity is not None else ""
        self.parts.append(f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" rx="{num(rx)}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="{num(sw)}"{extra}/>')

    def circle(self, cx, cy, r, *, fill=WHITE, stroke=LINE, sw=1.5):
        self.parts.append(f'<circle cx="{num(cx)}" cy="{num(cy)}" r="{num(r)}" fill="{fill}" '
                          f'stroke="{stroke}" stroke-width="{num(sw)}"/>')

    def path(self, d, *, fill="none", stroke=LINE, sw=1.5, dash=None, join="round"):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{num(sw)}" '
                          f'stroke-linejoin="{join}" stroke-linecap="round"{extra}/>')

    def polygon(self, points, *, fill=LINE, stroke="none", sw=1):
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.parts.append(f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}" stroke-width="{num(sw)}"/>')

    def line(self, x1, y1, x2, y2, *, color=LINE, sw=1.5, dash=None):
        self._segment(x1, y1, x2, y2)
        self.path(f"M{num(x1)} {num(y1)}L{num(x2)} {num(y2)}", stroke=color, sw=sw, dash=dash)

    def _segment(self, x1, y1, x2, y2):
        """Remember a line, so that no label is drawn across it (nor it across a label)."""
        for box in self.boxes:
            if _crosses(box, (x1, y1, x2, y2)):
                raise LayoutError(f"{self.name} ({self.lang}): a line crosses {box[4]!r}")
        self.segments.append((x1, y1, x2, y2))

    def arrow(self, points, *, color=LINE, sw=2, dash=None, head=10, both=False):
        """A polyline through `points` with an arrowhead at the end (and the start if `both`)."""
        for a, b in zip(points, points[1:]):
            self._segment(*a, *b)
        # The line stops at the base of the head, so its round cap never pokes through the tip.
        short = list(points)
        short[-1] = self._back(points[-1], points[-2], head * 0.8)
        if both:
            short[0] = self._back(points[0], points[1], head * 0.8)
        d = "M" + "L".join(f"{num(x)} {num(y)}" for x, y in short)
        self.path(d, stroke=color, sw=sw, dash=dash)
        self._head(points[-2], points[-1], color, head)
        if both:
            self._head(points[1], points[0], color, head)

    @staticmethod
    def _back(tip, before, length):
        dx, dy = tip[0] - before[0], tip[1] - before[1]
        n = math.hypot(dx, dy)
        return (tip[0] - dx / n * length, tip[1] - dy / n * length)

    def _head(self, before, tip, color, head):
        dx, dy = tip[0] - before[0], tip[1] - before[1]
        n = math.hypot(dx, dy)
        ux, uy = dx / n, dy / n
        bx, by = tip[0] - ux * head, tip[1] - uy * head
        half = head * 0.45
        self.polygon([tip, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)], fill=color)

    def check_mark(self, x, y, size=12, color=OK):
        """A tick drawn as a path (a ✓ glyph is missing from some fonts)."""
        s = size
        self.path(f"M{num(x)} {num(y + s * .55)}L{num(x + s * .38)} {num(y + s * .9)}L{num(x + s)} {num(y + s * .1)}",
                  stroke=color, sw=2.5)

    def cross_mark(self, x, y, size=12, color=BAD):
        s = size
        self.path(f"M{num(x)} {num(y)}L{num(x + s)} {num(y + s)}M{num(x + s)} {num(y)}L{num(x)} {num(y + s)}",
                  stroke=color, sw=2.5)

    def bolt(self, x, y, size=22, color=BAD):
        """A lightning bolt (a crash), top-left at (x, y)."""
        s = size / 22
        pts = [(9, 0), (2, 12), (8, 12), (5, 22), (15, 8), (9, 8), (13, 0)]
        self.polygon([(x + px * s, y + py * s) for px, py in pts], fill="#F6C343", stroke=color, sw=1.5)

    def folder(self, x, y, color, w=18, h=13):
        """A folder icon, top-left at (x, y)."""
        self.path(f"M{num(x)} {num(y + 2)}L{num(x + w * .4)} {num(y + 2)}L{num(x + w * .5)} {num(y + 4)}"
                  f"L{num(x + w)} {num(y + 4)}L{num(x + w)} {num(y + h)}L{num(x)} {num(y + h)}Z",
                  fill=color, stroke=color, sw=1)

    def file_icon(self, x, y, color, w=12, h=15):
        self.path(f"M{num(x)} {num(y)}L{num(x + w * .65)} {num(y)}L{num(x + w)} {num(y + h * .3)}"
                  f"L{num(x + w)} {num(y + h)}L{num(x)} {num(y + h)}Z", fill=WHITE, stroke=color, sw=1.3)

    # -- text -------------------------------------------------------------------------------
    def text(self, x, y, s, *, size=14, bold=False, mono=False, italic=False, color=INK, anchor="start",
             room=None, check_overlap=True):
        """One line of text with its baseline at y. `room`: the width it must fit in."""
        if s != s.strip(" ") or "  " in s:
            raise LayoutError(f"{self.name} ({self.lang}): {s!r}: SVG would drop these spaces")
        if self.lang == "fr" and not mono:
            s = french_spaces(s)
        w = text_width(s, size, bold, mono)
        if room is not None and w > room + 0.5:
            raise LayoutError(f"{self.name} ({self.lang}): {s!r} is {w:.0f} wide, it has {room:.0f}")
        left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
        top, bottom = y - 0.78 * size, y + 0.24 * size
        if left < 0 or left + w > self.width or top < 0 or bottom > self.height:
            raise LayoutError(f"{self.name} ({self.lang}): {s!r} leaves the picture "
                              f"({left:.0f}..{left + w:.0f} x {top:.0f}..{bottom:.0f})")
        if check_overlap:
            for bx, by, bw, bh, other in self.boxes:
                if left < bx + bw and bx < left + w and top < by + bh and by < bottom:
                    raise LayoutError(f"{self.name} ({self.lang}): {s!r} overlaps {other!r}")
            box = (left, top, w, bottom - top, s)
            for seg in self.segments:
                if _crosses(box, seg):
                    raise LayoutError(f"{self.name} ({self.lang}): {s!r} is drawn across a line")
            self.boxes.append(box)
        attrs = f'x="{num(x)}" y="{num(y)}" font-size="{num(size)}"'
        if bold:
            attrs += ' font-weight="bold"'
        if italic:
            attrs += ' font-style="italic"'
        if mono:
            attrs += f" font-family={quoteattr(MONO)}"
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if color != INK:
            attrs += f' fill="{color}"'
        self.parts.append(f"<text {attrs}>{escape(s)}</text>")
        return w

    def runs(self, x, y, pieces, *, size=14, room=None, color=INK):
        """One line made of pieces in different styles: [(text, {"mono": True, ...}), ...]."""
        total = sum(text_width(french_spaces(t) if self.lang == "fr" and not st.get("mono") else t,
                               st.get("size", size), st.get("bold", False), st.get("mono", False))
                    for t, st in pieces)
        if room is not None and total > room + 0.5:
            raise LayoutError(f"{self.name} ({self.lang}): {''.join(t for t, _ in pieces)!r} is {total:.0f} wide, "
                              f"it has {room:.0f}")
        for t, st in pieces:
            st = {"size": size, "color": color, **st}
            # SVG drops a text's leading and trailing spaces: step over them instead of drawing them
            lead, trail = len(t) - len(t.lstrip(" ")), len(t) - len(t.rstrip(" "))
            space = text_width(" ", st["size"], st.get("bold", False), st.get("mono", False))
            x += lead * space
            x += self.text(x, y, t.strip(" "), **st) + trail * space
        return total

    def lines(self, x, y, texts, *, size=14, leading=None, **kw):
        """Several lines, the first baseline at y; returns the baseline after the last one."""
        leading = leading or round(size * 1.3, 1)
        for t in texts:
            if t:
                self.text(x, y, t, size=size, **kw)
            y += leading
        return y

    # -- building blocks --------------------------------------------------------------------
    def box(self, x, y, w, h, kind, title=None, *, size=16, rx=8, sw=2, dash=None, fill=None, pad=12):
        """A component's box in its palette colour, with an optional bold title inside, top-left."""
        stroke, bg, ink = PALETTE[kind]
        self.rect(x, y, w, h, fill=fill or bg, stroke=stroke, sw=sw, rx=rx, dash=dash)
        if title:
            self.text(x + pad, y + pad + size * 0.8, title, size=size, bold=True, color=ink, room=w - 2 * pad)

    def badge(self, cx, cy, label, kind="neutral", r=10, size=12):
        """A numbered circle, the steps' markers."""
        stroke, _, _ = PALETTE[kind]
        self.circle(cx, cy, r, fill=stroke, stroke=stroke)
        self.text(cx, cy + size * 0.36, label, size=size, bold=True, color=WHITE, anchor="middle",
                  check_overlap=False)

    def heading(self, s):
        self.text(24, 34, s, size=20, bold=True)

    # -- output -----------------------------------------------------------------------------
    def svg(self) -> str:
        tid, did = f"{self.name}-title", f"{self.name}-desc"
        title, desc = self.title, self.desc
        if self.lang == "fr":
            title, desc = french_spaces(title), french_spaces(desc)
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
                f'viewBox="0 0 {self.width} {self.height}" role="img" aria-labelledby="{tid} {did}" '
                f'xml:lang="{self.lang}" font-family={quoteattr(SANS)}>')
        body = [head, f'<title id="{tid}">{escape(title)}</title>', f'<desc id="{did}">{escape(desc)}</desc>',
                # An opaque background: JupyterLab's dark theme would otherwise show dark text on dark.
                f'<rect width="{self.width}" height="{self.height}" fill="{WHITE}"/>']
        return "\n".join(body + self.parts + ["</svg>"]) + "\n"


def labels(table: dict[str, dict], lang: str) -> dict:
    """One language's labels of a picture; every language must name the same labels."""
    missing = set(table["en"]) ^ set(table[lang])
    if missing:
        raise KeyError(f"labels differ between en and {lang}: {sorted(missing)}")
    return table[lang]


def canvas(name, lang, width, height, t) -> Canvas:
    return Canvas(name, lang, width, height, t["title"], t["desc"])


# ===========================================================================================
# architecture: the whole pipeline, producer -> Kafka -> Spark -> MinIO
# ===========================================================================================

ARCHITECTURE = {
    "en": {
        "title": "The lab’s pipeline: producer, Kafka, Spark Structured Streaming, MinIO",
        "desc": "A producer in a notebook cell (or capteur.py) sends JSON transactions to the Kafka topic "
                "transactions (3 partitions, 127.0.0.1:9092). Spark Structured Streaming, running in the "
                "notebook kernel, reads them, parses the JSON, validates each message, converts the amount "
                "to EUR with the rates table and adds the time zone, then writes Parquet to the MinIO bucket "
                "transactions (127.0.0.1:9000): valid rows to output/, rejected messages with their reason "
                "to rejected/, and its progress to checkpoint/.",
        "heading": "The lab’s pipeline",
        "producer": "Producer",
        "producer_where": ["a notebook cell", "or capteur.py"],
        "producer_what": ["one JSON message", "per transaction,", "key = its id"],
        "producer_acks": ["every send is", "acknowledged"],
        "kafka_topic": "topic ",
        "kafka_partitions": "3 partitions",
        "kafka_note": ["append-only logs:", "kept after reading"],
        "kafka_broker": "one broker (KRaft)",
        "spark_title": ["Spark Structured", "Streaming"],
        "spark_where": "in the notebook kernel",
        "steps": [("parse the JSON", "with a schema"),
                  ("validate", "or reject, with a reason"),
                  ("devise → EUR", "rates table, cents"),
                  ("add the time zone", "Europe/Paris")],
        "minio": "MinIO (S3)",
        "bucket": "bucket",
        "output": ["valid rows,", "as Parquet,", "by event_date"],
        "rejected": ["message + reason"],
        "checkpoint": ["each query’s", "progress"],
        "send": "send",
        "read": "read",
        "write": "write",
        "message": "One message in the topic: a key and a value (UTF-8 JSON)",
        "key": "key",
        "value": "value",
    },
    "fr": {
        "title": "Le pipeline du TP : producteur, Kafka, Spark Structured Streaming, MinIO",
        "desc": "Un producteur dans une cellule du notebook (ou capteur.py) envoie des transactions JSON au "
                "topic Kafka transactions (3 partitions, 127.0.0.1:9092). Spark Structured Streaming, qui "
                "tourne dans le noyau du notebook, les lit, analyse le JSON, valide chaque message, convertit "
                "le montant en euros avec la table des taux et ajoute le fuseau horaire, puis écrit du Parquet "
                "dans le compartiment MinIO transactions (127.0.0.1:9000) : les lignes valides dans output/, "
                "les messages rejetés avec leur motif dans rejected/, et son avancement dans checkpoint/.",
        "heading": "Le pipeline du TP",
        "producer": "Producteur",
        "producer_where": ["une cellule du", "notebook ou", "capteur.py"],
        "producer_what": ["un message JSON", "par transaction,", "clé = son identifiant"],
        "producer_acks": ["chaque envoi", "est acquitté"],
        "kafka_topic": "topic ",
        "kafka_partitions": "3 partitions",
        "kafka_note": ["journaux en ajout seul,", "conservés après lecture"],
        "kafka_broker": "un broker (KRaft)",
        "spark_title": ["Spark Structured", "Streaming"],
        "spark_where": "dans le noyau du notebook",
        "steps": [("analyser le JSON", "avec un schéma"),
                  ("valider", "ou rejeter, avec un motif"),
                  ("devise → EUR", "table des taux, centimes"),
                  ("ajouter le fuseau", "Europe/Paris")],
        "minio": "MinIO (S3)",
        "bucket": "compartiment",
        "output": ["lignes valides,", "en Parquet,", "par event_date"],
        "rejected": ["message + motif"],
        "checkpoint": ["l’avancement", "des requêtes"],
        "send": "envoi",
        "read": "lecture",
        "write": "écriture",
        "message": "Un message du topic : une clé et une valeur (JSON en UTF-8)",
        "key": "clé",
        "value": "valeur",
    },
}


def draw_architecture(lang: str) -> Canvas:
    t = labels(ARCHITECTURE, lang)
    c = canvas("architecture", lang, 1000, 494, t)
    c.heading(t["heading"])
    top, h = 58, 316
    px, pw = 20, 170      # producer
    kx, kw = 254, 186     # Kafka
    sx, sw = 504, 222     # Spark
    mx, mw = 790, 190     # MinIO
    mid = 150             # the y of the main flow's arrows

    # Producer
    ink = PALETTE["producer"][2]
    c.box(px, top, pw, h, "producer", t["producer"])
    y = c.lines(px + 12, top + 50, t["producer_where"], size=14, room=pw - 24)
    y = c.lines(px + 12, y + 8, t["producer_what"], size=13, color=MUTED, room=pw - 24)
    c.text(px + 12, y + 8, "acks=all", size=13, mono=True, bold=True, color=ink)
    c.lines(px + 12, y + 26, t["producer_acks"], size=13, color=MUTED, room=pw - 24)

    # Kafka: the topic's three partitions, drawn as short logs
    stroke, _, ink = PALETTE["kafka"]
    c.box(kx, top, kw, h, "kafka", "Apache Kafka")
    c.runs(kx + 12, top + 50, [(t["kafka_topic"], {}), ("transactions", {"mono": True, "bold": True})],
           size=14, room=kw - 24)
    for i in range(3):
        ry = top + 66 + i * 30
        c.text(kx + 12, ry + 15, f"P{i}", size=13, bold=True, color=ink)
        cells = (6, 4, 5)[i]
        for j in range(cells):
            c.rect(kx + 40 + j * 18, ry, 16, 20, fill=WHITE, stroke=stroke, sw=1.2, rx=2)
        c.arrow([(kx + 40 + cells * 18 + 4, ry + 10), (kx + 40 + cells * 18 + 24, ry + 10)], color=stroke,
                sw=1.5, head=7)
    c.text(kx + 12, top + 174, t["kafka_partitions"], size=14, bold=True, color=ink)
    c.lines(kx + 12, top + 196, t["kafka_note"], size=13, color=MUTED, room=kw - 24)
    c.text(kx + 12, top + h - 36, t["kafka_broker"], size=13, color=MUTED, room=kw - 24)
    c.text(kx + 12, top + h - 14, "127.0.0.1:9092", size=13, mono=True, color=ink)

    # Spark: the four transformations
    stroke, _, ink = PALETTE["spark"]
    c.box(sx, top, sw, h, "spark")
    c.lines(sx + 12, top + 25, t["spark_title"], size=16, bold=True, color=ink, leading=19, room=sw - 24)
    c.text(sx + 12, top + 66, t["spark_where"], size=13, italic=True, color=MUTED, room=sw - 24)
    for i, (main, detail) in enumerate(t["steps"]):
        y = top + 92 + i * 44
        c.badge(sx + 22, y + 5, str(i + 1), "spark")
        c.text(sx + 40, y + 10, main, size=14, bold=True, room=sw - 52)
        c.text(sx + 40, y + 27, detail, size=13, color=MUTED, room=sw - 52)
    c.text(sx + 12, top + h - 14, "UI 127.0.0.1:4040", size=13, mono=True, color=ink)

    # MinIO: the bucket and its three folders
    stroke, _, ink = PALETTE["minio"]
    c.box(mx, top, mw, h, "minio", t["minio"])
    c.text(mx + 12, top + 50, t["bucket"], size=14, room=mw - 24)
    c.text(mx + 12, top + 68, "transactions", size=14, mono=True, bold=True, color=ink)
    folders, fy = [], top + 100
    for name, notes in (("output/", t["output"]), ("rejected/", t["rejected"]), ("checkpoint/", t["checkpoint"])):
        c.folder(mx + 12, fy - 12, stroke)
        c.text(mx + 36, fy, name, size=14, mono=True, bold=True, color=ink)
        folders.append(fy)
        fy = c.lines(mx + 36, fy + 18, notes, size=13, color=MUTED, room=mw - 48) + 14
    c.text(mx + 12, top + h - 14, "127.0.0.1:9000", size=13, mono=True, color=ink)

    # The flow between them
    for x1, x2, word in ((px + pw, kx, t["send"]), (kx + kw, sx, t["read"])):
        c.arrow([(x1 + 4, mid), (x2 - 4, mid)], color=INK, sw=2.5)
        c.text((x1 + x2) / 2, mid - 10, word, size=13, color=MUTED, anchor="middle", room=x2 - x1 - 2)
    c.text((sx + sw + mx) / 2, top + 84, t["write"], size=13, color=MUTED, anchor="middle", room=mx - sx - sw - 2)
    for fy in folders[:2]:
        c.arrow([(sx + sw + 4, fy - 5), (mx - 4, fy - 5)], color=INK, sw=2.5)
    c.arrow([(sx + sw + 4, folders[2] - 5), (mx - 4, folders[2] - 5)], color=MUTED, sw=2, dash="5 4", both=True)

    # One message, as the producer sends it
    my = top + h + 18
    c.rect(20, my, 960, 84, fill=PALETTE["neutral"][1], stroke=PALETTE["neutral"][0], sw=1.2, rx=8)
    c.path(f"M{px + pw + 26} {mid + 6}L{px + pw + 26} {my}", stroke=MUTED, sw=1.2, dash="2 4")
    c.text(40, my + 24, t["message"], size=14, bold=True, room=900)
    value = '{"transaction_id": 123, "montant": 100.0, "devise": "USD", "timestamp": "2026-11-27T22:40:31Z"}'
    c.text(40, my + 48, t["key"], size=13, color=MUTED)
    c.text(110, my + 48, '"123"', size=13, mono=True)
    c.text(40, my + 68, t["value"], size=13, color=MUTED)
    c.text(110, my + 68, value, size=13, mono=True, room=840)
    return c


# ===========================================================================================
# partitions_offsets: a topic's partitions as logs, keys, and two consumer groups with their lag
# ===========================================================================================

PARTITIONS_OFFSETS = {
    "en": {
        "title": "Kafka partitions, offsets, and two consumer groups",
        "desc": "The topic transactions has three partitions, each an append-only log whose messages are "
                "numbered by offset. The producer hashes the message key to choose the partition and appends "
                "at the end. Group A has three consumers, one per partition; group B has one consumer reading "
                "all three. Each group has its own committed offset per partition; lag is the end offset minus "
                "the committed offset, for example 12 - 5 = 7 for group B on partition 2.",
        "heading": "Partitions, offsets and consumer groups",
        "producer": "Producer",
        "same_key": "same key → same partition: order is kept per key",
        "topic": "topic ",
        "offsets": "offsets 0, 1, 2… in each partition",
        "partition": "partition {}",
        "lag": "lag of B1 on P2 = 12 − 5 = 7",
        "group_a": "group A",
        "group_a_text": ["3 consumers,", "one partition each"],
        "group_b": "group B",
        "group_b_text": ["1 consumer reads", "all 3 partitions"],
        "marker_text": ["points at the group’s", "committed offset: the", "next message it reads"],
        "end_text": ["end offset: where the", "next message goes"],
        "lag_text": ["lag = end offset", "− committed offset"],
        "reading": ["Reading deletes nothing:", "each group keeps", "its own position."],
    },
    "fr": {
        "title": "Partitions Kafka, décalages (offsets) et deux groupes de consommateurs",
        "desc": "Le topic transactions a trois partitions : chacune est un journal en ajout seul dont les "
                "messages sont numérotés par leur décalage (offset). Le producteur hache la clé du message pour "
                "choisir la partition et ajoute le message à la fin. Le groupe A a trois consommateurs, un par "
                "partition ; le groupe B a un seul consommateur qui lit les trois. Chaque groupe a son propre "
                "décalage validé par partition ; le retard (lag) est le décalage de fin moins le décalage "
                "validé, par exemple 12 - 5 = 7 pour le groupe B sur la partition 2.",
        "heading": "Partitions, décalages (offsets) et groupes de consommateurs",
        "producer": "Producteur",
        "same_key": "même clé → même partition : l’ordre est garanti par clé",
        "topic": "topic ",
        "offsets": "décalages 0, 1, 2… dans chaque partition",
        "partition": "partition {}",
        "lag": "retard de B1 sur P2 = 12 − 5 = 7",
        "group_a": "groupe A",
        "group_a_text": ["3 consommateurs,", "une partition chacun"],
        "group_b": "groupe B",
        "group_b_text": ["1 consommateur lit", "les 3 partitions"],
        "marker_text": ["montre le décalage", "validé du groupe : le", "prochain message à lire"],
        "end_text": ["décalage de fin : la place", "du prochain message"],
        "lag_text": ["retard (lag) = décalage", "de fin − décalage validé"],
        "reading": ["Lire n’efface rien :", "chaque groupe garde", "sa propre position."],
    },
}
GROUP_A = "#3B4CCA"
GROUP_B = "#B83280"


def _marker(c, x, y, color, label, down):
    """A consumer's position: a triangle pointing at the cell it reads next, its name beside it."""
    if down:   # above the log, pointing down
        c.polygon([(x - 7, y - 13), (x + 7, y - 13), (x, y)], fill=color)
        c.text(x + 10, y - 2, label, size=13, bold=True, color=color)
    else:      # below the log, pointing up
        c.polygon([(x - 7, y + 13), (x + 7, y + 13), (x, y)], fill=color)
        c.text(x + 10, y + 13, label, size=13, bold=True, color=color)


def draw_partitions_offsets(lang: str) -> Canvas:
    t = labels(PARTITIONS_OFFSETS, lang)
    c = canvas("partitions_offsets", lang, 960, 532, t)
    c.heading(t["heading"])
    kstroke, _, kink = PALETTE["kafka"]
    x0, cw, ch = 150, 40, 34
    rows = [238, 328, 418]
    ends = [11, 8, 12]          # end offsets after the producer's append (P0 gets offset 10)
    group_a = [8, 8, 10]        # committed offsets: the next message each group reads
    group_b = [3, 5, 5]

    def cx(k):                  # centre of the cell of offset k
        return x0 + k * cw + cw / 2

    # The topic: three logs of numbered offsets, the end offset dashed
    c.box(20, 168, 690, 352, "kafka")
    c.runs(36, 194, [(t["topic"], {"bold": True, "color": kink}),
                     ("transactions", {"mono": True, "bold": True, "color": kink})], size=15)
    c.text(226, 194, t["offsets"], size=13, color=MUTED)
    for p, y in enumerate(rows):
        c.text(36, y + 22, t["partition"].format(p), size=14, bold=True, color=kink, room=x0 - 44)
        for k in range(ends[p] + 1):
            x = x0 + k * cw
            new = p == 0 and k == 10
            if k == ends[p]:
                c.rect(x + 2, y, cw - 4, ch, fill=WHITE, stroke=kstroke, sw=1.3, rx=3, dash="4 3")
                c.text(cx(k), y + 22, str(k), size=13, mono=True, color=LINE, anchor="middle")
            else:
                c.rect(x + 2, y, cw - 4, ch, fill=PALETTE["producer"][1] if new else WHITE,
                       stroke=PALETTE["producer"][0] if new else kstroke, sw=2 if new else 1.3, rx=3)
                c.text(cx(k), y + 22, str(k), size=13, mono=True, anchor="middle")
        _marker(c, cx(group_a[p]), y - 3, GROUP_A, f"A{p + 1}", down=True)
        _marker(c, cx(group_b[p]), y + ch + 3, GROUP_B, "B1", down=False)

    # Lag: what group B has not read yet on partition 2
    y = rows[2] + ch + 22
    l, r = x0 + group_b[2] * cw + 2, x0 + ends[2] * cw - 2
    c.path(f"M{l} {y}L{l} {y + 6}L{r} {y + 6}L{r} {y}", stroke=GROUP_B, sw=1.8)
    c.text((l + r) / 2, y + 24, t["lag"], size=14, bold=True, color=GROUP_B, anchor="middle")

    # The producer appends at the end of the partition its key hashes to
    pstroke, _, pink = PALETTE["producer"]
    c.box(470, 52, 470, 100, "producer", t["producer"])
    c.text(482, 100, 'send(key="102", value=…)', size=14, mono=True)
    c.text(482, 122, 'hash("102") mod 3 = 0 → P0', size=14, mono=True, color=pink)
    c.text(482, 142, t["same_key"], size=13, color=MUTED, room=446)
    c.arrow([(cx(10), 152), (cx(10), rows[0] - 2)], color=pstroke, sw=2.5)

    # Legend, beside the logs
    lx, room = 736, 940 - 760
    _marker(c, lx + 8, 200, GROUP_A, "", down=True)
    c.text(lx + 24, 198, t["group_a"], size=14, bold=True, color=GROUP_A)
    y = c.lines(lx + 24, 216, t["group_a_text"], size=13, color=MUTED, room=room) + 12
    c.polygon([(lx + 1, y + 1), (lx + 15, y + 1), (lx + 8, y - 12)], fill=GROUP_B)
    c.text(lx + 24, y, t["group_b"], size=14, bold=True, color=GROUP_B)
    y = c.lines(lx + 24, y + 18, t["group_b_text"], size=13, color=MUTED, room=room) + 12
    c.polygon([(lx + 1, y - 11), (lx + 15, y - 11), (lx + 8, y + 1)], fill=INK)
    y = c.lines(lx + 24, y, t["marker_text"], size=13, color=MUTED, room=room) + 12
    c.rect(lx, y - 12, 16, 16, fill=WHITE, stroke=kstroke, sw=1.3, rx=2, dash="4 3")
    y = c.lines(lx + 24, y, t["end_text"], size=13, color=MUTED, room=room) + 12
    y = c.lines(lx, y, t["lag_text"], size=13, bold=True, color=GROUP_B, room=room + 24) + 12
    c.lines(lx, y, t["reading"], size=13, color=INK, room=room + 24)
    return c


# ===========================================================================================
# micro_batches: the triggers, and one micro-batch's four writes, with what a crash means
# ===========================================================================================

MICRO_BATCHES = {
    "en": {
        "title": "A micro-batch step by step: the checkpoint and the _spark_metadata commit",
        "desc": "A trigger every 2 seconds starts a micro-batch. Batch N: 1) Spark writes offsets/N in the "
                "checkpoint, the plan of which Kafka offsets it will read; 2) it reads exactly that range from "
                "Kafka, processes it and writes Parquet part files into output/; 3) it commits "
                "output/_spark_metadata/N, the list of the batch's files; 4) it writes commits/N in the "
                "checkpoint. A crash before step 3 replays batch N with the same offsets, and the files already "
                "written are not listed in _spark_metadata, so readers ignore them. A crash between 3 and 4 "
                "replays batch N but the sink sees it committed and writes nothing twice.",
        "heading": "A micro-batch, step by step",
        "time": "processing time",
        "trigger": "a trigger every 2 s",
        "batch": "batch {}",
        "detail": "batch N in detail",
        "spark": "Spark, batch N",
        "spark_sub": "driver + tasks",
        "ckpt_sub": "Spark’s checkpoint",
        "out_sub": "data files + commit log",
        "s1": "write offsets/N",
        "s1_sub": "the plan: P0 120→180, …",
        "s2a": "read that range",
        "process": ["process: parse, validate,", "→ EUR, time zone"],
        "s2b": "write part-*.parquet",
        "s2b_sub": "new files in output/",
        "s3": "write _spark_metadata/N",
        "s3_sub": "lists the batch’s files",
        "s4": "write commits/N",
        "s4_sub": "batch N is done",
        "crash_a": "Crash before 3",
        "crash_a_text": ["offsets/N is there, commits/N", "is not: on restart Spark runs", "batch N again, same offsets.",
                         "Files already written are not in", "_spark_metadata: readers skip them."],
        "crash_b": "Crash between 3 and 4",
        "crash_b_text": ["_spark_metadata/N is there: the", "replayed batch N writes no file", "(the sink sees it committed),",
                         "then Spark writes commits/N."],
        "so": "So",
        "so_text": ["nothing is lost: Kafka keeps the", "messages, the plan names them;", "nothing counts twice: readers",
                    "trust _spark_metadata, not", "a folder listing."],
    },
    "fr": {
        "title": "Un micro-lot pas à pas : le point de contrôle (checkpoint) et la validation dans _spark_metadata",
        "desc": "Un déclenchement toutes les 2 secondes lance un micro-lot. Lot N : 1) Spark écrit offsets/N "
                "dans le point de contrôle (checkpoint), le plan des décalages Kafka qu’il va lire ; 2) il lit "
                "exactement cette plage dans Kafka, la traite et écrit des fichiers Parquet part-* dans output/ ; "
                "3) il valide output/_spark_metadata/N, la liste des fichiers du lot ; 4) il écrit commits/N dans "
                "le point de contrôle. Un arrêt brutal avant l’étape 3 fait rejouer le lot N avec les mêmes "
                "décalages, et les fichiers déjà écrits ne sont pas listés dans _spark_metadata : les lecteurs "
                "les ignorent. Un arrêt entre 3 et 4 fait rejouer le lot N, mais le puits le voit déjà validé "
                "et n’écrit rien deux fois.",
        "heading": "Un micro-lot, pas à pas",
        "time": "temps de traitement",
        "trigger": "un déclenchement toutes les 2 s",
        "batch": "lot {}",
        "detail": "le lot N en détail",
        "spark": "Spark, lot N",
        "spark_sub": "driver + tâches",
        "ckpt_sub": "point de contrôle",
        "out_sub": "données + journal",
        "s1": "écrire offsets/N",
        "s1_sub": "le plan : P0 120→180, …",
        "s2a": "lire cette plage",
        "process": ["traiter : analyser, valider,", "→ EUR, fuseau horaire"],
        "s2b": "écrire part-*.parquet",
        "s2b_sub": "nouveaux fichiers",
        "s3": "écrire _spark_metadata/N",
        "s3_sub": "liste les fichiers du lot",
        "s4": "écrire commits/N",
        "s4_sub": "le lot N est terminé",
        "crash_a": "Arrêt brutal avant 3",
        "crash_a_text": ["offsets/N existe, commits/N non :", "au redémarrage, Spark rejoue le",
                         "lot N avec les mêmes décalages.", "Les fichiers déjà écrits, absents",
                         "de _spark_metadata, sont ignorés."],
        "crash_b": "Arrêt brutal entre 3 et 4",
        "crash_b_text": ["_spark_metadata/N existe : le lot N", "rejoué n’écrit aucun fichier (le",
                         "puits (sink) le sait déjà validé),", "puis Spark écrit commits/N."],
        "so": "Donc",
        "so_text": ["rien n’est perdu : Kafka garde les", "messages, le plan les désigne ;",
                    "rien n’est compté deux fois : on", "lit _spark_metadata, pas la liste",
                    "des fichiers du dossier."],
    },
}


def draw_micro_batches(lang: str) -> Canvas:
    t = labels(MICRO_BATCHES, lang)
    c = canvas("micro_batches", lang, 960, 690, t)
    c.heading(t["heading"])
    sstroke, sfill, sink = PALETTE["spark"]
    mstroke, _, mink = PALETTE["minio"]

    # 1. The timeline: a trigger every 2 s, each batch a bar; batch N split into its four steps
    def tx(sec):
        return 50 + sec * 100

    axis = 116
    c.line(tx(0), axis, tx(8.4), axis, color=INK, sw=1.5)
    c.arrow([(tx(8.4), axis), (tx(8.6), axis)], color=INK, sw=1.5, head=8)
    for sec in range(0, 9, 2):
        c.line(tx(sec), axis - 4, tx(sec), axis + 4, color=INK, sw=1.5)
        c.text(tx(sec), axis + 20, f"{sec} s", size=13, anchor="middle", color=MUTED)
        c.polygon([(tx(sec) - 5, axis - 46), (tx(sec) + 5, axis - 46), (tx(sec), axis - 38)], fill=INK)
    c.text(tx(8.6), axis - 10, t["time"], size=13, anchor="end", color=MUTED)
    c.text(tx(0) - 6, axis - 54, t["trigger"], size=13, color=INK)
    durations = {"N−1": 1.2, "N": 1.3, "N+1": 1.1, "N+2": 1.0}
    steps = [0.2, 0.75, 0.15, 0.2]
    for i, (name, d) in enumerate(durations.items()):
        x = tx(2 * i)
        if name == "N":
            for k, part in enumerate(steps):
                w = part * 100
                c.rect(x, axis - 30, w, 24, fill=(sstroke, sfill, sstroke, sfill)[k], stroke=sstroke, sw=1.2, rx=0)
                c.text(x + w / 2, axis - 13, str(k + 1), size=12, bold=True, anchor="middle",
                       color=(WHITE, sink, WHITE, sink)[k])
                x += w
        else:
            c.rect(x, axis - 30, d * 100, 24, fill=sfill, stroke=sstroke, sw=1.2, rx=3)
            c.text(x + d * 100 / 2, axis - 13, t["batch"].format(name), size=12, anchor="middle", color=sink)
    c.text(tx(2 + 1.3 / 2), axis + 20, t["batch"].format("N"), size=13, bold=True, anchor="middle", color=sink)

    # 2. Batch N as a sequence: who writes what, in which order
    c.rect(20, 150, 920, 384, fill="#FBFBFC", stroke=sstroke, sw=1.5, rx=10, dash="6 4")
    c.text(36, 172, t["detail"], size=14, bold=True, color=sink)
    lanes = {"kafka": 110, "spark": 330, "ckpt": 575, "out": 805}
    head_y, end_y = 184, 520
    c.box(lanes["kafka"] - 80, head_y, 160, 50, "kafka")
    c.text(lanes["kafka"], head_y + 21, "Kafka", size=15, bold=True, anchor="middle", color=PALETTE["kafka"][2])
    c.text(lanes["kafka"], head_y + 40, "transactions", size=13, mono=True, anchor="middle")
    c.box(lanes["spark"] - 90, head_y, 180, 50, "spark")
    c.text(lanes["spark"], head_y + 21, t["spark"], size=15, bold=True, anchor="middle", color=sink)
    c.text(lanes["spark"], head_y + 40, t["spark_sub"], size=13, anchor="middle", color=MUTED)
    c.box(lanes["ckpt"] - 95, head_y, 190, 50, "minio")
    c.text(lanes["ckpt"], head_y + 21, "checkpoint/output/", size=14, bold=True, mono=True, anchor="middle", color=mink)
    c.text(lanes["ckpt"], head_y + 40, t["ckpt_sub"], size=13, anchor="middle", color=MUTED)
    c.box(lanes["out"] - 110, head_y, 220, 50, "minio")
    c.text(lanes["out"], head_y + 21, "output/", size=14, bold=True, mono=True, anchor="middle", color=mink)
    c.text(lanes["out"], head_y + 40, t["out_sub"], size=13, anchor="middle", color=MUTED)
    for x in lanes.values():
        c.line(x, head_y + 50, x, end_y, color="#A0AEC0", sw=1.5, dash="5 5")

    sx = lanes["spark"]

    def step(y, label, to, above, below=None, mono_below=False):
        """A numbered write from Spark's lane to another lane, with its words above and below."""
        c.badge(sx, y, label, "spark", r=12, size=13)
        x2 = lanes[to]
        c.arrow([(sx + 14, y), (x2 - 3, y)], color=mstroke, sw=2.2)
        lo = sx + 16 if to == "ckpt" else lanes["ckpt"] + 10
        c.text(lo, y - 8, above, size=14, bold=True, room=x2 - lo - 6)
        if below:
            c.text(lo, y + 19, below, size=13, color=MUTED, mono=mono_below, room=x2 - lo - 6)

    step(268, "1", "ckpt", t["s1"], t["s1_sub"])
    # 2: read the planned range, process, write the files
    y = 320
    c.badge(sx, y, "2", "spark", r=12, size=13)
    c.arrow([(lanes["kafka"] + 3, y), (sx - 14, y)], color=PALETTE["kafka"][0], sw=2.2)
    c.text(lanes["kafka"] + 12, y - 8, t["s2a"], size=14, bold=True, room=sx - lanes["kafka"] - 30)
    c.text(lanes["kafka"] + 12, y + 19, "P0 [120, 180) …", size=13, mono=True, color=MUTED)
    c.rect(sx - 6, y + 14, 12, 34, fill=sstroke, stroke=sstroke, rx=2)
    c.lines(sx + 14, y + 30, t["process"], size=13, color=sink, room=lanes["ckpt"] - sx - 20)
    y = 384
    c.arrow([(sx + 8, y), (lanes["out"] - 3, y)], color=mstroke, sw=2.2)
    c.text(lanes["ckpt"] + 10, y - 8, t["s2b"], size=14, bold=True, room=lanes["out"] - lanes["ckpt"] - 16)
    c.text(lanes["ckpt"] + 10, y + 19, t["s2b_sub"], size=13, color=MUTED, room=lanes["out"] - lanes["ckpt"] - 16)
    step(440, "3", "out", t["s3"], t["s3_sub"])
    step(496, "4", "ckpt", t["s4"], t["s4_sub"])
    # Where a crash may strike: the bolts match the notes below
    for y, tag in ((412, "a"), (468, "b")):
        c.bolt(sx - 44, y - 11, 22)
        c.text(sx - 16, y + 5, tag, size=15, bold=True, color=BAD)

    # 3. What a crash at a or b means, and the conclusion
    y0 = 552
    notes = [("a", t["crash_a"], t["crash_a_text"]), ("b", t["crash_b"], t["crash_b_text"]),
             ("", t["so"], t["so_text"])]
    for i, (tag, title, text) in enumerate(notes):
        x = 20 + i * 310
        c.rect(x, y0, 300, 124, fill=WHITE if tag else PALETTE["neutral"][1],
               stroke=BAD if tag else PALETTE["neutral"][0], sw=1.5, rx=8)
        if tag:
            c.bolt(x + 10, y0 + 8, 20)
            c.text(x + 36, y0 + 24, f"{tag} · {title}", size=14, bold=True, color=BAD, room=254)
        else:
            c.text(x + 12, y0 + 24, title, size=14, bold=True, room=276)
        c.lines(x + 12, y0 + 46, text, size=13, leading=16, room=276)
    return c


# ===========================================================================================
# watermark: event time vs processing time, 1-minute windows, the watermark and late events
# ===========================================================================================

WATERMARK = {
    "en": {
        "title": "Event time, 1-minute windows and a 10-minute watermark",
        "desc": "Top: each transaction has an event time (in the message) and a processing time (when Spark "
                "reads it); one from a phone that was offline arrives 8 minutes late. Bottom: the transactions "
                "are counted in tumbling 1-minute windows of event time. The newest event time seen is 12:11:40, "
                "so the watermark is 12:11:40 - 10 min = 12:01:40. Windows that end before the watermark are "
                "final: written once in append mode, and their state is dropped. A late event at 12:03:10 is "
                "still counted, its window is open; a late event at 12:00:30 is dropped, its window is final.",
        "heading": "Event time, windows and the watermark",
        "a": "Event time is not arrival time",
        "event": "event time",
        "event_sub": "in the message",
        "proc": "processing time",
        "proc_sub": "when Spark reads it",
        "offline": "8 min late (a phone was offline)",
        "b": "Counting per minute of event time, with a 10-minute watermark",
        "windows": "1-minute windows",
        "windows_sub": "(tumbling)",
        "max": "newest event seen: 12:11:40",
        "wm": "watermark = 12:11:40 − 10 min = 12:01:40",
        "delay": "10 min",
        "counted": "late, 12:03:10: counted",
        "dropped": "late, 12:00:30: dropped",
        "final": ["final: its end is behind the watermark; written once (append mode), state dropped"],
        "open": ["open: kept in the state, its count can still change"],
        "moves": ["The watermark only moves forward: Spark updates it after each micro-batch."],
    },
    "fr": {
        "title": "Temps de l’événement, fenêtres de 1 minute et filigrane (watermark) de 10 minutes",
        "desc": "En haut : chaque transaction a un temps de l’événement (dans le message) et un temps de "
                "traitement (quand Spark la lit) ; celle d’un téléphone resté hors ligne arrive avec 8 minutes de "
                "retard. En bas : les transactions sont comptées par fenêtres fixes de 1 minute du temps de "
                "l’événement. Le plus récent événement vu date de 12:11:40, donc le filigrane (watermark) vaut "
                "12:11:40 - 10 min = 12:01:40. Les fenêtres qui finissent avant le filigrane sont closes : écrites "
                "une seule fois en mode append, leur état est supprimé. Un événement en retard daté 12:03:10 est "
                "encore compté, sa fenêtre est ouverte ; un autre daté 12:00:30 est écarté, sa fenêtre est close.",
        "heading": "Temps de l’événement, fenêtres et filigrane",
        "a": "Le temps de l’événement n’est pas l’heure d’arrivée",
        "event": "temps de l’événement",
        "event_sub": "dans le message",
        "proc": "temps de traitement",
        "proc_sub": "quand Spark le lit",
        "offline": "8 min de retard (téléphone hors ligne)",
        "b": "Compter par minute du temps de l’événement, avec un filigrane de 10 minutes",
        "windows": "fenêtres de 1 min",
        "windows_sub": "(fixes, « tumbling »)",
        "max": "événement le plus récent : 12:11:40",
        "wm": "filigrane = 12:11:40 − 10 min = 12:01:40",
        "delay": "10 min",
        "counted": "en retard, 12:03:10 : compté",
        "dropped": "en retard, 12:00:30 : écarté",
        "final": ["close : sa fin est derrière le filigrane ; écrite une fois (mode append), état supprimé"],
        "open": ["ouverte : gardée dans l’état, son total peut encore changer"],
        "moves": ["Le filigrane ne fait qu’avancer : Spark le met à jour après chaque micro-lot."],
    },
}


def draw_watermark(lang: str) -> Canvas:
    t = labels(WATERMARK, lang)
    c = canvas("watermark", lang, 960, 584, t)
    c.heading(t["heading"])
    sstroke, sfill, sink = PALETTE["spark"]
    MW = 48                     # a minute's width

    def x(minutes):             # minutes after 11:58 on the event-time axis
        return 222 + minutes * MW

    def clock(minutes):
        m = 11 * 60 + 58 + minutes
        return f"{int(m // 60)}:{int(m % 60):02d}"

    # 1. Each event's time in the message, and when Spark reads it
    c.text(24, 66, "1 · " + t["a"], size=15, bold=True)
    ey, py = 116, 190
    for y, name, sub in ((ey, t["event"], t["event_sub"]), (py, t["proc"], t["proc_sub"])):
        c.line(x(0), y, x(14), y, color=INK, sw=1.5)
        c.text(24, y - 2, name, size=14, bold=True, room=180)
        c.text(24, y + 15, sub, size=13, color=MUTED, room=180)
    for m in range(0, 15, 2):
        c.line(x(m), ey - 4, x(m), ey + 4, color=INK)
        c.text(x(m), ey - 10, clock(m), size=12, anchor="middle", color=MUTED)
    for m in range(0, 15, 2):
        c.line(x(m), py - 4, x(m), py + 4, color=INK)
    events = [(0.6, 0.9), (1.5, 1.8), (2.3, 2.5), (3.4, 3.7), (4.6, 4.8), (6.2, 6.5), (7.4, 7.6), (8.3, 8.6),
              (9.5, 9.8), (10.6, 10.8), (11.8, 12.1), (12.9, 13.1), (13.6, 13.85)]
    for e, p in events:
        c.line(x(e), ey + 4, x(p), py - 4, color="#A0AEC0", sw=1.2)
        c.circle(x(e), ey, 4, fill=INK, stroke=INK)
        c.circle(x(p), py, 4, fill=INK, stroke=INK)
    late = (5.17, 13.3)
    c.arrow([(x(late[0]), ey + 5), (x(late[1]), py - 5)], color=BAD, sw=2, head=9)
    c.circle(x(late[0]), ey, 5, fill=BAD, stroke=BAD)
    c.circle(x(late[1]), py, 5, fill=BAD, stroke=BAD)
    c.text(x(late[1]) + 8, py + 20, t["offline"], size=13, bold=True, color=BAD, anchor="end")

    # 2. Windows of event time, the newest event seen, the watermark, and two late events
    c.text(24, 252, "2 · " + t["b"], size=15, bold=True)
    top, h = 402, 48
    newest, wm = 13 + 40 / 60, 3 + 40 / 60
    counts = [6, 8, 7, 9, 5, 8, 7, 6, 9, 8, 7, 6, 8, 3]
    for m, n in enumerate(counts):
        final = m + 1 <= wm
        if final:
            c.rect(x(m) + 2, top, MW - 4, h, fill="#E2E8F0", stroke=LINE, sw=1.2, rx=3)
            c.check_mark(x(m) + MW / 2 - 6, top + 6, 12)
        else:
            c.rect(x(m) + 2, top, MW - 4, h, fill=sfill, stroke=sstroke, sw=1.5, rx=3, dash="4 3")
        c.text(x(m) + MW / 2, top + 38, str(n), size=14, bold=True, anchor="middle", color=INK if final else sink)
    for m in range(15):
        c.text(x(m), top + h + 18, clock(m), size=12, anchor="middle", color=MUTED)
    c.text(24, top + 22, t["windows"], size=14, bold=True, room=180)
    c.text(24, top + 40, t["windows_sub"], size=13, color=MUTED, room=180)

    c.line(x(newest), 296, x(newest), top + h + 4, color=INK, sw=2)
    c.text(x(newest) + 6, 290, t["max"], size=13, bold=True, anchor="end")
    c.line(x(wm), 296, x(wm), top + h + 4, color=sstroke, sw=3, dash="7 4")
    c.text(x(wm) - 6, 290, t["wm"], size=13, bold=True, color=sink, anchor="end")
    c.arrow([(x(wm) + 4, 322), (x(newest) - 4, 322)], color=MUTED, sw=1.5, head=8, both=True)
    c.text((x(wm) + x(newest)) / 2, 316, t["delay"], size=13, anchor="middle", color=MUTED)

    for when, word, color, ok in ((5 + 10 / 60, t["counted"], OK, True), (2.5, t["dropped"], BAD, False)):
        c.circle(x(when), 356, 5, fill=color, stroke=color)
        if ok:
            c.arrow([(x(when), 362), (x(when), top - 2)], color=color, sw=2, head=8)
            c.text(x(when) + 10, 361, word, size=13, bold=True, color=color)
        else:           # stopped before its window, which is already final
            c.line(x(when), 362, x(when), top - 22, color=color, sw=2)
            c.cross_mark(x(when) - 7, top - 20, 14)
            c.text(x(when) - 10, 361, word, size=13, bold=True, color=color, anchor="end")

    # Legend: final and open windows
    y = top + h + 50
    c.rect(24, y - 14, 34, 20, fill="#E2E8F0", stroke=LINE, sw=1.2, rx=3)
    c.check_mark(35, y - 11, 11)
    c.lines(68, y + 1, t["final"], size=13, room=860)
    c.rect(24, y + 16, 34, 20, fill=sfill, stroke=sstroke, sw=1.5, rx=3, dash="4 3")
    c.lines(68, y + 31, t["open"], size=13, room=860)
    c.lines(24, y + 62, t["moves"], size=13, color=MUTED, room=900)
    return c


# ===========================================================================================
# bucket_layout: the tree of s3://transactions/
# ===========================================================================================

BUCKET_LAYOUT = {
    "en": {
        "title": "What the lab writes in the bucket s3://transactions/",
        "desc": "The bucket transactions on MinIO holds output/ (valid rows as Parquet, one folder per "
                "event_date, and the _spark_metadata commit log), rejected/ (bad messages with their reason), "
                "checkpoint/ (one folder per query with offsets/, commits/, sources/ and metadata, plus the "
                "lab's lock and topic files), lake/ (Delta tables bronze, silver and gold, each with its "
                "_delta_log) and models/fraud/<version>/ (the scoring model).",
        "heading": "The bucket, folder by folder",
        "root": "the lab’s bucket on MinIO, 127.0.0.1:9000",
        "output": "valid rows, Parquet (Spark’s file sink)",
        "event_date": "one folder per local date (partitionBy)",
        "part": "files of one batch for that date",
        "metadata_log": "the sink’s commit log: 0, 1, … 9.compact, 10…",
        "rejected": "bad messages + reason (not partitioned)",
        "checkpoint": "one folder per query, never shared",
        "ckpt_output": "the output query’s checkpoint",
        "offsets": "0, 1, … N: each batch’s plan",
        "commits": "0, 1, … N: the batches done",
        "sources": "where the query started in Kafka",
        "metadata": "the query’s id",
        "guards": "the lab’s guards: one query, same topic",
        "ckpt_rejected": "the same, for the rejected query",
        "lake": "Delta tables (stream --sink delta)",
        "bronze": "every Kafka record as received",
        "delta_log": "the table’s log: a reader follows it",
        "v0": "version 0: the files it adds",
        "v1": "version 1: one file per commit",
        "v10": "the whole state at version 10",
        "silver": "the columns of output/",
        "silver_rejected": "the columns of rejected/",
        "gold": "aggregates, kept current by the stream",
        "models": "the fraud model, one folder per version",
    },
    "fr": {
        "title": "Ce que le TP écrit dans le compartiment s3://transactions/",
        "desc": "Le compartiment (bucket) transactions sur MinIO contient output/ (les lignes valides en "
                "Parquet, un dossier par event_date, et le journal de validation _spark_metadata), rejected/ "
                "(les messages rejetés avec leur motif), checkpoint/ (un dossier par requête avec offsets/, "
                "commits/, sources/ et metadata, plus les fichiers de verrou et de topic du TP), lake/ (les "
                "tables Delta bronze, silver et gold, chacune avec son _delta_log) et models/fraud/<version>/ "
                "(le modèle de score).",
        "heading": "Le compartiment (bucket), dossier par dossier",
        "root": "le compartiment du TP sur MinIO, 127.0.0.1:9000",
        "output": "lignes valides, Parquet (puits de fichiers)",
        "event_date": "un dossier par date locale (partitionBy)",
        "part": "les fichiers d’un lot pour cette date",
        "metadata_log": "journal de validation : 0, 1, … 9.compact, 10…",
        "rejected": "messages rejetés + motif (non partitionné)",
        "checkpoint": "un dossier par requête, jamais partagé",
        "ckpt_output": "point de contrôle de la requête output",
        "offsets": "0, 1, … N : le plan de chaque lot",
        "commits": "0, 1, … N : les lots terminés",
        "sources": "d’où la requête est partie dans Kafka",
        "metadata": "l’identifiant de la requête",
        "guards": "garde-fous du TP : une seule requête, le même topic",
        "ckpt_rejected": "idem, pour la requête rejected",
        "lake": "tables Delta (stream --sink delta)",
        "bronze": "chaque message Kafka tel que reçu",
        "delta_log": "journal de la table : le lecteur le suit",
        "v0": "version 0 : les fichiers ajoutés",
        "v1": "version 1 : un fichier par validation",
        "v10": "l’état complet à la version 10",
        "silver": "les colonnes de output/",
        "silver_rejected": "les colonnes de rejected/",
        "gold": "agrégats, tenus à jour par le flux",
        "models": "le modèle de fraude, un dossier par version",
    },
}
MEDALS = {"bronze": "#A0612B", "silver": "#6B7785", "gold": "#A77F0C"}


def draw_bucket_layout(lang: str) -> Canvas:
    t = labels(BUCKET_LAYOUT, lang)
    minio, spark, model = PALETTE["minio"][2], PALETTE["spark"][2], PALETTE["model"][2]
    bronze, silver, gold = MEDALS["bronze"], MEDALS["silver"], MEDALS["gold"]
    # (depth, name, is a folder, colour, note key); the colour says whose the thing is
    rows = [
        (0, "s3://transactions/", True, minio, "root"),
        (1, "output/", True, minio, "output"),
        (2, "event_date=2026-11-27/", True, minio, "event_date"),
        (3, "part-00000-….snappy.parquet", False, minio, "part"),
        (3, "part-00001-….snappy.parquet", False, minio, None),
        (2, "event_date=2026-11-28/", True, minio, None),
        (3, "part-00000-….snappy.parquet", False, minio, None),
        (2, "_spark_metadata/", True, minio, "metadata_log"),
        (1, "rejected/", True, minio, "rejected"),
        (2, "part-00000-….snappy.parquet", False, minio, None),
        (2, "_spark_metadata/", True, minio, None),
        (1, "checkpoint/", True, spark, "checkpoint"),
        (2, "output/", True, spark, "ckpt_output"),
        (3, "offsets/", True, spark, "offsets"),
        (3, "commits/", True, spark, "commits"),
        (3, "sources/0/", True, spark, "sources"),
        (3, "metadata", False, spark, "metadata"),
        (3, "_lab_lock.json, _lab_source.json", False, spark, "guards"),
        (2, "rejected/", True, spark, "ckpt_rejected"),
        (1, "lake/", True, minio, "lake"),
        (2, "bronze/transactions/", True, bronze, "bronze"),
        (3, "_delta_log/", True, bronze, "delta_log"),
        (4, "00000000000000000000.json", False, bronze, "v0"),
        (4, "00000000000000000001.json", False, bronze, "v1"),
        (4, "00000000000000000010.checkpoint.parquet", False, bronze, "v10"),
        (3, "part-00000-….snappy.parquet", False, bronze, None),
        (2, "silver/transactions/", True, silver, "silver"),
        (2, "silver/rejected/", True, silver, "silver_rejected"),
        (2, "gold/<name>/", True, gold, "gold"),
        (1, "models/fraud/<version>/", True, model, "models"),
    ]
    pitch, y0, indent, note_x = 22, 74, 26, 476
    c = canvas("bucket_layout", lang, 960, y0 + len(rows) * pitch + 10, t)
    c.heading(t["heading"])
    for i, (depth, name, folder, color, note) in enumerate(rows):
        y = y0 + i * pitch
        if depth == 1:          # a band behind each top-level folder's rows, so the eye finds its subtree
            n = next((j for j in range(i + 1, len(rows)) if rows[j][0] <= 1), len(rows)) - i
            c.rect(16, y - 15, 928, n * pitch - 2, fill="#F7F8FA", stroke="#E2E8F0", sw=1, rx=6)
    for i, (depth, name, folder, color, note) in enumerate(rows):
        y = y0 + i * pitch
        x = 24 + depth * indent
        if depth:               # the branch from the parent's line
            parent = max(j for j in range(i) if rows[j][0] == depth - 1)
            px = 24 + (depth - 1) * indent + 8
            c.line(px, y0 + parent * pitch + 5, px, y - 4, color="#A0AEC0", sw=1.2)
            c.line(px, y - 4, x - 3, y - 4, color="#A0AEC0", sw=1.2)
        if folder:
            c.folder(x, y - 12, color)
        else:
            c.file_icon(x + 3, y - 13, color)
        c.text(x + 24, y, name, size=15 if depth == 0 else 14 if folder else 13, mono=True, bold=folder, color=color,
               room=note_x - x - 34)
        if note:
            c.text(note_x, y, t[note], size=13, color=MUTED, room=940 - note_x)
    return c


# ===========================================================================================
# parquet_file: row groups, column chunks, pages, the footer, and what a query reads
# ===========================================================================================

PARQUET_FILE = {
    "en": {
        "title": "Inside a Parquet file: row groups, column chunks, pages and the footer",
        "desc": "A table of eight transactions with four columns is stored as a Parquet file: two row groups of "
                "four rows; in each row group, one column chunk per column, split into pages; at the end, a "
                "footer with the schema and, per column chunk, its position and min/max statistics. The query "
                "SELECT devise, SUM(montant_eur) WHERE montant_eur > 1000 reads the footer, skips row group 0 "
                "because its max montant_eur is 870, and in row group 1 reads only 2 of the 4 column chunks.",
        "heading": "Inside a Parquet file",
        "table": "The rows",
        "rg": ["row", "group"],
        "file": "The file: column after column, in each row group",
        "rg0": "row group 0 · rows 1–4",
        "rg1": "row group 1 · rows 5–8",
        "skipped": "skipped",
        "page": "page",
        "footer": "footer, read first",
        "schema": "schema: names and types of the columns",
        "stats": "per column chunk: position, min / max, nulls",
        "stat0": "row group 0 · montant_eur: min 7.99, max 870.00",
        "stat1": "row group 1 · montant_eur: min 15.00, max 4200.00",
        "query": "A query",
        "q1": "read the footer, at the end of the file",
        "q2": "row group 0: max 870 ≤ 1000, skipped",
        "q3": "row group 1: read 2 column chunks of 4",
        "why": ["Columnar: a query reads the columns it needs,", "and min / max lets it skip whole row groups.",
                "A CSV or JSON file is read from end to end."],
        "legend_read": "read",
        "legend_skip": "not read",
    },
    "fr": {
        "title": "L’intérieur d’un fichier Parquet : groupes de lignes, blocs de colonnes, pages et pied de fichier",
        "desc": "Une table de huit transactions à quatre colonnes est stockée dans un fichier Parquet : deux "
                "groupes de lignes (row groups) de quatre lignes ; dans chaque groupe, un bloc par colonne "
                "(column chunk), découpé en pages ; à la fin, un pied de fichier (footer) avec le schéma et, pour "
                "chaque bloc, sa position et ses statistiques min/max. La requête SELECT devise, "
                "SUM(montant_eur) WHERE montant_eur > 1000 lit le pied, saute le groupe 0 car son montant_eur "
                "maximal vaut 870, et ne lit dans le groupe 1 que 2 blocs de colonnes sur 4.",
        "heading": "L’intérieur d’un fichier Parquet",
        "table": "Les lignes",
        "rg": ["groupe", "de lignes"],
        "file": "Le fichier : colonne après colonne, par groupe",
        "rg0": "groupe de lignes 0 · lignes 1 à 4",
        "rg1": "groupe de lignes 1 · lignes 5 à 8",
        "skipped": "sauté",
        "page": "page",
        "footer": "pied de fichier (footer), lu en premier",
        "schema": "schéma : noms et types des colonnes",
        "stats": "par bloc de colonne : position, min / max, nuls",
        "stat0": "groupe 0 · montant_eur : min 7.99, max 870.00",
        "stat1": "groupe 1 · montant_eur : min 15.00, max 4200.00",
        "query": "Une requête",
        "q1": "lire le pied, à la fin du fichier",
        "q2": "groupe 0 : max 870 ≤ 1000, sauté",
        "q3": "groupe 1 : lire 2 blocs de colonnes sur 4",
        "why": ["En colonnes : une requête lit les colonnes utiles,", "et min / max lui fait sauter des groupes entiers.",
                "Un fichier CSV ou JSON se lit d’un bout à l’autre."],
        "legend_read": "lu",
        "legend_skip": "non lu",
    },
}
COLUMNS = [("transaction_id", "#475569", "#E2E8F0", 112), ("devise", "#0E7490", "#CFFAFE", 64),
           ("montant_eur", "#B45309", "#FEF3C7", 100), ("event_time", "#6D28D9", "#EDE9FE", 84)]
ROWS = [("1001", "EUR", "12.50", "22:40:31"), ("1002", "USD", "870.00", "22:40:33"),
        ("1003", "GBP", "45.10", "22:40:34"), ("1004", "EUR", "7.99", "22:40:36"),
        ("1005", "JPY", "4200.00", "22:40:37"), ("1006", "EUR", "15.00", "22:40:39"),
        ("1007", "CHF", "1320.40", "22:40:40"), ("1008", "EUR", "64.90", "22:40:42")]


def draw_parquet_file(lang: str) -> Canvas:
    t = labels(PARQUET_FILE, lang)
    c = canvas("parquet_file", lang, 960, 584, t)
    c.heading(t["heading"])

    # The rows, as a reader of the table sees them
    x0, y0, rh, gw = 24, 84, 24, 72
    c.text(x0, 68, t["table"], size=15, bold=True)
    c.rect(x0, y0, gw, 30, fill=PALETTE["neutral"][1], stroke=LINE, sw=1, rx=0)
    c.lines(x0 + gw / 2, y0 + 13, t["rg"], size=12, leading=13, anchor="middle", color=MUTED, room=gw - 4)
    x = x0 + gw
    for name, ink, bg, w in COLUMNS:
        c.rect(x, y0, w, 30, fill=bg, stroke=ink, sw=1, rx=0)
        c.text(x + 6, y0 + 20, name, size=12, mono=True, bold=True, color=ink, room=w - 8)
        x += w
    for g in range(2):
        c.rect(x0, y0 + 30 + g * 4 * rh, gw, 4 * rh, fill=PALETTE["neutral"][1], stroke=LINE, sw=1, rx=0)
        c.text(x0 + gw / 2, y0 + 30 + g * 4 * rh + 2 * rh + 6, str(g), size=16, bold=True, anchor="middle")
    for r, row in enumerate(ROWS):
        x, y = x0 + gw, y0 + 30 + r * rh
        for (name, ink, bg, w), value in zip(COLUMNS, row):
            c.rect(x, y, w, rh, fill=WHITE, stroke="#CBD5E0", sw=1, rx=0)
            c.text(x + w - 6, y + 17, value, size=12, mono=True, anchor="end")
            x += w
    table_right = x0 + gw + sum(w for *_, w in COLUMNS)
    c.line(x0, y0 + 30 + 4 * rh, table_right, y0 + 30 + 4 * rh, color=INK, sw=2)

    # The file: magic, two row groups of column chunks split in pages, the footer, magic
    fx, fw = 500, 440
    c.text(fx, 68, t["file"], size=15, bold=True, room=fw)
    c.arrow([(table_right + 8, 190), (fx - 8, 190)], color=INK, sw=2.5)

    def magic(y):
        c.rect(fx, y, fw, 18, fill="#EDF2F7", stroke=LINE, sw=1, rx=3)
        c.text(fx + fw / 2, y + 14, "PAR1", size=12, mono=True, bold=True, anchor="middle", color=MUTED)

    magic(84)
    for g, (y, title) in enumerate(((110, t["rg0"]), (268, t["rg1"]))):
        skipped = g == 0
        c.rect(fx, y, fw, 150, fill="#F7F8FA", stroke=LINE, sw=1.5, rx=6, dash="6 4" if skipped else None)
        c.badge(fx + 16, y + 18, str(g + 2), "neutral", r=10, size=12)
        w = c.text(fx + 32, y + 23, title, size=14, bold=True, room=fw - 120)
        if skipped:
            c.text(fx + 40 + w, y + 23, t["skipped"], size=14, bold=True, color=BAD)
        for k, (name, ink, bg, _) in enumerate(COLUMNS):
            cy = y + 36 + k * 27
            read = not skipped and name in ("devise", "montant_eur")
            c.text(fx + 12, cy + 16, name, size=12, mono=True, bold=read, color=ink if read else LINE)
            bx, bw = fx + 132, fw - 144
            c.rect(bx, cy, bw, 22, fill=bg if read else WHITE, stroke=ink if read else "#A0AEC0", sw=1.5 if read else 1,
                   rx=3, dash=None if read else "4 3")
            for p in range(3):
                if p:
                    c.line(bx + p * bw / 3, cy + 3, bx + p * bw / 3, cy + 19, color=ink if read else "#A0AEC0", sw=1)
                c.text(bx + (p + .5) * bw / 3, cy + 16, t["page"], size=12, anchor="middle",
                       color=ink if read else "#A0AEC0")
    fy = 426
    c.rect(fx, fy, fw, 126, fill="#EDF2F7", stroke=INK, sw=1.5, rx=6)
    c.badge(fx + 16, fy + 18, "1", "neutral", r=10, size=12)
    c.text(fx + 32, fy + 23, t["footer"], size=14, bold=True, room=fw - 44)
    c.text(fx + 12, fy + 46, t["schema"], size=13, room=fw - 24)
    c.text(fx + 12, fy + 66, t["stats"], size=13, room=fw - 24)
    c.text(fx + 12, fy + 92, t["stat0"], size=12, mono=True, color=COLUMNS[2][1], room=fw - 24)
    c.text(fx + 12, fy + 112, t["stat1"], size=12, mono=True, color=COLUMNS[2][1], room=fw - 24)
    magic(fy + 132)

    # The query, and what it reads
    qy = 336
    c.text(x0, qy, t["query"], size=15, bold=True)
    c.rect(x0, qy + 10, table_right - x0, 50, fill="#F7F8FA", stroke=LINE, sw=1, rx=6)
    c.text(x0 + 12, qy + 31, "SELECT devise, SUM(montant_eur)", size=13, mono=True, bold=True)
    c.text(x0 + 12, qy + 50, "WHERE montant_eur > 1000", size=13, mono=True, bold=True)
    for i, key in enumerate(("q1", "q2", "q3")):
        y = qy + 86 + i * 26
        c.badge(x0 + 10, y - 5, str(i + 1), "neutral", r=10, size=12)
        c.text(x0 + 28, y, t[key], size=14, room=table_right - x0 - 28)
    c.lines(x0, qy + 176, t["why"], size=13, color=MUTED, leading=18, room=table_right - x0)
    # legend of the chunks' two looks
    ly = qy + 236
    c.rect(x0, ly - 12, 28, 16, fill=COLUMNS[1][2], stroke=COLUMNS[1][1], sw=1.5, rx=3)
    c.text(x0 + 36, ly + 1, t["legend_read"], size=13)
    c.rect(x0 + 110, ly - 12, 28, 16, fill=WHITE, stroke="#A0AEC0", sw=1, rx=3, dash="4 3")
    c.text(x0 + 146, ly + 1, t["legend_skip"], size=13)
    return c


# ===========================================================================================
# lake_medallion: one streaming pass writing bronze, silver and gold Delta tables
# ===========================================================================================

LAKE_MEDALLION = {
    "en": {
        "title": "The data lake: one streaming query writes the bronze, silver and gold Delta tables",
        "desc": "One streaming query reads each Kafka message once. In foreachBatch, for each micro-batch N it "
                "appends the raw records to bronze/transactions, classifies each message once into "
                "silver/transactions or silver/rejected, and updates the gold aggregates. Every write carries "
                "txnAppId (the query's id) and txnVersion = N, so a replayed batch writes nothing twice. Each "
                "table keeps a _delta_log: one JSON file per commit, and a checkpoint Parquet file every 10 "
                "versions; readers follow the log, and can read an older version (time travel).",
        "heading": "The data lake: bronze, silver, gold in one pass",
        "kafka_note": ["each message", "is read once"],
        "query": "One streaming query",
        "per_batch": "for each micro-batch N:",
        "s1": ["append the raw records"],
        "s2": ["classify each message", "once: valid or rejected"],
        "s3": ["update the aggregates"],
        "every": "every write carries",
        "replay": ["a replayed batch N: Delta", "sees version N of this", "query done, writes nothing"],
        "lake": "Delta tables",
        "bronze": "raw",
        "bronze_text": "every Kafka record, as received",
        "silver": "clean",
        "silver_text": "valid rows, the columns of output/",
        "rejected": "clean",
        "rejected_text": "rejected messages + reason",
        "gold": "aggregated",
        "gold_text": "totals in EUR, read by dashboards",
        "log": "A table’s _delta_log/: one JSON file per commit (version)",
        "v": "version {}",
        "v10": "version 10 + checkpoint",
        "inside": "inside version 1:",
        "checkpoint": ["the state of all the table’s files:", "a reader starts here, not at 0"],
        "travel": "time travel: versionAsOf 1 reads the table as it was then",
    },
    "fr": {
        "title": "Le lac de données : une seule requête de flux écrit les tables Delta bronze, silver et gold",
        "desc": "Une seule requête de flux lit chaque message Kafka une fois. Dans foreachBatch, pour chaque "
                "micro-lot N, elle ajoute les messages bruts à bronze/transactions, classe chaque message une "
                "fois dans silver/transactions ou silver/rejected, et met à jour les agrégats gold. Chaque "
                "écriture porte txnAppId (l’identifiant de la requête) et txnVersion = N : un lot rejoué "
                "n’écrit rien deux fois. Chaque table tient un _delta_log : un fichier JSON par validation "
                "(commit), et un point de contrôle Parquet toutes les 10 versions ; les lecteurs suivent le "
                "journal et peuvent lire une version plus ancienne (voyage dans le temps).",
        "heading": "Le lac de données : bronze, silver, gold en un passage",
        "kafka_note": ["chaque message", "est lu une fois"],
        "query": "Une seule requête de flux",
        "per_batch": "pour chaque micro-lot N :",
        "s1": ["ajouter les messages bruts"],
        "s2": ["classer chaque message une", "fois : valide ou rejeté"],
        "s3": ["mettre à jour les agrégats"],
        "every": "chaque écriture porte",
        "replay": ["un lot N rejoué : Delta voit", "la version N de cette requête", "déjà faite, n’écrit rien"],
        "lake": "tables Delta",
        "bronze": "brut",
        "bronze_text": "chaque message Kafka, tel que reçu",
        "silver": "nettoyé",
        "silver_text": "lignes valides, colonnes de output/",
        "rejected": "nettoyé",
        "rejected_text": "messages rejetés + motif",
        "gold": "agrégé",
        "gold_text": "totaux en EUR, lus par les tableaux de bord",
        "log": "Le _delta_log/ d’une table : un fichier JSON par validation (version)",
        "v": "version {}",
        "v10": "version 10 + point de contrôle",
        "inside": "dans la version 1 :",
        "checkpoint": ["l’état de tous les fichiers de la table :", "un lecteur part de là, pas de 0"],
        "travel": "voyage dans le temps : versionAsOf 1 lit la table telle qu’elle était",
    },
}


def draw_lake_medallion(lang: str) -> Canvas:
    t = labels(LAKE_MEDALLION, lang)
    c = canvas("lake_medallion", lang, 960, 752, t)
    c.heading(t["heading"])
    sstroke, _, sink = PALETTE["spark"]
    mstroke, _, mink = PALETTE["minio"]
    qx, qw = 190, 270               # the query's box
    lx, lw = 506, 434               # the lake's frame
    cx, cw = lx + 16, lw - 32       # the tables' cards

    # The lake's four tables, one card each, in their medal's colour
    c.rect(lx, 56, lw, 362, fill="#FDF7F8", stroke=mstroke, sw=1.5, rx=10, dash="6 4")
    c.runs(lx + 14, 82, [("s3://transactions/lake/", {"mono": True, "bold": True, "color": mink}),
                         (" · " + t["lake"], {"color": mink, "bold": True})], size=14, room=lw - 28)
    tables = [("bronze/transactions", "bronze", t["bronze"], t["bronze_text"], 124),
              ("silver/transactions", "silver", t["silver"], t["silver_text"], 194),
              ("silver/rejected", "silver", t["rejected"], t["rejected_text"], 262),
              ("gold/<name>", "gold", t["gold"], t["gold_text"], 340)]
    for name, medal, level, text, y in tables:
        color = MEDALS[medal]
        c.rect(cx, y, cw, 58, fill=WHITE, stroke=color, sw=1.8, rx=6)
        c.rect(cx, y, 8, 58, fill=color, stroke=color, sw=1, rx=2)
        w = c.text(cx + 18, y + 22, name, size=14, mono=True, bold=True, color=color)
        c.text(cx + 26 + w, y + 22, "· " + level, size=13, color=color)
        c.folder(cx + cw - 112, y + 10, color, w=16, h=12)
        c.text(cx + cw - 90, y + 21, "_delta_log/", size=12, mono=True, color=MUTED)
        c.text(cx + 18, y + 45, text, size=13, color=MUTED, room=cw - 28)

    # Kafka, read once
    c.box(20, 196, 124, 128, "kafka", "Kafka")
    c.text(32, 244, "transactions", size=13, mono=True, bold=True)
    c.lines(32, 276, t["kafka_note"], size=12, color=MUTED, room=104)
    c.arrow([(148, 260), (qx - 4, 260)], color=INK, sw=2.5)

    # The query: one pass, three writes per micro-batch, each tagged with the batch id
    c.box(qx, 56, qw, 478, "spark", t["query"], size=15)
    c.text(qx + 12, 104, "foreachBatch(batch, N)", size=13, mono=True, bold=True, color=sink)
    c.text(qx + 12, 124, t["per_batch"], size=13, color=MUTED, room=qw - 24)
    for label, words, y, targets in (("1", t["s1"], 156, [151]), ("2", t["s2"], 226, [221, 289]),
                                     ("3", t["s3"], 372, [367])):
        c.badge(qx + 22, y - 5, label, "spark")
        c.lines(qx + 40, y, words, size=13, room=qw - 52)
        c.arrow([(qx + qw + 4, targets[0]), (cx - 4, targets[0])], color=INK, sw=2.2)
        for ty in targets[1:]:      # the second silver table: a branch down from the first arrow
            c.arrow([(qx + qw + 24, targets[0]), (qx + qw + 24, ty), (cx - 4, ty)], color=INK, sw=2.2)
    c.line(qx + 12, 402, qx + qw - 12, 402, color=sstroke, sw=1)
    c.text(qx + 12, 424, t["every"], size=13, room=qw - 24)
    c.text(qx + 12, 444, "txnAppId = <query id>", size=13, mono=True, bold=True, color=sink)
    c.text(qx + 12, 462, "txnVersion = N", size=13, mono=True, bold=True, color=sink)
    c.lines(qx + 12, 488, t["replay"], size=13, leading=16, room=qw - 24)

    # One table's log, commit after commit
    y0 = 552
    c.rect(20, y0, 920, 186, fill=PALETTE["neutral"][1], stroke=PALETTE["neutral"][0], sw=1.2, rx=8)
    c.text(36, y0 + 26, t["log"], size=14, bold=True, room=888)
    entries = [(76, "…000.json", t["v"].format(0)), (206, "…001.json", t["v"].format(1)),
               (336, "…002.json", t["v"].format(2)), (436, "…", None),
               (596, "…010.checkpoint.parquet", t["v10"]), (786, "…011.json", t["v"].format(11))]
    for i, (x, name, version) in enumerate(entries):
        if version:
            c.file_icon(x - 9, y0 + 40, MEDALS["bronze"], w=18, h=22)
            c.text(x, y0 + 80, name, size=12, mono=True, anchor="middle", bold=True)
            c.text(x, y0 + 96, version, size=12, anchor="middle", color=MUTED)
        else:
            c.text(x, y0 + 56, name, size=16, anchor="middle", bold=True, color=MUTED)
        if i:
            c.arrow([(entries[i - 1][0] + 22, y0 + 51), (x - 22, y0 + 51)], color=LINE, sw=1.5, head=7)
    # what a commit holds, and what a checkpoint is for
    c.text(36, y0 + 124, t["inside"], size=13, bold=True, room=170)
    c.text(36, y0 + 142, '{"txn": {"appId": "<query id>", "version": 1}}', size=12, mono=True,
           color=PALETTE["spark"][2])
    c.text(36, y0 + 158, '{"add": {"path": "part-00000-….parquet", …}}', size=12, mono=True)
    c.lines(506, y0 + 124, t["checkpoint"], size=13, leading=17, room=420)
    c.text(36, y0 + 178, t["travel"], size=13, color=MUTED, room=888)
    return c


# ===========================================================================================
# monitoring: Prometheus scraping every component; Grafana and the notebook reading it; the alert
# ===========================================================================================

MONITORING = {
    "en": {
        "title": "Monitoring: Prometheus scrapes Kafka, MinIO, the Spark driver and the producer",
        "desc": "Prometheus (127.0.0.1:9090) pulls the /metrics page of each component: the Kafka broker "
                "through its JMX exporter (127.0.0.1:9404), MinIO (127.0.0.1:9000), the Spark driver in the "
                "notebook kernel (127.0.0.1:4040, and the lab's exporter of the query's lag on 127.0.0.1:9102) and the producer while it runs (127.0.0.1:9101). It keeps the "
                "history, evaluates recording rules and an alert. Grafana (Docker Compose, 127.0.0.1:3000) and "
                "the notebook read it with PromQL over its HTTP API. The alert goes from inactive to pending "
                "when the stream falls behind, fires after 30 seconds, and resolves when the stream catches up.",
        "heading": "Monitoring: who exposes what, who reads it",
        "kafka": "Kafka broker",
        "kafka_how": "JMX exporter (a Java agent)",
        "kafka_what": "messages in per second, JVM heap",
        "minio": "MinIO",
        "minio_how": "built in",
        "minio_what": "bytes and objects in the bucket",
        "spark": "Spark driver (notebook kernel)",
        "spark_how": "while a session runs",
        "spark_what": "input vs processing rate, lag, rows by reason",
        "producer": "Producer",
        "producer_how": "while produce runs",
        "producer_what": "messages sent, failures",
        "prom_text": ["pulls (scrapes) the", "/metrics page of", "each target"],
        "prom_keeps": ["keeps the history:", "one time series", "per metric and label"],
        "rules": "rules",
        "rules_text": ["recording rules", "an alert: stream", "falling behind"],
        "promql": "PromQL",
        "grafana": "Grafana",
        "grafana_text": ["Docker Compose only,", "dashboards, read-only"],
        "notebook": "The notebook",
        "notebook_text": ["HTTP API → pandas", "→ matplotlib plots"],
        "alert": "The alert’s life: the stream falls behind (lag growing for 30 s)",
        "inactive": "inactive",
        "pending": "pending",
        "firing": "firing",
        "resolved": "resolved",
        "stopped": "query stopped, producer still sending",
        "restarted": "query restarted: the lag falls",
        "for": "30 s",
    },
    "fr": {
        "title": "Supervision : Prometheus collecte les métriques de Kafka, MinIO, du driver Spark et du producteur",
        "desc": "Prometheus (127.0.0.1:9090) vient lire la page /metrics de chaque composant : le broker Kafka "
                "via son exportateur JMX (127.0.0.1:9404), MinIO (127.0.0.1:9000), le driver Spark dans le noyau "
                "du notebook (127.0.0.1:4040, et l’exportateur du lab pour le retard de la requête sur 127.0.0.1:9102) et le producteur pendant qu’il tourne (127.0.0.1:9101). Il garde "
                "l’historique, évalue des règles d’enregistrement et une alerte. Grafana (Docker Compose, "
                "127.0.0.1:3000) et le notebook l’interrogent en PromQL par son API HTTP. L’alerte passe "
                "d’inactive à en attente quand le flux prend du retard, se déclenche au bout de 30 secondes, et "
                "se résout quand le flux a rattrapé son retard.",
        "heading": "Supervision : qui expose quoi, qui le lit",
        "kafka": "Broker Kafka",
        "kafka_how": "exportateur JMX (agent Java)",
        "kafka_what": "messages reçus par seconde, tas JVM",
        "minio": "MinIO",
        "minio_how": "intégré",
        "minio_what": "octets et objets du compartiment",
        "spark": "Driver Spark (noyau du notebook)",
        "spark_how": "tant qu’une session tourne",
        "spark_what": "débits, retard, lignes rejetées par raison",
        "producer": "Producteur",
        "producer_how": "tant que produce tourne",
        "producer_what": "messages envoyés, échecs",
        "prom_text": ["vient lire (scrape)", "la page /metrics de", "chaque cible"],
        "prom_keeps": ["garde l’historique :", "une série temporelle", "par métrique et label"],
        "rules": "règles",
        "rules_text": ["règles d’enregistrement", "une alerte : le flux", "prend du retard"],
        "promql": "PromQL",
        "grafana": "Grafana",
        "grafana_text": ["Docker Compose seulement,", "tableaux de bord"],
        "notebook": "Le notebook",
        "notebook_text": ["API HTTP → pandas", "→ graphiques matplotlib"],
        "alert": "La vie de l’alerte : le flux prend du retard (un retard qui croît pendant 30 s)",
        "inactive": "inactive",
        "pending": "en attente",
        "firing": "déclenchée",
        "resolved": "résolue",
        "stopped": "requête arrêtée, le producteur envoie toujours",
        "restarted": "requête relancée : le retard baisse",
        "for": "30 s",
    },
}


def draw_monitoring(lang: str) -> Canvas:
    t = labels(MONITORING, lang)
    c = canvas("monitoring", lang, 960, 606, t)
    c.heading(t["heading"])
    pstroke, _, pink = PALETTE["prometheus"]

    # The targets, each with its /metrics address
    targets = [("kafka", t["kafka"], t["kafka_how"], "127.0.0.1:9404/metrics", t["kafka_what"]),
               ("minio", t["minio"], t["minio_how"], "127.0.0.1:9000/minio/v2/metrics/cluster", t["minio_what"]),
               ("spark", t["spark"], t["spark_how"], "127.0.0.1:4040/metrics/prometheus, :9102", t["spark_what"]),
               ("producer", t["producer"], t["producer_how"], "127.0.0.1:9101/metrics", t["producer_what"])]
    tx, tw, th = 20, 330, 86
    px, pw, py, ph = 414, 224, 64, 374
    for i, (kind, name, how, address, what) in enumerate(targets):
        y = 64 + i * 96
        c.box(tx, y, tw, th, kind)
        ink = PALETTE[kind][2]
        c.text(tx + 12, y + 22, name, size=14, bold=True, color=ink, room=tw - 24)
        c.text(tx + 12, y + 42, address, size=12, mono=True, room=tw - 24)
        c.text(tx + 12, y + 62, how, size=12, italic=True, color=MUTED, room=tw - 24)
        c.text(tx + 12, y + 78, what, size=12, color=MUTED, room=tw - 24)
        c.arrow([(tx + tw + 4, y + th / 2), (px - 4, py + 120 + i * 44)], color=pstroke, sw=2)

    # Prometheus
    c.box(px, py, pw, ph, "prometheus", "Prometheus")
    c.text(px + 12, py + 44, "127.0.0.1:9090", size=13, mono=True, bold=True, color=pink)
    c.lines(px + 12, py + 72, t["prom_text"], size=13, room=pw - 24)
    c.lines(px + 12, py + 148, t["prom_keeps"], size=13, color=MUTED, room=pw - 24)
    c.rect(px + 12, py + 218, pw - 24, 96, fill=WHITE, stroke=pstroke, sw=1.2, rx=6)
    c.text(px + 24, py + 240, t["rules"], size=13, bold=True, color=pink)
    c.lines(px + 24, py + 260, t["rules_text"], size=13, room=pw - 48)

    # Who reads it: Grafana and the notebook, in PromQL over HTTP
    rx, rw = 708, 232
    for kind, name, text, y in (("grafana", t["grafana"], t["grafana_text"], 110),
                                ("producer", t["notebook"], t["notebook_text"], 262)):
        c.box(rx, y, rw, 110, kind, name)
        address = "127.0.0.1:3000" if kind == "grafana" else "/api/v1/query_range"
        c.text(rx + 12, y + 46, address, size=13, mono=True, bold=True, color=PALETTE[kind][2])
        c.lines(rx + 12, y + 70, text, size=13, color=MUTED, room=rw - 24)
        c.arrow([(px + pw + 4, y + 55), (rx - 4, y + 55)], color=pstroke, sw=2)
        c.text((px + pw + rx) / 2, y + 47, t["promql"], size=12, anchor="middle", color=pink)

    # The alert over time: inactive, pending for 30 s, firing, resolved
    y0 = 460
    c.rect(20, y0, 920, 132, fill=PALETTE["neutral"][1], stroke=PALETTE["neutral"][0], sw=1.2, rx=8)
    c.text(36, y0 + 26, t["alert"], size=14, bold=True, room=888)
    bar = y0 + 82
    segments = [(40, 300, t["inactive"], OK), (300, 440, t["pending"], PALETTE["grafana"][0]),
                (440, 700, t["firing"], BAD), (700, 920, t["resolved"], OK)]
    for x1, x2, word, color in segments:
        c.rect(x1, bar - 14, x2 - x1, 28, fill=color, stroke=WHITE, sw=2, rx=4)
        c.text((x1 + x2) / 2, bar + 5, word, size=13, bold=True, color=WHITE, anchor="middle", room=x2 - x1 - 8)
    for x, word in ((300, t["stopped"]), (700, t["restarted"])):
        c.line(x, bar - 30, x, bar - 14, color=INK, sw=1.5)
        c.text(x + 4, bar - 22, word, size=12, color=INK)
    c.arrow([(304, bar + 24), (436, bar + 24)], color=MUTED, sw=1.2, head=6, both=True)
    c.text(370, bar + 40, t["for"], size=12, anchor="middle", color=MUTED)
    return c


# ===========================================================================================
# fraud_scoring: labels arrive late, train on the past, test on later data, score the stream
# ===========================================================================================

FRAUD_SCORING = {
    "en": {
        "title": "Scoring transactions: labels arrive late, train on the past, test on later data, score the stream",
        "desc": "Top: valid transactions are in output/ or the lake; their labels (chargebacks) arrive weeks "
                "later, so the newest transactions have none yet. The model is fitted on an earlier time range "
                "and evaluated on a later one it never saw (held out). Bottom: features, fit, evaluation (AUC, "
                "precision, recall), and the model saved under models/fraud/<version>/; the stream loads the "
                "newest model and adds fraud_score and model_version to every valid transaction it writes.",
        "heading": "Scoring transactions for fraud",
        "a": "1 · Time decides what the model may learn from",
        "tx": "transactions",
        "tx_sub": "output/ or lake/",
        "labels": "labels",
        "labels_sub": ["chargebacks,", "weeks later"],
        "late": "a label comes weeks after its payment",
        "unknown": "not known yet",
        "train": "train (fit)",
        "test": "test (held out)",
        "nolabel": "no label yet",
        "stream": "the stream",
        "weeks": "{} weeks",
        "now": "now",
        "b": "2 · Train, evaluate on later data, then score the stream",
        "features": "Features",
        "features_text": ["montant_eur, hour", "country, channel,", "merchant category", "card history (1 h)"],
        "fit": "Fit on train",
        "fit_text": ["a Spark ML pipeline:", "encode, scale,", "logistic regression"],
        "eval": "Evaluate on test",
        "eval_text": ["data it never saw:", "AUC, precision and", "recall at a threshold"],
        "model": "Saved model",
        "model_text": "one folder per version",
        "kafka_text": ["a new", "transaction"],
        "score": "stream --score",
        "score_text": ["loads the newest model, applies it to each", "valid transaction of every micro-batch"],
        "loads": "newest version",
        "out_text": ["every valid row +", "fraud_score (0 to 1)", "and model_version"],
    },
    "fr": {
        "title": "Scorer les transactions : les étiquettes arrivent tard, entraîner sur le passé, tester sur la "
                 "suite, scorer le flux",
        "desc": "En haut : les transactions valides sont dans output/ ou dans le lac ; leurs étiquettes "
                "(rétrofacturations) arrivent des semaines plus tard, si bien que les plus récentes n’en ont pas "
                "encore. Le modèle est ajusté sur une période ancienne et évalué sur une période plus récente "
                "qu’il n’a jamais vue (données de test mises de côté). En bas : variables, ajustement, évaluation "
                "(AUC, précision, rappel), et le modèle enregistré sous models/fraud/<version>/ ; le flux charge "
                "le modèle le plus récent et ajoute fraud_score et model_version à chaque transaction valide "
                "qu’il écrit.",
        "heading": "Scorer les transactions contre la fraude",
        "a": "1 · Le temps décide de ce que le modèle peut apprendre",
        "tx": "transactions",
        "tx_sub": "output/ ou lake/",
        "labels": "étiquettes",
        "labels_sub": ["rétrofacturations,", "des semaines après"],
        "late": "une étiquette arrive des semaines après le paiement",
        "unknown": "pas encore connues",
        "train": "entraînement",
        "test": "test (mis de côté)",
        "nolabel": "sans étiquette",
        "stream": "le flux",
        "weeks": "{} sem.",
        "now": "maintenant",
        "b": "2 · Entraîner, évaluer sur la suite, puis scorer le flux",
        "features": "Variables",
        "features_text": ["montant_eur, heure", "pays, canal,", "catégorie de commerçant", "historique carte (1 h)"],
        "fit": "Ajuster (train)",
        "fit_text": ["un pipeline Spark ML :", "encodage, normalisation,", "régression logistique"],
        "eval": "Évaluer (test)",
        "eval_text": ["sur des données jamais", "vues : AUC, précision", "et rappel à un seuil"],
        "model": "Modèle enregistré",
        "model_text": "un dossier par version",
        "kafka_text": ["une nouvelle", "transaction"],
        "score": "stream --score",
        "score_text": ["charge le modèle le plus récent, l’applique à", "chaque transaction valide de chaque micro-lot"],
        "loads": "dernière version",
        "out_text": ["chaque ligne valide +", "fraud_score (de 0 à 1)", "et model_version"],
    },
}


def draw_fraud_scoring(lang: str) -> Canvas:
    t = labels(FRAUD_SCORING, lang)
    c = canvas("fraud_scoring", lang, 960, 600, t)
    c.heading(t["heading"])
    mstroke, mfill, mink = PALETTE["minio"]
    sink = PALETTE["spark"][2]
    gstroke, _, gink = PALETTE["model"]

    # 1. On a time axis: transactions, labels that come later, and the split by time
    c.text(24, 66, t["a"], size=15, bold=True)

    def x(week):                # weeks before now -> x; now is at 820
        return 820 + week * 80

    top, bottom = 84, 230
    c.rect(x(-8), top, x(-4) - x(-8), bottom - top, fill="#E6F0FA", stroke="none", sw=0, rx=0)
    c.rect(x(-4), top, x(-2) - x(-4), bottom - top, fill="#FDF3DE", stroke="none", sw=0, rx=0)
    ty, ly = 104, 170
    c.text(24, ty + 4, t["tx"], size=14, bold=True, color=mink, room=146)
    c.text(24, ty + 21, t["tx_sub"], size=12, mono=True, color=MUTED, room=146)
    c.rect(x(-8), ty - 12, x(0) - x(-8), 24, fill=mfill, stroke=mstroke, sw=1.5, rx=4)
    c.text(24, ly + 4, t["labels"], size=14, bold=True, room=146)
    c.lines(24, ly + 21, t["labels_sub"], size=12, leading=15, color=MUTED, room=146)
    c.rect(x(-8), ly - 12, x(-2) - x(-8), 24, fill="#E2E8F0", stroke=LINE, sw=1.5, rx=4)
    c.rect(x(-2), ly - 12, x(0) - x(-2), 24, fill=WHITE, stroke=LINE, sw=1.2, rx=4, dash="4 3")
    c.text((x(-2) + x(0)) / 2, ly + 5, t["unknown"], size=12, anchor="middle", color=MUTED, room=x(0) - x(-2) - 6)
    for w in (-7.6, -6.1, -4.6):        # each label lands weeks after its transaction
        c.arrow([(x(w), ty + 13), (x(w + 1.4), ly - 13)], color=INK, sw=1.5, head=7)
    c.text(x(-3.1), ty + 34, t["late"], size=12, color=INK)
    # the live stream, to the right of now
    c.arrow([(x(0) + 6, ty), (x(0) + 74, ty)], color=PALETTE["kafka"][0], sw=3)
    c.text(x(0) + 40, ty - 18, t["stream"], size=12, bold=True, anchor="middle", color=PALETTE["kafka"][2])
    # the split, and the axis
    for w1, w2, word, color in ((-8, -4, t["train"], PALETTE["producer"][2]), (-4, -2, t["test"], PALETTE["grafana"][2]),
                                (-2, 0, t["nolabel"], MUTED)):
        c.text((x(w1) + x(w2)) / 2, bottom - 10, word, size=13, bold=True, anchor="middle", color=color,
               room=x(w2) - x(w1) - 6)
    c.line(x(-8), bottom, x(0) + 80, bottom, color=INK, sw=1.5)
    for w in (-8, -6, -4, -2, 0):
        c.line(x(w), bottom - 4, x(w), bottom + 4, color=INK)
        c.text(x(w), bottom + 19, t["now"] if w == 0 else t["weeks"].format(f"−{-w}"), size=12,
               anchor="middle", color=MUTED)

    # 2. Train, evaluate, save; then the stream applies the model
    c.text(24, 290, t["b"], size=15, bold=True)
    row = 306
    boxes = [(20, 196, "spark", t["features"], t["features_text"]), (252, 196, "spark", t["fit"], t["fit_text"]),
             (484, 196, "spark", t["eval"], t["eval_text"])]
    for bx, bw, kind, title, text in boxes:
        c.box(bx, row, bw, 132, kind, title, size=15)
        c.lines(bx + 12, row + 54, text, size=13, room=bw - 24)
    for x1, x2 in ((216, 252), (448, 484), (680, 716)):
        c.arrow([(x1 + 3, row + 66), (x2 - 3, row + 66)], color=INK, sw=2.2)
    c.box(716, row, 224, 132, "model", t["model"], size=15)
    c.text(728, row + 54, "models/fraud/", size=13, mono=True, bold=True, color=gink)
    c.text(728, row + 72, "<version>/", size=13, mono=True, bold=True, color=gink)
    c.text(728, row + 96, t["model_text"], size=13, color=MUTED, room=200)
    c.text(728, row + 118, "PipelineModel", size=13, mono=True, color=MUTED)

    srow = 480
    c.box(20, srow, 150, 100, "kafka", "Kafka")
    c.lines(32, srow + 56, t["kafka_text"], size=13, color=MUTED, room=126)
    c.box(206, srow, 474, 100, "spark")
    c.text(218, srow + 26, t["score"], size=15, mono=True, bold=True, color=sink)
    c.lines(218, srow + 52, t["score_text"], size=13, room=450)
    c.box(716, srow, 224, 100, "minio")
    c.text(728, srow + 24, "output/", size=14, mono=True, bold=True, color=mink)
    c.lines(728, srow + 46, t["out_text"], size=13, room=200)
    c.arrow([(173, srow + 50), (203, srow + 50)], color=INK, sw=2.2)
    c.arrow([(683, srow + 50), (713, srow + 50)], color=INK, sw=2.2)
    # the stream picks up the newest saved model
    c.arrow([(760, row + 136), (760, 462), (600, 462), (600, srow - 3)], color=gstroke, sw=2.2)
    c.text(612, 456, t["loads"], size=12, bold=True, color=gink)
    return c


# ===========================================================================================
# scale_out: three Kafka brokers with leaders and replicas; a Spark standalone cluster
# ===========================================================================================

SCALE_OUT = {
    "en": {
        "title": "Scaling out: three Kafka brokers with replicated partitions, and a Spark standalone cluster",
        "desc": "Left: three Kafka brokers; each partition of transactions has three replicas, one of them the "
                "leader. Broker 2 is down: partition 1's leadership moves to broker 3, and the in-sync replicas "
                "of each partition shrink to two, which min.insync.replicas = 2 still accepts, so acks=all "
                "writes go on. Right: a Spark standalone master (127.0.0.1:7077) launches an executor on each "
                "of two workers; the driver in the notebook kernel sends each micro-batch's tasks to them, one "
                "task per Kafka partition.",
        "heading": "Scaling out: more brokers, more executors",
        "kafka": "Kafka: 3 brokers, replication factor 3",
        "broker": "broker {}",
        "leader": "leader",
        "replica": "replica",
        "down": "down",
        "moves": "P1’s leadership moves to broker 3",
        "partition": "partition",
        "leader_col": "leader",
        "isr": "in-sync replicas (ISR)",
        "min_isr": ["min.insync.replicas = 2: two replicas in sync are", "enough, so acks=all writes go on.",
                    "Broker 2 restarted catches up, then rejoins the ISR."],
        "spark": "Spark: a standalone cluster",
        "master": "master",
        "master_text": "knows the workers, launches the executors",
        "launches": "launches",
        "worker": "worker {}",
        "executor": "executor · 2 cores",
        "task": "task {} · P{}",
        "free": "free core",
        "driver": "driver, in the notebook kernel",
        "driver_text": "plans each micro-batch, sends its tasks",
        "tasks": "tasks",
        "note": ["The Kafka source makes one task per partition:", "3 partitions → 3 tasks, run side by side."],
    },
    "fr": {
        "title": "Passer à l’échelle : trois brokers Kafka aux partitions répliquées, et un cluster Spark autonome",
        "desc": "À gauche : trois brokers Kafka ; chaque partition de transactions a trois répliques, dont une "
                "est le leader. Le broker 2 est arrêté : la partition 1 prend le broker 3 pour leader, et les "
                "répliques synchronisées de chaque partition ne sont plus que deux, ce que min.insync.replicas = 2 "
                "accepte encore : les écritures acks=all continuent. À droite : un maître Spark autonome "
                "(127.0.0.1:7077) lance un exécuteur sur chacun des deux workers ; le driver, dans le noyau du "
                "notebook, leur envoie les tâches de chaque micro-lot, une tâche par partition Kafka.",
        "heading": "Passer à l’échelle : plus de brokers, plus d’exécuteurs",
        "kafka": "Kafka : 3 brokers, facteur de réplication 3",
        "broker": "broker {}",
        "leader": "leader",
        "replica": "réplique",
        "down": "arrêté",
        "moves": "le leader de P1 passe au broker 3",
        "partition": "partition",
        "leader_col": "leader",
        "isr": "répliques synchronisées (ISR)",
        "min_isr": ["min.insync.replicas = 2 : deux répliques à jour", "suffisent, les écritures acks=all continuent.",
                    "Le broker 2 relancé rattrape son retard, puis", "revient dans l’ISR."],
        "spark": "Spark : un cluster autonome (standalone)",
        "master": "maître (master)",
        "master_text": "connaît les workers, lance les exécuteurs",
        "launches": "lance",
        "worker": "worker {}",
        "executor": "exécuteur · 2 cœurs",
        "task": "tâche {} · P{}",
        "free": "cœur libre",
        "driver": "driver, dans le noyau du notebook",
        "driver_text": "planifie chaque micro-lot, envoie ses tâches",
        "tasks": "tâches",
        "note": ["La source Kafka crée une tâche par partition :", "3 partitions → 3 tâches, en parallèle."],
    },
}


def draw_scale_out(lang: str) -> Canvas:
    t = labels(SCALE_OUT, lang)
    c = canvas("scale_out", lang, 960, 604, t)
    c.heading(t["heading"])
    kstroke, kfill, kink = PALETTE["kafka"]
    sstroke, sfill, sink = PALETTE["spark"]

    # Left: three brokers; every partition on every broker, one replica leads
    c.rect(20, 52, 456, 540, fill="#F3FAF9", stroke=kstroke, sw=1.5, rx=10)
    c.text(36, 78, t["kafka"], size=15, bold=True, color=kink, room=424)
    leaders = {0: 1, 1: 3, 2: 3}            # after broker 2 went down
    for b in (1, 2, 3):
        bx, by, bw = 36 + (b - 1) * 146, 96, 132
        down = b == 2
        c.rect(bx, by, bw, 178, fill="#EDF2F7" if down else WHITE, stroke=LINE if down else kstroke, sw=1.8,
               rx=8, dash="5 4" if down else None)
        c.text(bx + 12, by + 24, t["broker"].format(b), size=14, bold=True, color=MUTED if down else kink)
        for p in range(3):
            py = by + 40 + p * 44
            lead = leaders[p] == b
            if down:
                c.rect(bx + 10, py, bw - 20, 32, fill="#EDF2F7", stroke="#A0AEC0", sw=1.2, rx=16, dash="3 3")
                word, color = (t["leader"] if p == 1 else t["replica"]), "#A0AEC0"
            else:
                c.rect(bx + 10, py, bw - 20, 32, fill=kstroke if lead else kfill, stroke=kstroke, sw=1.5, rx=16)
                word, color = (t["leader"] if lead else t["replica"]), (WHITE if lead else kink)
            c.text(bx + bw / 2, py + 21, f"P{p} · {word}", size=13, bold=lead, anchor="middle", color=color,
                   room=bw - 28)
        if down:                            # crossed out in the corner: its replicas stay readable
            c.cross_mark(bx + bw - 28, by + 10, 16)
    c.text(36 + 146 + 66, 296, t["down"], size=14, bold=True, color=BAD, anchor="middle")
    # P1's leadership moves from broker 2 to broker 3
    c.arrow([(36 + 146 + 122, 96 + 40 + 44 + 16), (36 + 292 + 10 - 2, 96 + 40 + 44 + 16)], color=BAD, sw=2.5, head=8)
    c.text(464, 322, t["moves"], size=13, bold=True, color=BAD, anchor="end")

    # The ISR table, now
    ty = 352
    cols = (40, 150, 250)
    for x, word in zip(cols, (t["partition"], t["leader_col"], t["isr"])):
        c.text(x, ty, word, size=13, bold=True, color=kink)
    c.line(36, ty + 8, 460, ty + 8, color=kstroke, sw=1)
    for p, (leader, isr) in enumerate((("1", "{1, 3}"), ("2 → 3", "{3, 1}"), ("3", "{3, 1}"))):
        y = ty + 32 + p * 26
        c.text(cols[0], y, f"P{p}", size=13, mono=True, bold=True)
        c.text(cols[1], y, leader, size=13, mono=True, color=BAD if "→" in leader else INK)
        c.text(cols[2], y, isr, size=13, mono=True)
    c.lines(36, 482, t["min_isr"], size=13, leading=18, room=428)

    # Right: master, two workers with an executor each, and the driver sending tasks
    rx, rw = 492, 448
    c.rect(rx, 52, rw, 540, fill="#FFF9F4", stroke=sstroke, sw=1.5, rx=10)
    c.text(rx + 16, 78, t["spark"], size=15, bold=True, color=sink, room=rw - 32)
    c.box(rx + 16, 96, rw - 32, 60, "spark")
    w = c.text(rx + 28, 120, t["master"], size=14, bold=True, color=sink)
    c.text(rx + 36 + w, 120, "127.0.0.1:7077 · UI :8080", size=12, mono=True, color=MUTED)
    c.text(rx + 28, 144, t["master_text"], size=13, color=MUTED, room=rw - 56)
    workers = [(rx + 16, [(0, 0), (2, 2)]), (rx + rw / 2 + 8, [(1, 1), None])]
    ww = rw / 2 - 24
    for i, (wx, tasks) in enumerate(workers):
        c.arrow([(wx + ww - 40, 160), (wx + ww - 40, 208)], color=sstroke, sw=1.8, dash="5 4", head=8)
        if i == 0:
            c.text(wx + ww - 48, 190, t["launches"], size=12, color=MUTED, anchor="end")
        c.rect(wx, 212, ww, 200, fill=WHITE, stroke=sstroke, sw=1.8, rx=8)
        c.text(wx + 12, 234, t["worker"].format(i + 1), size=14, bold=True, color=sink)
        c.rect(wx + 10, 246, ww - 20, 154, fill=sfill, stroke=sstroke, sw=1.2, rx=6)
        c.text(wx + 20, 268, t["executor"], size=13, bold=True, room=ww - 40)
        for k, task in enumerate(tasks):
            ty2 = 284 + k * 46
            if task:
                c.rect(wx + 20, ty2, ww - 40, 34, fill=WHITE, stroke=kstroke, sw=1.5, rx=6)
                c.text(wx + ww / 2, ty2 + 22, t["task"].format(*task), size=13, bold=True, anchor="middle",
                       color=kink, room=ww - 48)
            else:
                c.rect(wx + 20, ty2, ww - 40, 34, fill=WHITE, stroke="#A0AEC0", sw=1.2, rx=6, dash="4 3")
                c.text(wx + ww / 2, ty2 + 22, t["free"], size=13, anchor="middle", color=MUTED, room=ww - 48)
    # the driver, below, sends the batch's tasks up to the executors
    c.box(rx + 16, 466, rw - 32, 62, "spark")
    c.text(rx + 28, 490, t["driver"], size=14, bold=True, color=sink, room=rw - 56)
    c.text(rx + 28, 512, t["driver_text"], size=13, color=MUTED, room=rw - 56)
    for wx, _ in workers:
        c.arrow([(wx + 40, 462), (wx + 40, 404)], color=sstroke, sw=2.2)
    c.text(rx + 16 + 48, 440, t["tasks"], size=12, color=MUTED)
    c.lines(rx + 16, 552, t["note"], size=13, leading=18, color=INK, room=rw - 32)
    return c


# ===========================================================================================

PICTURES = {
    "architecture": draw_architecture,
    "partitions_offsets": draw_partitions_offsets,
    "micro_batches": draw_micro_batches,
    "watermark": draw_watermark,
    "bucket_layout": draw_bucket_layout,
    "parquet_file": draw_parquet_file,
    "lake_medallion": draw_lake_medallion,
    "monitoring": draw_monitoring,
    "fraud_scoring": draw_fraud_scoring,
    "scale_out": draw_scale_out,
}


def render_all() -> dict[Path, str]:
    """Every picture in every language: {path: SVG text}."""
    out = {}
    for name, draw in PICTURES.items():
        for lang in LANGS:
            out[OUT / lang / f"{name}.svg"] = draw(lang).svg()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming every picture that differs from what this script draws")
    args = parser.parse_args(argv)
    pictures = render_all()
    if args.check:
        stale = [p for p, svg in pictures.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != svg]
        stale += sorted(p for lang in LANGS for p in (OUT / lang).glob("*.svg") if p not in pictures)
        for p in stale:
            why = "missing" if not p.exists() else ("not drawn by this script" if p not in pictures else "stale")
            print(f"{p.relative_to(ROOT)}: {why}", file=sys.stderr)
        if stale:
            print("run `python scripts/draw_pictures.py` and commit the pictures", file=sys.stderr)
            return 1
        print(f"{len(pictures)} pictures up to date")
        return 0
    for p, svg in pictures.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w", encoding="utf-8", newline="\n") as f:
            f.write(svg)
    print(f"wrote {len(pictures)} pictures in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

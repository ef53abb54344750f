"""The font every Schakel PDF is set in: DejaVu Sans, embedded (subset), so "€ 110,00", "ë" and "–" print.

The PDF core fonts (Helvetica, Courier) are Latin-1 and have no euro sign; the TTFs and their licence are in
``fonts/`` (copied from Debian's fonts-dejavu-core 2.37). :func:`use` registers them on a document.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
SANS = "DejaVuSans"  # regular, "B" and "I"
MONO = "DejaVuSansMono"  # "B" only: the receipt's kenmerk


def use(pdf: FPDF) -> FPDF:
    """Register the embedded fonts on this document (before its first ``set_font``)."""
    pdf.add_font(SANS, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(SANS, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.add_font(SANS, "I", FONTS / "DejaVuSans-Oblique.ttf")
    pdf.add_font(MONO, "B", FONTS / "DejaVuSansMono-Bold.ttf")
    return pdf

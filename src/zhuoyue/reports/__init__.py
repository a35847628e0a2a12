"""Reports: inline SVG control charts and self-contained HTML reports (printable, offline)."""

from zhuoyue.reports.svg import panel_svg

__all__ = ["panel_svg"]

"""Reports: inline SVG control charts and self-contained HTML reports (printable, offline).

::

    from zhuoyue import stats
    from zhuoyue.reports import ReportSection, render_chart_report, write_report

    res = stats.xbar_r(values, subgroups, phase1=25)
    page = render_chart_report([ReportSection("外径", "", res, "rings.csv: diameter")], title="报告")
    write_report(page, "report.html")
"""

from zhuoyue.reports.html import ReportSection, render_chart_report, write_report
from zhuoyue.reports.svg import panel_svg

__all__ = ["ReportSection", "panel_svg", "render_chart_report", "write_report"]

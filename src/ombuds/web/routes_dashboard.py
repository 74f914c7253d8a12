"""The operator's dashboard for staff: pictures, not lists (the numbers are also at
``GET /api/v1/dashboard``)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from ombuds.domain.errors import DomainError
from ombuds.services.dashboard import dashboard
from ombuds.web import charts
from ombuds.web.pages import PageDep
from ombuds.wording import labels
from ombuds.wording.i18n import N_

router = APIRouter(include_in_schema=False)
WINDOWS = (7, 30, 90)
HOW_CLOSED = {
    "seller_silence": N_("Buyer won: the seller was silent"),
    "agreed": N_("Agreed between the parties"),
    "verdict": N_("Decided by an arbitrator"),
    "withdrawn": N_("Withdrawn by the buyer"),
}


@router.get("/dashboard")
async def dashboard_page(page: PageDep, days: int = 30):
    page.require("arbitrator")
    try:
        n = await dashboard(page.app, caller=page.caller, days=days)
    except DomainError:
        return page.not_found()
    _, f = page._, page.f
    day_labels = [f.date(d["day"]) for d in n["per_day"]]
    q, s, r = n["arbitration"], n["sellers"], n["refunds"]
    pictures = {
        "per_day": charts.columns(_("Disputes opened and closed per day"), day_labels, [
            charts.Series(_("Opened"), [d["opened"] for d in n["per_day"]], charts.PALETTE[0]),
            charts.Series(_("Closed"), [d["closed"] for d in n["per_day"]], charts.PALETTE[2])]),
        "outcomes": charts.shares(_("How disputes ended"),
                                  [(_(HOW_CLOSED[k]), v) for k, v in n["outcomes"].items()]),
        "times": charts.bars(_("Time to the seller's first answer and to resolution"), [
            (_(label), hours or 0, f.duration(timedelta(hours=hours)) if hours is not None else "—")
            for label, hours in ((N_("First answer, median"), n["first_seller_answer"]["median_hours"]),
                                 (N_("First answer, 90th percentile"), n["first_seller_answer"]["p90_hours"]),
                                 (N_("Resolution, median"), n["resolution"]["median_hours"]),
                                 (N_("Resolution, 90th percentile"), n["resolution"]["p90_hours"]))]),
        "queue": charts.bars(_("Arbitration queue: age of each case"), [
            (_("Dispute #%(id)s", id=c["dispute_id"]), c["age_days"], f.days(round(c["age_days"])))
            for c in q["oldest"]], marks=[(q["target_days"], _("target"), "#e08a2e"),
                                         (q["limit_days"], _("limit"), "#b54a4a")]),
        "refunds": charts.bars(_("Refunds landed on time, by payment method"), [
            (labels.payment_method(f, m["method"]) if m["method"] != "platform_balance"
             else _("your balance on the platform"), (m["on_time_rate"] or 0) * 100,
             (f"{round(m['on_time_rate'] * 100)}%" if m["on_time_rate"] is not None else "—") + f" · {m['count']}")
            for m in r["by_method"]], scale_max=100),
        "sellers": charts.bars(_("Sellers nearest the flag threshold (orders lost)"), [
            (x["name"] or f"#{x['seller_id']}", x["lost_ratio"] * 100,
             f"{round(x['lost_ratio'] * 100, 1)}% ({x['lost_orders']}/{x['orders']})") for x in s["nearest"]],
            marks=[(s["threshold"] * 100, _("flag"), "#b54a4a")], data_labels=True),
    }
    titles = {key: svg.split("<title>", 1)[1].split("</title>", 1)[0] for key, svg in pictures.items()}
    return page.render("dashboard.html", n=n, pictures=pictures, titles=titles, windows=WINDOWS)

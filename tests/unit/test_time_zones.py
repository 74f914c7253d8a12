"""R33: times are shown in each person's time zone; a refund's business days (R20) count from
the buyer's local date. Near midnight and across a DST change, as pretix tests its dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ombuds.domain.business_days import refund_window
from ombuds.domain.time_zones import local_date, main_zone, zone
from ombuds.emails.catalogue import format_moment
from ombuds.wording.i18n import formatter


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_r33_a_persons_zone_defaults_to_the_main_zone_of_their_country():
    assert main_zone("RU") == "Europe/Moscow"  # not CLDR's alphabetical first, Astrakhan
    assert main_zone("US") == "America/New_York" and main_zone("DE") == "Europe/Berlin"
    assert main_zone("FR") == "Europe/Paris" and main_zone("CN") == "Asia/Shanghai"
    assert main_zone("XX") == "UTC"
    assert str(zone(None, "RU")) == "Europe/Moscow" and str(zone("Asia/Tokyo", "RU")) == "Asia/Tokyo"
    assert str(zone("Not/AZone", "DE")) == "Europe/Berlin"


def test_r33_a_moment_late_on_friday_utc_is_saturday_in_moscow():
    friday_late = at(2026, 3, 6, 22, 30)
    assert local_date(friday_late, None, "RU") == date(2026, 3, 7)
    assert local_date(friday_late, None, "GB") == date(2026, 3, 6)
    assert local_date(at(2026, 3, 6, 3, 0), None, "US") == date(2026, 3, 5)  # still Thursday in New York
    ru = formatter("ru", "Europe/Moscow")
    assert ru.datetime(friday_late) == "7 мар. 2026, 01:30 +0300"
    assert ru.date(friday_late) == "7 мар. 2026"
    assert formatter("en").datetime(friday_late) == "6 Mar 2026, 22:30 UTC"


def test_r33_r20_a_refund_issued_late_on_thursday_utc_counts_from_friday_in_moscow():
    thursday_late = at(2026, 3, 5, 22, 30)  # 01:30 on Friday in Moscow
    earliest, _ = refund_window(local_date(thursday_late, None, "RU"), 3, 15, "RU")
    # Monday 9 March is a holiday in Russia (8 March falls on a Sunday): Tue 10, Wed 11, Thu 12.
    assert earliest == date(2026, 3, 12)
    from_utc_day, _ = refund_window(thursday_late.date(), 3, 15, "RU")
    assert from_utc_day == date(2026, 3, 11)  # what counting from the UTC date would have promised


def test_r33_deadlines_across_the_dst_change_read_in_the_buyers_clock():
    """Germany moves its clocks on 29 March 2026 at 01:00 UTC: 09:00 UTC is 10:00 before, 11:00 after."""
    berlin = formatter("en", "Europe/Berlin")
    assert berlin.datetime(at(2026, 3, 28, 9, 0)) == "28 Mar 2026, 10:00 +0100"
    assert berlin.datetime(at(2026, 3, 30, 9, 0)) == "30 Mar 2026, 11:00 +0200"
    assert berlin.datetime(at(2026, 3, 29, 0, 59)) == "29 Mar 2026, 01:59 +0100"
    assert berlin.datetime(at(2026, 3, 29, 1, 0)) == "29 Mar 2026, 03:00 +0200"
    assert berlin.date(at(2026, 3, 28, 23, 30)) == "29 Mar 2026"  # after midnight in Berlin
    assert format_moment(at(2026, 3, 30, 9, 0), "ru", "Europe/Berlin") == "30 марта 2026, 11:00 +0200"
    assert format_moment(at(2026, 3, 30, 9, 0), "en") == "30 March 2026, 09:00 UTC"


def test_r33_times_are_right_on_a_machine_without_the_systems_zone_files(tmp_path):
    """zoneinfo falls back to the ``tzdata`` package (a dependency) when no system zone
    database is found: here its search path is an empty folder."""
    import os
    import subprocess
    import sys
    code = ("from datetime import datetime, timezone\n"
            "from ombuds.domain.time_zones import zone, is_zone\n"
            "from ombuds.wording.i18n import formatter\n"
            "assert is_zone('Europe/Moscow') and str(zone(None, 'DE')) == 'Europe/Berlin'\n"
            "print(formatter('en', 'Europe/Berlin').datetime(datetime(2026, 3, 30, 9, tzinfo=timezone.utc)))\n")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONTZPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "30 Mar 2026, 11:00 +0200"

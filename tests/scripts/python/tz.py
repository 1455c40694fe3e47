from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

utc, paris = ZoneInfo("UTC"), ZoneInfo("Europe/Paris")
print("UTC:", datetime(2024, 1, 15, 12, 0, tzinfo=utc).isoformat(), utc.tzname(None))
for label, day, hours in (("spring", 31, (0, 0.5, 1, 1.5)), ("autumn", 27, (0, 0.5, 1, 1.5))):
    month = 3 if label == "spring" else 10
    for h in hours:
        t = datetime(2024, month, day, tzinfo=timezone.utc) + timedelta(hours=h)
        local = t.astimezone(paris)
        print(f"{label} {t:%H:%M}Z -> {local.isoformat()} {local.tzname()} fold={local.fold}")
# Wall-clock times in the gap and in the overlap, and back to UTC.
gap = datetime(2024, 3, 31, 2, 30, tzinfo=paris)
print("gap 02:30:", gap.utcoffset(), gap.astimezone(timezone.utc).isoformat())
for fold in (0, 1):
    t = datetime(2024, 10, 27, 2, 30, fold=fold, tzinfo=paris)
    print(f"overlap 02:30 fold={fold}:", t.tzname(), t.astimezone(timezone.utc).isoformat())
# A day across the change: 24 h of wall clock, 23 h of real time.
a, b = datetime(2024, 3, 30, 12, tzinfo=paris), datetime(2024, 3, 31, 12, tzinfo=paris)
print("wall:", b - a, "real:", b.astimezone(timezone.utc) - a.astimezone(timezone.utc))
print("paris +1 day:", (a + timedelta(days=1)).isoformat())
for name in ("America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Sao_Paulo"):
    z = ZoneInfo(name)
    for when in (datetime(2024, 1, 1, 12, tzinfo=timezone.utc), datetime(2024, 7, 1, 12, tzinfo=timezone.utc)):
        local = when.astimezone(z)
        print(f"{name} {when:%m-%d}: {local:%Y-%m-%d %H:%M %Z %z}")
print("strftime:", datetime(2024, 7, 14, 9, 5, tzinfo=paris).strftime("%A %d %B %Y %H:%M %Z (%z)"))
try:
    ZoneInfo("Mars/Olympus_Mons")
except Exception as e:
    print("unknown zone:", type(e).__name__)

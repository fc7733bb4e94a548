"""Writes the SMART-shaped patrol files of this folder (run: python3 make.py).

The three files record different patrols (other places and days), so that
they can share one database; each has two legs (foot, then vehicle),
three days, members with a leader and a pilot, tracks of timed points
(one day of two segments), and observations with every attribute type.
"""
import datetime as dt

NS = {
    "schema": "http://www.smartconservationsoftware.org/xml/patrol.xsd",
    "1.2": "http://www.smartconservationsoftware.org/xml/1.2/patrol",
    "1.3": "http://www.smartconservationsoftware.org/xml/1.3/patrol",
}
BKK = dt.timezone(dt.timedelta(hours=7))


def seg(lat, lon, start, n, dlat, dlon, step_s):
    """n points from (lat, lon), local start time, a step each step_s seconds."""
    pts = []
    for i in range(n):
        t = start + dt.timedelta(seconds=i * step_s)
        pts.append((round(lon + i * dlon, 6), round(lat + i * dlat, 6), int(t.timestamp())))
    return pts


def wkt(segs):
    lines = ["(" + ", ".join(f"{x} {y} {m}" for x, y, m in s) + ")" for s in segs]
    if len(lines) == 1:
        return "LINESTRING M " + lines[0]
    return "MULTILINESTRING M (" + ", ".join(lines) + ")"


def obs_xml(dialect, obs, indent):
    pad = " " * indent
    out = []
    for cat, attrs in obs:
        out.append(f'{pad}<observations categoryKey="{cat}">')
        for key, kind, value in attrs:
            out.append(f'{pad}  <attributes attributeKey="{key}"><{kind}>{value}</{kind}></attributes>')
        out.append(f"{pad}</observations>")
    if dialect == "1.3":
        return [" " * (indent - 2) + "  <groups>"] + ["  " + l for l in out] + [" " * (indent - 2) + "  </groups>"]
    return out


def patrol(dialect, k):
    lat0, lon0 = 14.20 + 0.05 * k, 102.10 + 0.05 * k
    d1 = dt.date(2024, 3, 4 + 7 * k)
    d2 = d1 + dt.timedelta(days=1)
    d3 = d1 + dt.timedelta(days=2)
    at = lambda d, h, m=0: dt.datetime(d.year, d.month, d.day, h, m, tzinfo=BKK)
    days = {
        # leg 1, on foot: ~1.1 m/s
        ("1", d1): [seg(lat0, lon0, at(d1, 8), 120, 0.0004, 0.0002, 60)],
        ("1", d2): [seg(lat0 + 0.05, lon0, at(d2, 7, 30), 90, 0.0003, -0.0003, 60),
                    seg(lat0 + 0.08, lon0 - 0.02, at(d2, 13), 60, -0.0002, 0.0004, 60)],
        # leg 2, by vehicle: ~9 m/s
        ("2", d3): [seg(lat0 + 0.1, lon0 + 0.1, at(d3, 9), 80, 0.004, 0.003, 60)],
    }
    waypoints = {
        ("1", d1): [
            ("08:30:00", lat0 + 0.012, lon0 + 0.006, "Two snares on the game trail", [
                ("snare", [("count", "dValue", "2"), ("removed", "dValue", "2"), ("age", "itemKey", "fresh")]),
            ]),
            ("09:45:30", lat0 + 0.03, lon0 + 0.015, None, [
                ("carcass", [("species", "itemKey", "sambar"), ("parts_taken", "bValue", "true"), ("age", "itemKey", "old")]),
                ("wildlife_sign", [("species", "itemKey", "elephant")]),
            ]),
        ],
        ("1", d2): [
            ("13:20:00", lat0 + 0.076, lon0 - 0.012, "Cut logs &amp; a cart", [
                ("logging", [("tree_species", "sValue", "Siamese rosewood"), ("count", "dValue", "3.5")]),
            ]),
        ],
        ("2", d3): [
            ("09:40:00", lat0 + 0.26, lon0 + 0.22, None, [
                ("intruder", [("people", "dValue", "4"), ("arrested", "dValue", "1")]),
            ]),
        ],
    }
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
             f'<!-- A SMART patrol, {dialect} dialect, written by hand for patrol\'s tests. -->']
    pid = f' id="TL-2024-{k + 1:03d}"' if dialect != "schema" else ""
    lines.append(f'<patrol xmlns="{NS[dialect]}"{pid} patrolType="GROUND" startDate="{d1}" endDate="{d3}" isArmed="{str(k % 2 == 0).lower()}">')
    if dialect == "schema":
        lines.append('  <mandate languageCode="en" value="Law enforcement"/>')
    lines.append("  <objective>\n    <description>Snare sweep along the northern ridge</description>\n  </objective>")
    lines.append(f'  <team languageCode="en" value="Ranger team {k + 1}"/>')
    lines.append('  <station languageCode="en" value="Thap Lan HQ"/>')
    if dialect != "schema":
        lines.append(f"  <comment>Patrol {k + 1}: two legs, one by car</comment>")
    legs = [("1", "Foot", [("Somchai", "Srisuk", True, False), ("Anan", "Boonma", False, False), ("Kittisak", "Wong", False, False)], [d1, d2]),
            ("2", "Vehicle", [("Somchai", "Srisuk", True, False), ("Prasert", "Chaiyo", False, True)], [d3])]
    for leg_id, transport, members, ldays in legs:
        lines.append(f'  <legs startDate="{ldays[0]}" endDate="{ldays[-1]}" id="{leg_id}">')
        lines.append(f'    <transportType languageCode="en" value="{transport}"/>')
        if dialect != "schema":
            lines.append(f'    <mandate languageCode="en" value="{"Law enforcement" if leg_id == "1" else "Transport"}"/>')
        for g, f, leader, pilot in members:
            lines.append(f'    <members givenName="{g}" familyName="{f}" employeeId="E{len(g)}" isPilot="{str(pilot).lower()}" isLeader="{str(leader).lower()}"/>')
        for d in ldays:
            segs = days[(leg_id, d)]
            first = dt.datetime.fromtimestamp(segs[0][0][2], BKK).strftime("%H:%M:%S")
            last = dt.datetime.fromtimestamp(segs[-1][-1][2], BKK).strftime("%H:%M:%S")
            lines.append(f'    <days date="{d}" startTime="{first}" endTime="{last}" restMinutes="{30 if leg_id == "1" else 0}">')
            for wid, (time, y, x, comment, obs) in enumerate(waypoints.get((leg_id, d), []), start=1):
                lines.append(f'      <waypoints id="{wid}" x="{round(x, 6)}" y="{round(y, 6)}" time="{time}">')
                if comment:
                    lines.append(f"        <comment>{comment}</comment>")
                lines.extend(obs_xml(dialect, obs, 8))
                lines.append("      </waypoints>")
            lines.append(f'      <track geom="{wkt(segs)}" distance="0"/>')
            lines.append("    </days>")
        lines.append("  </legs>")
    lines.append("</patrol>")
    return "\n".join(lines) + "\n"


for k, (dialect, name) in enumerate([("schema", "patrol-schema.xml"), ("1.2", "patrol-1.2.xml"), ("1.3", "patrol-1.3.xml")]):
    with open(name, "w") as f:
        f.write(patrol(dialect, k))

"""What a scope page shows, read as a user's browser gets it (the real server, httpx)."""

from __future__ import annotations

import re

import httpx

from tests.serve.conftest import DEMO_DAY, PASSWORD, Server


def page(server: Server, user: str, path: str) -> str:
    login = httpx.post(server.url + "/login", data={"user": user, "password": PASSWORD}, timeout=30)
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=30) as client:
        r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    return r.text


def pollutant_row(html: str, name: str) -> list[str]:
    table = html.split('id="pollutants"', 1)[1].split("</table>", 1)[0]
    row = next(r for r in table.split("<tr>") if r.startswith(f"<td>{name}</td>"))
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_a_pollutant_the_park_does_not_meter_is_blank_not_zero(server: Server) -> None:
    # coop-enclave has no CEMS stack: its SO2 is "–"; petrochem's boilers measure it
    enclave = page(server, "admin-user", f"/view/park/coop-enclave?day={DEMO_DAY}&lang=en")
    petro = page(server, "admin-user", f"/view/park/petrochem?day={DEMO_DAY}&lang=en")
    assert pollutant_row(enclave, "SO2")[1:3] == ["–", "–"]
    kg = pollutant_row(petro, "SO2")[1]
    assert re.fullmatch(r"[\d,]+(\.\d+)?", kg)
    assert float(kg.replace(",", "")) > 0
    # the zone meters SO2 through petrochem: its row has a figure
    zone = page(server, "admin-user", f"/view/zone/lanzhou-new-area?day={DEMO_DAY}&lang=en")
    assert pollutant_row(zone, "SO2")[1] == kg

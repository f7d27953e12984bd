"""Standard-output builders: pure functions returning a TableSpec, checked against independent values."""

from __future__ import annotations

import pytest
from IPython.display import HTML

from reanalysis import outputs, tables
from reanalysis.checks import run_checks
from reanalysis.data import load_study


@pytest.fixture(scope="module")
def li():
    study = load_study("li2022")
    return study, run_checks(study)


def test_response_rates_against_r(li):
    # Li 2022 Table 2, mRECIST ORR 21/37 vs 13/41. Wilson 95% CIs from R 4.2:
    # prop.test(21, 37, correct = FALSE)$conf.int = 0.4091418, 0.7132828
    # prop.test(13, 41, correct = FALSE)$conf.int = 0.1956461, 0.4698420
    # Newcombe hybrid score difference by hand from those bounds:
    # d = 0.250494; L = d - sqrt(0.158426² + 0.152769²) = 0.0304; U = d + sqrt(0.145715² + 0.121427²) = 0.4402
    study, _ = li
    spec = outputs.response_rates(study, "mRECIST", "wilson", 0.05)
    assert spec.uid == "rates" and "mRECIST" in spec.caption
    rows = spec.frame.set_index(["Outcome", "Arm"])
    rate = rows.columns[0]
    assert rows.loc[("ORR", "RT + anti-PD1"), rate] == "21/37 = 56.8% (40.9–71.3)"
    assert rows.loc[("ORR", "TACE + sorafenib"), rate] == "13/41 = 31.7% (19.6–47.0)"
    assert rows.loc[("ORR", "RT + anti-PD1"), rows.columns[1]] == "25.0 (3.0 to 44.0)"
    assert rows.loc[("ORR", "TACE + sorafenib"), rows.columns[1]] == ""


def test_hazard_ratio_table_carries_the_wald_p_of_each_printed_hr(li):
    # Li 2022: PFS HR 0.51 (0.30–0.86): log-scale SE = (ln 0.86 - ln 0.30)/3.92 = 0.26870,
    # z = ln 0.51 / 0.26870 = -2.5059, two-sided p = 0.0122 -> "0.012"
    study, checks = li
    frame = outputs.hazard_ratios(study, checks).frame
    first = frame.iloc[0]
    assert (first["Endpoint"], first["p printed"]) == ("PFS", "P = 0.017")
    assert first["Wald p from CI"].startswith("0.012")


def test_builders_say_none_when_nothing_is_printed(li):
    study, checks = li
    assert outputs.printed_claims(study) is None  # Li 2022 records no claims without data
    assert outputs.survival_by_factor(study) is None
    assert outputs.bed_ranges(checks) is None  # no BED printed


def test_builders_do_not_render_and_render_is_the_one_renderer(li):
    study, checks = li
    spec = outputs.inconsistencies(checks)
    assert isinstance(spec, tables.TableSpec)
    assert "status" not in spec.frame.columns
    assert len(spec.frame) == (checks["status"] == "inconsistent").sum()
    html = tables.render(spec)
    assert isinstance(html, HTML) and 'id="T_inconsistencies"' in html.data
    with pytest.raises(ValueError, match="table id"):
        tables.TableSpec(spec.frame, "Not An Id")

"""The patient-level section aggregates patient rows correctly (checked on the synthetic cohort,
whose response counts equal the published ones: Li 2022 Table 2, mRECIST ORR 21/37 vs 13/41)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from reanalysis.data import load_study  # noqa: E402
from reanalysis.patient import report as R  # noqa: E402


def test_response_and_ae_tables_from_patient_rows():
    study = load_study("li2022")
    data, why = R.load("synthetic", study)
    assert why == "" and data.synthetic
    part = R.PatientSection(data, study)
    html = part.response("mRECIST").data
    assert "21/37 (56.8%)" in html and "13/41 (31.7%)" in html
    assert "20/37 (54.1%)" in html  # PR
    ae = part.adverse_events().data
    # Table 3: increased AST any grade 20/37 vs 38/41
    assert "20/37 (54.1%)" in ae and "38/41 (92.7%)" in ae
    assert "Synthetic data" in part.banner().data


def test_patient_mode_off_and_unavailable():
    assert R.load("none", load_study("li2022"))[0] is None
    data, why = R.load("synthetic", load_study("multicentre2026"))
    assert data is None and "arm sizes" in why


def test_patient_tables_show_arm_labels_in_comparison_order():
    """Labels, not ids, and the study's comparison order even when the file lists the other arm first."""
    study = load_study("li2022")
    data, _ = R.load("synthetic", study)
    first, second = study.comparison
    # the file lists the second arm first
    data.adsl = data.adsl.sort_values("ARM", key=lambda s: s != second, kind="stable")
    assert data.arms[0] == second
    part = R.PatientSection(data, study)
    html = part.table_one().data
    a, b = study.arm(first).label, study.arm(second).label
    assert html.index(a.replace("&", "&amp;")) < html.index(b.replace("&", "&amp;"))
    assert f">{first}<" not in html and f">{second}<" not in html


def test_banner_warns_of_inverted_cnsr_and_days():
    study = load_study("li2022")
    data, _ = R.load("synthetic", study)
    data.synthetic = False
    assert R.inverted_cnsr(data, study) == []  # events as printed: nothing to say
    data.adtte["CNSR"] = 1 - data.adtte["CNSR"]
    data.adtte["AVAL"] = data.adtte["AVAL"] * 30.4375 + 200
    text = R.PatientSection(data, study).banner().data.replace("\\", "")  # read as rendered (escapes dropped)
    assert "is CNSR inverted?" in text and "OS in arm rt_pd1" in text
    assert "AVAL must be in months" in text

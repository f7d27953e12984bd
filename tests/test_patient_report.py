"""The patient-level section aggregates patient rows correctly (checked on the synthetic cohort,
whose response counts equal the published ones: Li 2022 Table 2, mRECIST ORR 21/37 vs 13/41)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

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


def test_patient_tables_read_in_labels_not_codes():
    """Arms, covariates, levels and contrasts by label; every column by a display name; an
    unreached KM limit reads NR (the frames themselves keep their machine names for the tidy CSV)."""
    import math

    from reanalysis.patient import labels as L

    lab = L.Labeller(
        {"rt_pd1": "RT + anti-PD1", "tace_sor": "TACE + sorafenib"}, {"CELLTYPE": {"label": "Cell type"}}
    )
    cox = pd.DataFrame(
        {
            "variable": ["ARM", "EHM", "AGE", "SEX", "CELLTYPE"],
            "contrast": ["rt_pd1 vs tace_sor", "Y vs N", "per unit", "M vs F", "large vs squamous"],
            "hr": [0.62, 0.55, 0.99, 1.2, 0.8],
            "p_variable": [0.1, 0.07, 0.6, 0.5, 0.4],
        }
    )
    shown = lab.for_display(cox)
    assert list(shown.columns) == ["Variable", "Comparison", "HR", "p, whole variable"]
    assert shown["Variable"].tolist() == ["Arm", "Extrahepatic metastasis", "Age, years", "Sex", "Cell type"]
    assert shown["Comparison"].tolist() == [
        "RT + anti-PD1 vs TACE + sorafenib",
        "yes vs no",
        "per unit",
        "male vs female",
        "large vs squamous",
    ]
    balance = lab.columns(pd.DataFrame(columns=["mean_treated_after", "n_control", "sd"]))
    assert list(balance.columns) == ["Mean, RT + anti-PD1, after", "Patients, TACE + sorafenib", "sd"]
    km = L.not_reached(
        pd.DataFrame({"arm": ["rt_pd1"], "median": [17.4], "upper": [math.inf]}), ("median", "upper")
    )
    assert lab.values(km).iloc[0].tolist() == ["RT + anti-PD1", 17.4, "NR"]
    summary = lab.match_summary({"pairs": 28, "sd_logit_ps": 0.718, "order": "largest"})
    assert summary["Item"].tolist()[1] == "SD of the logit propensity score"
    assert summary["Value"].tolist()[2] == "largest propensity score first"

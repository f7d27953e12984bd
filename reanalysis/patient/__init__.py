"""Patient-level mode: ADaM-style patient data, synthetic cohorts and patient-level analyses.

:mod:`.schema` loads and validates a folder of patient-level CSVs (ADSL, ADTTE, ADRS, ADAE);
:mod:`.synthetic` builds a clearly labelled synthetic cohort whose marginals match a study's
published aggregates. The aggregate results a paper would print: :mod:`.descriptive` (Table 1,
SMDs, Fisher and Mann-Whitney tests), :mod:`.survival` (Cox models with a PH check, Cox in a
matched cohort, Kaplan-Meier), :mod:`.matching` (propensity-score matching) and
:mod:`.subgroups` (subgroup hazard ratios, interaction tests), all on the arms, levels and
design matrices of :mod:`.design`. Response models: :mod:`.response_data` (model matrix),
:mod:`.models` (model families, fitting, ROC/calibration figures), :mod:`.metrics` (DeLong AUC,
calibration) and :mod:`.explain` (SHAP). :mod:`.report` shows them in a study chapter;
:mod:`.tidy` (tidy rows) and :mod:`.folder_report` (a notebook) run them on any trial's folder
(``python -m reanalysis patient``).
"""

"""Patient-level mode: ADaM-style patient data, synthetic cohorts and patient-level analyses.

:mod:`.schema` loads and validates a folder of patient-level CSVs (ADSL, ADTTE, ADRS, ADAE);
:mod:`.synthetic` builds a clearly labelled synthetic cohort whose marginals match a study's
published aggregates; :mod:`.analysis` computes the aggregate results a paper would print
(Table 1, propensity-score matching, Cox models, subgroup hazard ratios, Kaplan-Meier).
"""

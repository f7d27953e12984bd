"""The project's vocabulary: the names a parameter, a check and a page share, defined once.

Light on purpose (no imports), so the command line can validate parameters against it before
anything heavy is loaded.
"""

from __future__ import annotations

# Which test a recomputed categorical p shows (see reanalysis.stats.choose_test).
TEST_RULES = ("gtsummary", "paper", "reproduce")
# Confidence intervals of a proportion (see reanalysis.stats.proportion_ci).
CI_METHODS = ("wilson", "clopper-pearson")
# Weightings of the two-sample survival test (see reanalysis.survival).
WEIGHTINGS = ("logrank", "wilcoxon", "tarone-ware")
# What an overall adverse-event count counts (study.yml `ae_overall`); never pooled together.
AE_ATTRIBUTIONS = ("all-cause", "treatment-related")
# What a study's source is (study.yml `source_kind`): readers weigh a full text and a summary of
# an abstract differently, so the overview and the chapter say which it is.
SOURCE_KINDS = ("full text", "abstract", "summary of an abstract")
# A DOI as a study.yml may give it: prefix 10.<registrant>/<suffix> (the DOI Handbook, 2.2);
# only such a value becomes a link to https://doi.org/
DOI_PATTERN = r"10\.\d{4,9}/[^\s\"<>]+"
# Response criteria a patient-level ADRS file may name.
RESPONSE_CRITERIA = ("RECIST 1.1", "mRECIST")
# Time-to-event endpoints, in display order, with what each counts as an event. One list for
# the extracted data (survival.csv, hazard_ratios.csv), the patient data (ADTTE PARAMCD) and
# the pages; a new endpoint is one line here.
ENDPOINTS: dict[str, str] = {
    "OS": "overall survival: death from any cause",
    "PFS": "progression-free survival: progression or death",
    "RFS": "recurrence-free survival: recurrence or death",
    "DFS": "disease-free survival: recurrence, new disease or death",
    "EFS": "event-free survival: the event the trial defines (progression, recurrence, death, ...)",
    "TTP": "time to progression: progression only (deaths without progression censored)",
    "IRFS": "intrahepatic recurrence-free survival",
    "ORFS": "overall recurrence-free survival",
}
ENDPOINT_CODES = tuple(ENDPOINTS)

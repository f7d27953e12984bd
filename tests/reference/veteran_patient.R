# Reference values for `python -m reanalysis patient tests/fixtures/veteran --format csv`
# (tests/test_patient_cli.py), computed by R's survival package on the very CSV files the test
# reads (written by tests/fixtures/veteran/export.R). Run from the repository root:
#   Rscript tests/reference/veteran_patient.R > tests/reference/veteran_patient.txt
library(survival)
dir <- "tests/fixtures/veteran"
adsl <- read.csv(file.path(dir, "adsl.csv"), row.names = 1)
adtte <- read.csv(file.path(dir, "adtte.csv"), row.names = 1)
d <- merge(adsl, adtte[adtte$PARAMCD == "OS", ], by = "USUBJID")
d$ARM <- factor(d$ARM, levels = c("standard", "test"))  # reference arm: standard (patient.yml)
d$E <- 1 - d$CNSR
cat("R", as.character(getRversion()), "survival", as.character(packageVersion("survival")), "\n")
# Cox model of the arm (Efron ties, coxph's default): HR test vs standard, 95% CI, Wald p
fit <- coxph(Surv(AVAL, E) ~ ARM, data = d)
s <- summary(fit)
cat(sprintf("cox_arm hr=%.6f lower=%.6f upper=%.6f p=%.6f\n",
            s$conf.int[1, "exp(coef)"], s$conf.int[1, "lower .95"], s$conf.int[1, "upper .95"],
            s$coefficients[1, "Pr(>|z|)"]))
# univariable Cox of AGE (per year)
fa <- summary(coxph(Surv(AVAL, E) ~ AGE, data = d))
cat(sprintf("cox_age hr=%.6f lower=%.6f upper=%.6f p=%.6f\n",
            fa$conf.int[1, 1], fa$conf.int[1, 3], fa$conf.int[1, 4], fa$coefficients[1, 5]))
# log-rank test (survdiff, rho = 0)
lr <- survdiff(Surv(AVAL, E) ~ ARM, data = d)
cat(sprintf("logrank chisq=%.6f p=%.6f\n", lr$chisq, pchisq(lr$chisq, df = 1, lower.tail = FALSE)))
# Kaplan-Meier medians per arm with the log-log CI
km <- survfit(Surv(AVAL, E) ~ ARM, data = d, conf.type = "log-log")
tab <- summary(km)$table
for (i in seq_len(nrow(tab))) {
  cat(sprintf("km_median %s median=%.6f lower=%.6f upper=%.6f\n", rownames(tab)[i],
              tab[i, "median"], tab[i, "0.95LCL"], tab[i, "0.95UCL"]))
}
# proportional-hazards test of survival >= 3.0 (cox.zph, transform "km", its default) on the
# multivariable model the patient command fits (the arm, and CELLTYPE, the covariate with p < 0.1)
d$CELLTYPE <- factor(d$CELLTYPE, levels = c("adeno", "large", "smallcell", "squamous"))
z <- cox.zph(coxph(Surv(AVAL, E) ~ ARM + CELLTYPE, data = d))$table
for (i in seq_len(nrow(z))) cat(sprintf("cox_zph %s chisq=%.6f df=%d p=%.6f\n", rownames(z)[i], z[i, 1], z[i, 2], z[i, 3]))

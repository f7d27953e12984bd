# Real patient-level data sets from R's survival package (3.5-3), written as CSV for the
# reconstruction's validation (reanalysis/validation.py), so that the book and the tests do not
# need R.  Times in months (days / 30.4375).  Run: Rscript export.R  (from this folder)
library(survival)
month <- 30.4375
out <- function(name, arm, time, event) {
  write.csv(data.frame(arm = arm, time = round(time / month, 6), event = as.integer(event)),
            paste0(name, ".csv"), row.names = FALSE, quote = FALSE)
}
# colon cancer adjuvant trial, death (etype 2): levamisole + 5-FU vs observation
d <- subset(colon, etype == 2 & rx %in% c("Lev+5FU", "Obs"))
out("colon", ifelse(d$rx == "Lev+5FU", "first", "second"), d$time, d$status)
# Veterans' Administration lung cancer trial: test vs standard chemotherapy
out("veteran", ifelse(veteran$trt == 2, "first", "second"), veteran$time, veteran$status)
# ovarian cancer trial: rx 2 vs rx 1
out("ovarian", ifelse(ovarian$rx == 2, "first", "second"), ovarian$futime, ovarian$fustat)
# primary biliary cirrhosis trial (randomised patients): D-penicillamine vs placebo, death
p <- subset(pbc, !is.na(trt))
out("pbc", ifelse(p$trt == 1, "first", "second"), p$time, p$status == 2)

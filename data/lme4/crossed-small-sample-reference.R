# lmerTest's small-sample t tests for chapter 9's crossed rating study.
#
# Run from the repository's top folder, on Linux with address-space randomisation off
# (see crossed-reference.R for why):
#     setarch -R Rscript data/lme4/crossed-small-sample-reference.R
# It reads data/crossed-ratings.csv and writes data/lme4/crossed-small-sample-reference.json
# (a few seconds; two runs gave the same bytes).
#
# The smiling effect `cond` varies between faces, so its standard error is driven by the
# 30 faces, not by the 1200 ratings: a z test (normal reference distribution, as
# statsmodels reports) is too liberal. lmerTest's Satterthwaite and Kenward-Roger
# approximations give the t distribution's degrees of freedom.
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest, jsonlite (Debian packages).

source("data/lme4/crossed-common.R")  # ratings, control, formulas
require_fixed_addresses_for("data/lme4/crossed-small-sample-reference.R")

suppressPackageStartupMessages({
  library(lmerTest)
  library(jsonlite)
})

formulas <- formulas[c("crossed_intercepts", "crossed_uncorrelated_slope",
                       "crossed_correlated_slope")]

tests <- function(fit, ddf) {
  table <- coef(summary(fit, ddf = ddf))
  lapply(setNames(seq_len(nrow(table)), rownames(table)), function(i) {
    list(estimate = table[i, "Estimate"], std_error = table[i, "Std. Error"],
         df = table[i, "df"], t_value = table[i, "t value"], p_value = table[i, "Pr(>|t|)"])
  })
}

models <- lapply(formulas, function(f) {
  fit <- lmer(f, data = ratings, REML = TRUE, control = control)
  list(
    formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
    logLik = as.numeric(logLik(fit)),
    satterthwaite = tests(fit, "Satterthwaite"),
    kenward_roger = tests(fit, "Kenward-Roger")
  )
})

result <- list(
  R_version = paste(R.version$major, R.version$minor, sep = "."),
  lme4_version = packageDescription("lme4")$Version,
  lmerTest_version = packageDescription("lmerTest")$Version,
  pbkrtest_version = packageDescription("pbkrtest")$Version,
  data = "data/crossed-ratings.csv",
  optimizer = "bobyqa, rhoend = 1e-12, maxfun = 1e6; REML",
  models = models
)
writeLines(toJSON(result, auto_unbox = TRUE, pretty = TRUE, digits = I(10)),
           "data/lme4/crossed-small-sample-reference.json")

# lme4 reference values for an unbalanced version of the sleep study (appendix B): the
# standard errors of the fixed effects when subjects have different numbers of days.
#
# Run from the repository root:
#     Rscript data/lme4/unbalanced-sleepstudy-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/unbalanced-sleepstudy-reference.json
# (no date or machine path, so a rerun with the same versions gives the same bytes).
#
# The subset: the k-th subject (k = 1, ..., 18, in the order of the data) keeps days
# 0 to 3 + ((k - 1) mod 7), as if subjects had left the study after 3 to 9 days; 120 rows.
# On such data lme4's vcov() of the fixed effects is sigma^2 (X' V^-1 X)^-1 at the
# estimated covariance parameters, while statsmodels' bse_fe comes from the inverse of
# the full Hessian (fixed effects and variance parameters together); the two differ.
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "unbalanced-sleepstudy-reference.json")
sleep <- read_sleepstudy()

subjects <- unique(as.character(sleep$Subject))
last_day <- setNames(3 + (seq_along(subjects) - 1) %% 7, subjects)
unbalanced <- sleep[sleep$Days <= last_day[as.character(sleep$Subject)], ]

describe <- function(m) {
  coefs <- summary(m)$coefficients
  satterthwaite <- coef(summary(lmerTest::as_lmerModLmerTest(m)))
  list(
    reml = isREML(m),
    nobs = nobs(m),
    logLik = as.numeric(logLik(m)),
    residual_variance = sigma(m)^2,
    theta = unname(getME(m, "theta")),
    singular = isSingular(m),
    fixed_effects = data.frame(
      term = rownames(coefs), estimate = unname(coefs[, "Estimate"]),
      std_error = unname(coefs[, "Std. Error"]),
      satterthwaite_df = unname(satterthwaite[, "df"]),
      satterthwaite_p = unname(satterthwaite[, "Pr(>|t|)"]),
      stringsAsFactors = FALSE
    ),
    vcov_fixed = unname(as.matrix(vcov(m)))
  )
}

fits <- lapply(c(REML = TRUE, ML = FALSE), function(reml) {
  lmer(Reaction ~ Days + (Days | Subject), data = unbalanced, REML = reml,
       control = tight_control())
})

output <- list(
  metadata = list(
    description = paste(
      "lme4 fits of Reaction ~ Days + (Days | Subject) to the sleepstudy rows with",
      "Days <= 3 + ((k - 1) mod 7) for the k-th subject (an unbalanced design)."
    ),
    regenerate = "Rscript data/lme4/unbalanced-sleepstudy-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    optimizer_call = tight_control_text(),
    last_day = as.list(last_day),
    nobs = nrow(unbalanced)
  ),
  models = list(correlated = lapply(fits, describe))
)
write_exact_json(output, out_path)

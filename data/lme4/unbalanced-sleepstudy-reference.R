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

# Two more variants for appendix A's "on your own data" box.
# 1. The first six subjects without days 7-9 (162 rows): statsmodels' BFGS alone stops
#    short of this REML optimum, a list of methods reaches it.
short_first_six <- sleep[!(sleep$Subject %in% subjects[1:6] & sleep$Days >= 7), ]
short_fit <- lmer(Reaction ~ Days + (Days | Subject), data = short_first_six, REML = TRUE,
                  control = tight_control())
# 2. A two-level factor (days 0-4 "early", 5-9 "late"): what `||` does with a factor.
#    lme4 expands (half || Subject) to (1 | Subject) + (0 + half | Subject), whose second
#    term has a full 2 x 2 covariance matrix; (1 | Subject) + (1 | Subject:half) is the
#    model that statsmodels' vc_formula {"half": "0 + C(half)"} fits.
sleep$half <- factor(ifelse(sleep$Days >= 5, "late", "early"))
half_fits <- list(
  double_bar = lmer(Reaction ~ half + (half || Subject), data = sleep, REML = TRUE,
                    control = tight_control("check.conv.singular = 'ignore'")),
  subject_by_half = lmer(Reaction ~ half + (1 | Subject) + (1 | Subject:half), data = sleep,
                         REML = TRUE, control = tight_control())
)
describe_short <- function(m) {
  list(formula = paste(deparse(formula(m), width.cutoff = 500), collapse = ""),
       nobs = nobs(m), logLik = as.numeric(logLik(m)), singular = isSingular(m),
       n_covariance_parameters = length(getME(m, "theta")),
       fixed_effects = as.list(fixef(m)))
}

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
  models = list(correlated = lapply(fits, describe)),
  short_first_six_REML = describe_short(short_fit),
  half_factor_REML = lapply(half_fits, describe_short)
)
write_exact_json(output, out_path)

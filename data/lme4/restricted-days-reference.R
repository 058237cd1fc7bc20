# lme4 reference values for the analysis that follows the sleep-study design (chapter 4):
# only days 2-9, with days counted from the baseline day 2 (days_restricted = Days - 2).
# Days 0-1 were adaptation and training, day 2 the baseline; restriction began after day 2.
#
# Run from the repository root:
#     Rscript data/lme4/restricted-days-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/restricted-days-reference.json (no date
# or machine path, so a rerun with the same versions gives the same bytes). The optimiser
# settings are those of sleepstudy-reference.R (see README.md for why); they, the data
# check and the JSON writing come from data/lme4/common.R.
#
# Made with R 4.2.2, lme4 1.1-31, minqa, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "restricted-days-reference.json")
sleep <- read_sleepstudy()

restricted <- subset(sleep, Days >= 2)
restricted$days_restricted <- restricted$Days - 2

control <- tight_control()

models <- list(
  restricted_correlated = list(
    formula = Reaction ~ days_restricted + (days_restricted | Subject),
    statsmodels = paste0(
      "smf.mixedlm('Reaction ~ days_restricted', data, groups='Subject', ",
      "re_formula='days_restricted')"
    )
  ),
  restricted_uncorrelated = list(
    formula = Reaction ~ days_restricted + (days_restricted || Subject),
    statsmodels = paste0(
      "smf.mixedlm('Reaction ~ days_restricted', data, groups='Subject', re_formula='1', ",
      "vc_formula={'days_restricted': '0 + days_restricted'})"
    )
  )
)

describe <- function(m) {
  coefs <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(
    reml = isREML(m),
    nobs = nobs(m),
    logLik = as.numeric(logLik(m)),
    minus_two_logLik = -2 * as.numeric(logLik(m)),
    residual_variance = sigma(m)^2,
    singular = isSingular(m),
    fixed_effects = data.frame(
      term = rownames(coefs), estimate = unname(coefs[, "Estimate"]),
      std_error = unname(coefs[, "Std. Error"]), stringsAsFactors = FALSE
    ),
    # vcov: a variance (var2 missing) or a covariance; sdcor: the SD or the correlation.
    variance_components = data.frame(
      group = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov, sdcor = vc$sdcor,
      stringsAsFactors = FALSE
    )
  )
}

results <- lapply(models, function(spec) {
  m <- lmer(spec$formula, data = restricted, REML = TRUE, control = control)
  c(
    list(lme4_formula = paste(deparse(spec$formula), collapse = " "),
         statsmodels_call = spec$statsmodels),
    describe(m)
  )
})

output <- list(
  metadata = list(
    description = paste(
      "lme4 REML fits of the sleepstudy data restricted to days 2-9, with",
      "days_restricted = Days - 2 (0 = baseline day 2, 1-7 = nights of restriction)."
    ),
    regenerate = "Rscript data/lme4/restricted-days-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = packageDescription("lme4")$Version,
    optimizer_call = tight_control_text()
  ),
  models = results
)
write_exact_json(output, out_path)

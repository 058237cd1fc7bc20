# lme4's fits of the crossed rating study (chapter 9), stored as reference values.
#
# Run from the repository's top folder, on Linux with address-space randomisation off:
#     setarch -R Rscript data/lme4/crossed-reference.R
# It reads data/crossed-ratings.csv and writes data/lme4/crossed-reference.json (about
# 5 seconds). Running it again gives the same file byte for byte (checked with R 4.2.2,
# lme4 1.1-31, jsonlite 1.8.4). tests/test_crossed_reference.py compares statsmodels'
# fits with these numbers.
#
# Why setarch -R: lme4's linear algebra takes vectorised code paths that depend on where
# in memory its vectors happen to lie, which changes between runs when addresses are
# randomised. The deviance then differs in the 16th digit, and with a tight tolerance
# the optimiser's path, and so the stored optimum, differs from the 8th digit on. That is
# far below any tolerance that matters, but it breaks byte-for-byte reruns.

source("data/lme4/crossed-common.R")  # ratings, control, formulas
require_fixed_addresses_for("data/lme4/crossed-reference.R")

suppressPackageStartupMessages(library(lme4))
library(jsonlite)

describe <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  # One entry per variance parameter: "group:term" for SDs, "group:term1:term2" for
  # correlations, and "Residual" for the residual SD.
  label <- ifelse(vc$grp == "Residual", "Residual",
                  ifelse(is.na(vc$var2), paste(vc$grp, vc$var1, sep = ":"),
                         paste(vc$grp, vc$var1, vc$var2, sep = ":")))
  out <- list(
    formula = paste(deparse(formula(fit), width.cutoff = 500), collapse = ""),
    REML = isREML(fit),
    fixef = as.list(fixef(fit)),
    se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
    sd_or_cor = as.list(setNames(vc$sdcor, label)),
    variance_or_cov = as.list(setNames(vc$vcov, label)),
    reml_criterion = unname(REMLcrit(fit)),
    logLik = as.numeric(logLik(fit)),
    singular = isSingular(fit),
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages)
  )
  ranef_list <- ranef(fit)
  out$ranef <- lapply(ranef_list, function(r) lapply(as.list(r), function(col) setNames(as.list(col), rownames(r))))
  out
}

# Any warning is recorded in the output instead of scrolling past on the console.
warnings_seen <- character()
record_warnings <- function(expr) {
  withCallingHandlers(expr, warning = function(w) {
    warnings_seen <<- c(warnings_seen, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
}

fits <- lapply(formulas, function(f) {
  record_warnings(lmer(f, data = ratings, REML = TRUE, control = control))
})
result <- list(
  R_version = paste(R.version$major, R.version$minor, sep = "."),
  lme4_version = packageDescription("lme4")$Version,
  data = "data/crossed-ratings.csv",
  optimizer = "bobyqa, rhoend = 1e-12, maxfun = 1e6; REML",
  models = lapply(fits, describe)
)

# Profile intervals for the standard deviations and fixed effects of the model with an
# uncorrelated slope: do they contain the values the data were simulated with? (The
# correlated model's profile for the correlation is ragged with 40 participants, and lme4
# warns about it, so no intervals are stored for that model.)
ci <- record_warnings(confint(fits$crossed_uncorrelated_slope, method = "profile",
                              level = 0.95, oldNames = FALSE))
result$models$crossed_uncorrelated_slope$profile_ci_95 <- lapply(
  setNames(seq_len(nrow(ci)), rownames(ci)),
  function(i) unname(ci[i, ])
)
# The crossed-intercepts model by maximum likelihood, for appendix A's exercise on AIC.
ml_fit <- record_warnings(update(fits$crossed_intercepts, REML = FALSE))
result$models$crossed_intercepts_ML <- list(
  formula = result$models$crossed_intercepts$formula,
  REML = FALSE,
  fixef = as.list(fixef(ml_fit)),
  sd_or_cor = as.list(setNames(as.data.frame(VarCorr(ml_fit))$sdcor,
                               c("participant:(Intercept)", "stimulus:(Intercept)", "Residual"))),
  logLik = as.numeric(logLik(ml_fit)),
  AIC = AIC(ml_fit),
  BIC = BIC(ml_fit)
)

result$warnings <- as.list(unique(warnings_seen))

writeLines(toJSON(result, auto_unbox = TRUE, pretty = TRUE, digits = I(10)),
           "data/lme4/crossed-reference.json")

# Reference values from R's lme4 for the sleepstudy models used in the course.
#
# Run from the repository root:
#     Rscript data/lme4/sleepstudy-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/sleepstudy-reference.json.
# The output holds no date and no machine paths, so a rerun with the same R and package
# versions gives a byte-identical file (data/lme4/README.md says how to check).
# Code it shares with the other sleepstudy scripts (reading and checking the data, the
# optimiser settings, writing exact JSON) is in data/lme4/common.R.
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...
# Attached after lme4, so lmer() below is lmerTest's, as when the JSON file was made.
suppressPackageStartupMessages(library(lmerTest))

out_path <- file.path("data", "lme4", "sleepstudy-reference.json")
sleep <- read_sleepstudy()

# ---- Optimiser -------------------------------------------------------------------------
# lme4's default (nloptwrap with its default tolerances) stops when the criterion changes
# by less than about 1e-8 in relative terms, which leaves the variance parameters correct
# to only 4-5 digits. For reference values we drive BOBYQA (package minqa) to a final
# trust-region radius of 1e-12 on the relative-covariance parameters (theta), and refit
# with a second optimiser (NLopt's BOBYQA with absolute tolerances of 1e-14) to measure
# how far the two disagree: that disagreement is the precision of these reference values.
control_main <- tight_control()
opt_settings <- c(list(optimizer = control_main$optimizer[[1]]), control_main$optCtrl)
check_settings <- list(
  optimizer = "nloptwrap", algorithm = "NLOPT_LN_BOBYQA",
  xtol_abs = 1e-14, ftol_abs = 1e-14, xtol_rel = 0, ftol_rel = 0, maxeval = 100000
)
control_check <- lmerControl(
  optimizer = "nloptwrap",
  optCtrl = list(algorithm = "NLOPT_LN_BOBYQA", xtol_abs = 1e-14, ftol_abs = 1e-14,
                 xtol_rel = 0, ftol_rel = 0, maxeval = 1e5)
)

models <- list(
  intercepts = list(
    formula = Reaction ~ Days + (1 | Subject),
    statsmodels = "smf.mixedlm('Reaction ~ Days', data, groups='Subject')"
  ),
  slopes = list(
    formula = Reaction ~ Days + (0 + Days | Subject),
    statsmodels = "smf.mixedlm('Reaction ~ Days', data, groups='Subject', re_formula='0 + Days')"
  ),
  correlated = list(
    formula = Reaction ~ Days + (Days | Subject),
    statsmodels = "smf.mixedlm('Reaction ~ Days', data, groups='Subject', re_formula='Days')"
  ),
  uncorrelated = list(
    formula = Reaction ~ Days + (Days || Subject),
    statsmodels = paste0(
      "smf.mixedlm('Reaction ~ Days', data, groups='Subject', re_formula='1', ",
      "vc_formula={'Days': '0 + Days'})"
    )
  )
)

# ---- Helpers ---------------------------------------------------------------------------
tidy_frame <- function(frame) {
  rownames(frame) <- NULL
  frame
}

# ---- Fitting ---------------------------------------------------------------------------
fit <- function(formula, reml, control) {
  lmer(formula, data = sleep, REML = reml, control = control)
}

describe_fit <- function(m, m_check) {
  coefs <- summary(m)$coefficients
  fixed <- data.frame(
    term = rownames(coefs),
    estimate = unname(coefs[, "Estimate"]),
    std_error = unname(coefs[, "Std. Error"]),
    t_value = unname(coefs[, "t value"])
  )
  wald <- confint(m, parm = "beta_", method = "Wald", level = 0.95)
  fixed$wald_lower <- unname(wald[, 1])
  fixed$wald_upper <- unname(wald[, 2])

  vcov_fixed <- as.matrix(vcov(m))
  vcov_rows <- expand.grid(term1 = rownames(vcov_fixed), term2 = colnames(vcov_fixed),
                           stringsAsFactors = FALSE)
  vcov_rows$covariance <- as.vector(vcov_fixed)

  vc <- as.data.frame(VarCorr(m))
  varcomp <- data.frame(
    group = vc$grp,
    var1 = ifelse(is.na(vc$var1), NA_character_, vc$var1),
    var2 = ifelse(is.na(vc$var2), NA_character_, vc$var2),
    # vcov: a variance (var2 missing) or a covariance; sdcor: the SD or the correlation.
    vcov = vc$vcov,
    sdcor = vc$sdcor,
    stringsAsFactors = FALSE
  )

  re <- as.data.frame(ranef(m, condVar = TRUE))
  modes <- data.frame(
    subject = as.character(re$grp),
    term = as.character(re$term),
    mode = re$condval,
    cond_sd = re$condsd,
    stringsAsFactors = FALSE
  )
  modes <- modes[order(modes$term, modes$subject), ]

  ll <- logLik(m)
  ll_check <- as.numeric(logLik(m_check))
  theta <- getME(m, "theta")
  theta_check <- getME(m_check, "theta")
  rel_diff <- function(a, b) max(abs(a - b) / pmax(abs(a), 1e-300))

  list(
    reml = isREML(m),
    nobs = nobs(m),
    n_parameters = attr(ll, "df"),
    logLik = as.numeric(ll),
    # For a REML fit this is the REML criterion, -2 * REML log-likelihood.
    minus_two_logLik = -2 * as.numeric(ll),
    AIC = AIC(m),
    BIC = BIC(m),
    sigma = sigma(m),
    residual_variance = sigma(m)^2,
    theta = as.list(unname(theta)),
    theta_names = as.list(names(theta)),
    singular = isSingular(m),
    fixed_effects = tidy_frame(fixed),
    vcov_fixed = tidy_frame(vcov_rows),
    variance_components = tidy_frame(varcomp),
    conditional_modes = tidy_frame(modes),
    optimizer_check = list(
      note = paste(
        "Largest relative differences between this fit and a refit with the check",
        "optimiser: an estimate of how precisely the optimum is known."
      ),
      logLik_rel_diff = rel_diff(as.numeric(ll), ll_check),
      theta_rel_diff = rel_diff(theta, theta_check),
      sigma_rel_diff = rel_diff(sigma(m), sigma(m_check)),
      fixed_effects_rel_diff = rel_diff(fixef(m), fixef(m_check))
    )
  )
}

fits <- list()
results <- list()
for (name in names(models)) {
  results[[name]] <- list(
    lme4_formula = paste(deparse(models[[name]]$formula), collapse = " "),
    statsmodels_call = models[[name]]$statsmodels
  )
  for (method in c("REML", "ML")) {
    reml <- method == "REML"
    m <- fit(models[[name]]$formula, reml, control_main)
    m_check <- fit(models[[name]]$formula, reml, control_check)
    fits[[name]][[method]] <- m
    results[[name]][[method]] <- describe_fit(m, m_check)
  }
}

# ---- Likelihood-ratio tests (ML fits, as anova() does) --------------------------------
comparisons <- list(
  c("intercepts", "correlated"),
  c("uncorrelated", "correlated"),
  c("slopes", "correlated"),
  c("intercepts", "uncorrelated")
)
lrt <- do.call(rbind, lapply(comparisons, function(pair) {
  small <- fits[[pair[1]]]$ML
  big <- fits[[pair[2]]]$ML
  ll_small <- logLik(small)
  ll_big <- logLik(big)
  chisq <- 2 * (as.numeric(ll_big) - as.numeric(ll_small))
  df <- attr(ll_big, "df") - attr(ll_small, "df")
  # anova() refits the REML models by ML itself (with its own optimiser settings); it
  # must agree with the statistic from our tightly converged ML fits.
  av <- suppressMessages(anova(fits[[pair[1]]]$REML, fits[[pair[2]]]$REML))
  stopifnot(abs(av$Chisq[2] - chisq) < 1e-4, av$Df[2] == df)
  data.frame(
    reduced = pair[1], full = pair[2],
    logLik_reduced = as.numeric(ll_small), logLik_full = as.numeric(ll_big),
    chisq = chisq, df = df,
    p_value = pchisq(chisq, df = df, lower.tail = FALSE),
    anova_chisq = av$Chisq[2],
    stringsAsFactors = FALSE
  )
}))

# ---- Profile confidence intervals for the correlated model ----------------------------
profile_ci <- function(m) {
  ci <- suppressMessages(confint(m, method = "profile", level = 0.95, oldNames = FALSE))
  data.frame(parameter = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]),
             stringsAsFactors = FALSE)
}
ci_from_reml <- profile_ci(fits$correlated$REML)
ci_from_ml <- profile_ci(fits$correlated$ML)
# profile() refits a REML model by ML before profiling (lme4:::devfun2 calls refitML), so
# both give the same intervals up to the precision of the profile itself.
stopifnot(max(abs(ci_from_reml$lower - ci_from_ml$lower) / abs(ci_from_ml$lower)) < 1e-5,
          max(abs(ci_from_reml$upper - ci_from_ml$upper) / abs(ci_from_ml$upper)) < 1e-5)
profile_intervals <- list(
  note = paste(
    "confint(fit, method = 'profile', level = 0.95, oldNames = FALSE) on the REML fit of",
    "the correlated model. lme4 profiles the ML deviance even for a REML fit (profile()",
    "refits by ML first), so these are ML profile intervals; confint() on the ML fit gives",
    "the same values to within 1e-5 (checked). The random-effect parameters are on lme4's",
    "reporting scale: standard deviations (sd_...), the intercept-slope correlation",
    "(cor_...) and the residual SD (sigma), not variances. Endpoints are interpolated by",
    "splines through the computed profile, so trust them to about 4-5 significant digits."
  ),
  correlated = tidy_frame(ci_from_reml)
)

# ---- Satterthwaite and Kenward-Roger tests from lmerTest ------------------------------
denominator_df <- function(m, ddf) {
  # lmerTest needs a fit whose call it can re-evaluate, so refit through lmerTest::lmer
  # with the same settings; the estimates must not move.
  m_test <- lmerTest::lmer(formula(m), data = sleep, REML = isREML(m), control = control_main)
  stopifnot(isTRUE(all.equal(fixef(m_test), fixef(m), tolerance = 1e-12)))
  s <- summary(m_test, ddf = ddf)$coefficients
  data.frame(
    term = rownames(s), estimate = unname(s[, "Estimate"]),
    std_error = unname(s[, "Std. Error"]), df = unname(s[, "df"]),
    t_value = unname(s[, "t value"]), p_value = unname(s[, "Pr(>|t|)"]),
    stringsAsFactors = FALSE
  )
}
small_sample_tests <- list(
  note = paste(
    "lmerTest::lmer() refits of the REML models; summary(..., ddf = 'Satterthwaite')",
    "and summary(..., ddf = 'Kenward-Roger') (the latter via pbkrtest). t tests of the",
    "fixed effects with approximate denominator degrees of freedom."
  ),
  correlated_REML_satterthwaite = tidy_frame(denominator_df(fits$correlated$REML, "Satterthwaite")),
  correlated_REML_kenward_roger = tidy_frame(denominator_df(fits$correlated$REML, "Kenward-Roger")),
  intercepts_REML_satterthwaite = tidy_frame(denominator_df(fits$intercepts$REML, "Satterthwaite"))
)

# ---- Metadata and output ---------------------------------------------------------------
metadata <- list(
  description = paste(
    "Reference values from R's lme4 for the sleepstudy models of the course, for checking",
    "statsmodels' MixedLM. See data/lme4/README.md for the meaning of every quantity."
  ),
  regenerate = "Rscript data/lme4/sleepstudy-reference.R  (from the repository root)",
  data_file = sleepstudy_path,
  data_md5 = unname(tools::md5sum(sleepstudy_path)),
  R_version = R.version.string,
  lme4_version = packageDescription("lme4")$Version,
  lmerTest_version = packageDescription("lmerTest")$Version,
  pbkrtest_version = packageDescription("pbkrtest")$Version,
  Matrix_version = packageDescription("Matrix")$Version,
  minqa_version = packageDescription("minqa")$Version,
  nloptr_version = packageDescription("nloptr")$Version,
  jsonlite_version = packageDescription("jsonlite")$Version,
  optimizer = opt_settings,
  optimizer_call = tight_control_text(),
  check_optimizer = check_settings,
  number_format = "Shortest decimal that reads back as the identical IEEE double.",
  subject_order = levels(sleep$Subject)
)

output <- list(
  metadata = metadata,
  models = results,
  likelihood_ratio_tests = list(
    note = paste(
      "Each pair compared by ML fits, as anova() does: chisq = 2 * (logLik_full -",
      "logLik_reduced), df = difference in the number of parameters, p from the",
      "chi-square distribution. Tests of a variance against zero lie on the boundary of",
      "the parameter space, so these p-values are conservative. anova_chisq is anova()'s",
      "own statistic (it refits by ML with lme4's default optimiser)."
    ),
    tests = tidy_frame(lrt)
  ),
  profile_intervals = profile_intervals,
  small_sample_tests = small_sample_tests
)

write_exact_json(output, out_path)

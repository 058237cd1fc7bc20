# lme4 reference values for chapter 12, "Modelling time": the choice of origin for Days,
# a piecewise model (flat over the training days 0-1, linear in nights of restriction from
# the baseline day 2), and Days as a categorical factor.
#
# Run from the repository root:
#     setarch -R Rscript data/lme4/modelling-time-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/modelling-time-reference.json (no date
# or machine path, so a rerun with the same versions gives the same bytes). Optimiser
# settings, the data check and the JSON writing come from data/lme4/common.R; setarch -R
# keeps lme4's rounding the same from run to run (see crossed-reference.R).
#
# Made with R 4.2.2, lme4 1.1-31, pbkrtest, minqa, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...
require_fixed_addresses("data/lme4/modelling-time-reference.R")
suppressPackageStartupMessages(library(pbkrtest))

out_path <- file.path("data", "lme4", "modelling-time-reference.json")
sleep <- read_sleepstudy()
# The piecewise model's two terms: training = 1 on the adaptation and training days 0-1,
# nights = nights of restriction before the test (0 on days 0-2, 1-7 on days 3-9).
sleep$training <- as.numeric(sleep$Days <= 1)
sleep$nights <- pmax(sleep$Days - 2, 0)
sleep$day_factor <- factor(sleep$Days)

control <- tight_control()

describe <- function(m) {
  coefs <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(
    formula = paste(deparse(formula(m)), collapse = " "),
    reml = isREML(m),
    nobs = nobs(m),
    logLik = as.numeric(logLik(m)),
    n_parameters = attr(logLik(m), "df"),
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

fit <- function(formula, data = sleep, reml = TRUE) {
  lmer(formula, data = data, REML = reml, control = control)
}

# ---- 1. The origin of Days ------------------------------------------------------------
shifted <- function(origin) transform(sleep, t = Days - origin)
origins <- c(0, 2, 4.5)
correlated <- lapply(origins, function(origin) {
  c(list(origin = origin), describe(fit(Reaction ~ t + (t | Subject), shifted(origin))))
})
names(correlated) <- paste0("origin_", origins)
uncorrelated <- lapply(origins, function(origin) {
  c(list(origin = origin), describe(fit(Reaction ~ t + (t || Subject), shifted(origin))))
})
names(uncorrelated) <- paste0("origin_", origins)

# Time in weeks from day 0 (a change of unit, not of origin): used by an exercise.
weeks <- transform(sleep, t = Days / 7)
weeks_REML <- list(
  correlated = describe(fit(Reaction ~ t + (t | Subject), weeks)),
  uncorrelated = describe(fit(Reaction ~ t + (t || Subject), weeks))
)

# The origin at which the correlated model's intercept-slope covariance is zero:
# tau01 + c tau11 = 0, so c = -tau01 / tau11 (from the fit with origin day 0).
tau <- VarCorr(fit(Reaction ~ t + (t | Subject), shifted(0)))$Subject
zero_correlation_origin <- -tau[1, 2] / tau[2, 2]

# The uncorrelated model's REML log-likelihood on a grid of origins.
grid <- c(seq(-1, 10, by = 0.5), zero_correlation_origin)
uncorrelated_grid <- data.frame(origin = grid, logLik = NA_real_, intercept_variance = NA_real_,
                                slope_variance = NA_real_)
for (i in seq_along(grid)) {
  m <- fit(Reaction ~ t + (t || Subject), shifted(grid[i]))
  vc <- as.data.frame(VarCorr(m))
  uncorrelated_grid$logLik[i] <- as.numeric(logLik(m))
  uncorrelated_grid$intercept_variance[i] <- vc$vcov[vc$var1 == "(Intercept)" & !is.na(vc$var1)]
  uncorrelated_grid$slope_variance[i] <- vc$vcov[vc$var1 == "t" & !is.na(vc$var1)]
}

# ---- 2. Piecewise: flat over days 0-1, linear in nights from the baseline ---------------
piecewise <- list(
  REML = describe(fit(Reaction ~ training + nights + (nights | Subject))),
  ML = describe(fit(Reaction ~ training + nights + (nights | Subject), reml = FALSE)),
  # Days 0-2 share one level (no training term): used by an exercise.
  flat_to_baseline_REML = describe(fit(Reaction ~ nights + (nights | Subject))),
  flat_to_baseline_ML = describe(fit(Reaction ~ nights + (nights | Subject), reml = FALSE)),
  # A random training effect: a subject's deviation may differ between training and baseline.
  relaxed_REML = describe(fit(Reaction ~ training + nights + (training + nights | Subject)))
)
# The shared random intercept against the relaxed model: same fixed effects, so REML fits
# (refit = FALSE). Three covariance parameters more, one of them a variance on the boundary
# under the null, so the chi-square(3) p-value is conservative.
shared_vs_relaxed <- anova(
  fit(Reaction ~ training + nights + (nights | Subject)),
  fit(Reaction ~ training + nights + (training + nights | Subject)),
  refit = FALSE
)
piecewise$shared_vs_relaxed_REML <- list(
  reduced = "Reaction ~ training + nights + (nights | Subject)",
  full = "Reaction ~ training + nights + (training + nights | Subject)",
  chisq = shared_vs_relaxed$Chisq[2], df = shared_vs_relaxed$Df[2],
  p_value = shared_vs_relaxed[["Pr(>Chisq)"]][2]
)

# ---- 3. Days as a factor ---------------------------------------------------------------
day_means <- list(
  intercepts_REML = describe(fit(Reaction ~ 0 + day_factor + (1 | Subject))),
  intercepts_slopes_REML = describe(fit(Reaction ~ 0 + day_factor + (Days | Subject))),
  # The piecewise model's random part, to compare the two within one random part.
  intercepts_nights_REML = describe(fit(Reaction ~ 0 + day_factor + (nights | Subject)))
)

# The change from the baseline (day 2) to day 9, with its SE, from the factor model (the
# difference of two daily means) and from the piecewise model (7 x the nights slope), each
# with two random parts; and without a model, from the subjects' own differences.
change_9_2 <- function(m) {
  if ("nights" %in% names(fixef(m))) {
    k <- setNames(rep(0, length(fixef(m))), names(fixef(m)))
    k["nights"] <- 7
  } else {
    k <- setNames(rep(0, length(fixef(m))), names(fixef(m)))
    k["day_factor9"] <- 1
    k["day_factor2"] <- -1
  }
  list(formula = paste(deparse(formula(m)), collapse = " "),
       estimate = sum(k * fixef(m)), std_error = sqrt(drop(t(k) %*% as.matrix(vcov(m)) %*% k)))
}
paired <- sleep$Reaction[sleep$Days == 9] - sleep$Reaction[sleep$Days == 2]
stopifnot(identical(sleep$Subject[sleep$Days == 9], sleep$Subject[sleep$Days == 2]))
day9_minus_day2 <- list(
  factor_days = change_9_2(fit(Reaction ~ 0 + day_factor + (Days | Subject))),
  factor_nights = change_9_2(fit(Reaction ~ 0 + day_factor + (nights | Subject))),
  piecewise_days = change_9_2(fit(Reaction ~ training + nights + (Days | Subject))),
  piecewise_nights = change_9_2(fit(Reaction ~ training + nights + (nights | Subject))),
  paired = list(estimate = mean(paired), std_error = sd(paired) / sqrt(length(paired)))
)

ml <- list(
  linear_intercepts = fit(Reaction ~ Days + (1 | Subject), reml = FALSE),
  factor_intercepts = fit(Reaction ~ day_factor + (1 | Subject), reml = FALSE),
  linear_slopes = fit(Reaction ~ Days + (Days | Subject), reml = FALSE),
  factor_slopes = fit(Reaction ~ day_factor + (Days | Subject), reml = FALSE),
  piecewise_slopes = fit(Reaction ~ training + nights + (Days | Subject), reml = FALSE)
)
lrt <- function(reduced, full) {
  chisq <- 2 * (as.numeric(logLik(ml[[full]])) - as.numeric(logLik(ml[[reduced]])))
  df <- attr(logLik(ml[[full]]), "df") - attr(logLik(ml[[reduced]]), "df")
  a <- anova(ml[[reduced]], ml[[full]])
  stopifnot(abs(a$Chisq[2] - chisq) < 1e-4)
  list(reduced = reduced, full = full, chisq = chisq, df = df,
       p_value = pchisq(chisq, df, lower.tail = FALSE))
}
likelihood_ratio_tests <- list(
  linear_vs_factor_intercepts = lrt("linear_intercepts", "factor_intercepts"),
  linear_vs_factor_slopes = lrt("linear_slopes", "factor_slopes"),
  piecewise_vs_factor_slopes = lrt("piecewise_slopes", "factor_slopes")
)

# Kenward-Roger F test of the same comparison (REML fits), for the small-sample caveat.
kr <- KRmodcomp(fit(Reaction ~ day_factor + (Days | Subject)), fit(Reaction ~ Days + (Days | Subject)))
kenward_roger <- list(
  full = "Reaction ~ day_factor + (Days | Subject)", reduced = "Reaction ~ Days + (Days | Subject)",
  F = kr$test["Ftest", "stat"], ndf = kr$test["Ftest", "ndf"], ddf = kr$test["Ftest", "ddf"],
  p_value = kr$test["Ftest", "p.value"]
)

# A random effect per subject and day cannot be told apart from the residual: lme4 refuses.
maximal_factor_error <- tryCatch(
  {
    fit(Reaction ~ day_factor + (day_factor | Subject))
    NA_character_
  },
  error = function(e) conditionMessage(e)
)

output <- list(
  metadata = list(
    description = paste(
      "lme4 fits of the sleepstudy data for chapter 12: Days shifted to three origins",
      "(t = Days - origin), the uncorrelated model on a grid of origins, a piecewise model",
      "(training = Days <= 1, nights = max(Days - 2, 0)) and Days as a factor."
    ),
    regenerate = "setarch -R Rscript data/lme4/modelling-time-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = packageDescription("lme4")$Version,
    pbkrtest_version = packageDescription("pbkrtest")$Version,
    optimizer_call = tight_control_text()
  ),
  origin = list(
    correlated_REML = correlated,
    uncorrelated_REML = uncorrelated,
    zero_correlation_origin = zero_correlation_origin,
    uncorrelated_REML_grid = uncorrelated_grid,
    weeks_REML = weeks_REML
  ),
  piecewise = piecewise,
  day_means = day_means,
  ml_fits = lapply(ml, describe),
  likelihood_ratio_tests = likelihood_ratio_tests,
  kenward_roger = kenward_roger,
  maximal_factor_error = maximal_factor_error,
  day9_minus_day2 = day9_minus_day2
)
write_exact_json(output, out_path)

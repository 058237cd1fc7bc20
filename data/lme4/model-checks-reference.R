# lme4 and nlme reference values for the model checks of chapters 5 and 8 and for
# course.singular_fit_check(): lme4's theta and isSingular() for several fits (singular and
# not), the lag-1 autocorrelation of the correlated model's conditional residuals, nlme's
# fit of the same model with AR(1) residuals within a subject, and the leave-one-subject-out
# refits of the correlated model.
#
# Run from the repository root:
#     Rscript data/lme4/model-checks-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/model-checks-reference.json (no dates
# or paths inside). About half a minute, most of it profiling nlme's AR(1) parameter.
# Made with R 4.2.2, lme4 1.1-31, nlme 3.1-162 and jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), exact()
suppressPackageStartupMessages(library(nlme))

out_path <- file.path("data", "lme4", "model-checks-reference.json")
sleep <- read_sleepstudy()
control <- tight_control("check.conv.singular = 'ignore'")

# ---- Singular fits: theta and isSingular() ----------------------------------------------
# theta: the entries of the relative Cholesky factor (lower triangle, column by column, of
# each random-effects term), the unit-free parameters lme4 optimises. isSingular() flags a
# fit when a theta with lower bound 0 (a diagonal entry) is below tol = 1e-4. The smallest
# eigenvalue of the relative covariance (all terms of the fit together, divided by
# sigma^2) is stored too.
pilot <- droplevels(sleep[sleep$Subject %in% c("308", "309", "310"), ])
# Each subject's mean reaction time moved to the grand mean: no variation of the
# intercepts is left, so the intercept variance is estimated as 0 (a zero variance, not
# a correlation of +-1).
centred <- transform(sleep, Reaction = Reaction - ave(Reaction, Subject) + mean(Reaction))
seconds <- transform(sleep, Reaction = Reaction / 1000)
singular_case <- function(formula, data, data_name) {
  m <- lmer(formula, data, REML = TRUE, control = control)
  relative <- lapply(VarCorr(m), function(v) {
    v <- as.matrix(v); attributes(v)[c("stddev", "correlation")] <- NULL; v
  })
  relative <- as.matrix(Matrix::bdiag(relative)) / sigma(m)^2
  list(formula = paste(deparse(formula), collapse = " "), data = data_name, nobs = nobs(m),
       theta = unname(getME(m, "theta")), theta_names = names(getME(m, "theta")),
       diagonal = unname(getME(m, "lower") == 0),  # lower bound 0: a diagonal entry
       is_singular = isSingular(m, tol = 1e-4),
       min_eigenvalue = min(eigen(relative, symmetric = TRUE, only.values = TRUE)$values),
       sigma = sigma(m), logLik = as.numeric(logLik(m)))
}
singular <- list(
  sleepstudy_correlated = singular_case(Reaction ~ Days + (Days | Subject), sleep, "sleepstudy"),
  seconds_correlated = singular_case(Reaction ~ Days + (Days | Subject), seconds,
                                     "sleepstudy, Reaction / 1000 (seconds)"),
  sleepstudy_uncorrelated = singular_case(Reaction ~ Days + (Days || Subject), sleep,
                                          "sleepstudy"),
  sleepstudy_intercepts = singular_case(Reaction ~ Days + (1 | Subject), sleep, "sleepstudy"),
  pilot_correlated = singular_case(Reaction ~ Days + (Days | Subject), pilot,
                                   "sleepstudy, subjects 308, 309, 310"),
  pilot_uncorrelated = singular_case(Reaction ~ Days + (Days || Subject), pilot,
                                     "sleepstudy, subjects 308, 309, 310"),
  centred_uncorrelated = singular_case(Reaction ~ Days + (Days || Subject), centred,
                                       "sleepstudy, subject means moved to the grand mean"))

# ---- Serial correlation of the residuals -------------------------------------------------
full <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE, control = control)
# Pooled lag-1 autocorrelation of the conditional residuals: the sum over subjects of
# e[t] * e[t - 1] over the sum of e[t]^2 (the usual ACF estimator, pooled; the residuals of
# a model with an intercept per subject have mean 0 within each subject only roughly, so
# no means are subtracted).
r <- residuals(full)
ordered <- order(sleep$Subject, sleep$Days)
pairs <- do.call(rbind, lapply(split(data.frame(e = r[ordered], s = sleep$Subject[ordered]),
                                     sleep$Subject[ordered]),
                               function(d) cbind(d$e[-1], d$e[-nrow(d)])))
lag1 <- sum(pairs[, 1] * pairs[, 2]) / sum(r^2)

# nlme: the same model by REML, with and without AR(1) residuals within a subject. With
# AR(1) errors the maximum lies on the boundary (the intercept-slope correlation of the
# random effects goes to 1), where nlme's optimisers stop short: the default (nlminb)
# fails with an error, and optim's BFGS, fitting phi with the rest, stops about 0.035
# log-likelihood units below the maximum (stored as `free_fit_bfgs`). So phi is
# profiled: for each phi the model is fitted with phi fixed (optim's L-BFGS-B, which
# reaches the boundary), optimize() finds the phi with the largest REML log-likelihood,
# and the 95% interval is where the profile log-likelihood is within qchisq(0.95, 1) / 2
# of the maximum. L-BFGS-B's own tolerance leaves about 1e-3 in the log-likelihood.
optim_control <- function(method) {
  lmeControl(opt = "optim", optimMethod = method, msMaxIter = 1000)
}
no_ar1 <- lme(Reaction ~ Days, random = ~ Days | Subject, data = sleep, method = "REML",
              control = optim_control("BFGS"))
fit_at_phi <- function(phi) {
  # L-BFGS-B warns that it uses factr and pgtol instead of reltol: expected.
  suppressWarnings(update(no_ar1, correlation = corAR1(phi, form = ~ Days | Subject,
                                                       fixed = TRUE),
                          control = optim_control("L-BFGS-B")))
}
profile_logLik <- function(phi) as.numeric(logLik(fit_at_phi(phi)))
best <- optimize(profile_logLik, c(0, 0.95), maximum = TRUE, tol = 1e-6)
cut <- best$objective - qchisq(0.95, 1) / 2
phi_interval <- c(
  uniroot(function(p) profile_logLik(p) - cut, c(0, best$maximum))$root,
  uniroot(function(p) profile_logLik(p) - cut, c(best$maximum, 0.95))$root)
ar1 <- fit_at_phi(best$maximum)
free_bfgs <- update(no_ar1, correlation = corAR1(form = ~ Days | Subject))
re_correlation <- function(m) {
  v <- unclass(getVarCov(m))  # the random effects' covariance, unrounded
  v[1, 2] / sqrt(v[1, 1] * v[2, 2])
}
ar1_table <- summary(ar1)$tTable
lr <- 2 * (best$objective - as.numeric(logLik(no_ar1)))
serial <- list(
  lme4_lag1_autocorrelation = lag1,
  lag1_pairs = nrow(pairs),
  nlme = list(
    random = "~ Days | Subject", method = "REML",
    correlation = "corAR1(form = ~ Days | Subject)",
    phi = best$maximum,
    phi_profile_interval_95 = phi_interval,
    logLik_without_ar1 = as.numeric(logLik(no_ar1)),
    logLik_with_ar1 = best$objective,
    lrt_statistic = lr, lrt_df = 1,
    lrt_p_value = pchisq(lr, df = 1, lower.tail = FALSE),
    random_effects_correlation_without_ar1 = re_correlation(no_ar1),
    random_effects_correlation_with_ar1 = re_correlation(ar1),
    fixed_effects_with_ar1 = as.list(ar1_table[, "Value"]),
    std_error_with_ar1 = as.list(ar1_table[, "Std.Error"]),
    fixed_effects_without_ar1 = as.list(fixef(no_ar1)),
    std_error_without_ar1 = as.list(summary(no_ar1)$tTable[, "Std.Error"]),
    sigma_with_ar1 = ar1$sigma,
    free_fit_bfgs = list(
      phi = as.numeric(coef(free_bfgs$modelStruct$corStruct, unconstrained = FALSE)),
      logLik = as.numeric(logLik(free_bfgs)),
      random_effects_correlation = re_correlation(free_bfgs))))

# ---- Leave one subject out ---------------------------------------------------------------
# The correlated model refitted without each subject in turn. dfbetas follows Belsley et
# al. and influence.ME: (full estimate - estimate without the subject) / standard error
# without the subject. cooks_distance: the change in both fixed effects, measured in the
# full fit's covariance of the fixed effects, divided by their number (2).
beta <- fixef(full)
vcov_full <- as.matrix(vcov(full))
subjects <- levels(sleep$Subject)
loo <- lapply(subjects, function(s) {
  m <- lmer(Reaction ~ Days + (Days | Subject), droplevels(sleep[sleep$Subject != s, ]),
            REML = TRUE, control = control)
  b <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  d <- beta - b
  list(subject = s, fixed_effects = as.list(b), std_error = as.list(se),
       dfbetas = as.list(d / se),
       cooks_distance = as.numeric(t(d) %*% solve(vcov_full, d)) / length(b),
       sigma = sigma(m), singular = isSingular(m))
})
names(loo) <- subjects

write_exact_json(list(
  metadata = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  nlme = as.character(packageVersion("nlme")),
                  control = tight_control_text("check.conv.singular = 'ignore'"),
                  regenerate = "Rscript data/lme4/model-checks-reference.R"),
  singular_fits = singular,
  serial_correlation = serial,
  leave_one_subject_out = list(
    formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE,
    full_fixed_effects = as.list(beta),
    full_std_error = as.list(sqrt(diag(vcov_full))),
    subjects = loo)), out_path)

# lme4 and nlme reference values for the model checks of chapters 5 and 8 and for
# course.singular_fit_check(): lme4's theta and isSingular() for several fits (singular and
# not), the lag-1 autocorrelation of the correlated model's conditional residuals, nlme's
# fit of the same model with AR(1) residuals within a subject, and the leave-one-subject-out
# refits of the correlated model.
#
# Run from the repository root:
#     Rscript data/lme4/model-checks-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/model-checks-reference.json (no dates
# or paths inside). A few seconds. Made with R 4.2.2, lme4 1.1-31, nlme and jsonlite
# (Debian packages).

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

# nlme: the same model by REML, with and without AR(1) residuals within a subject.
no_ar1 <- lme(Reaction ~ Days, random = ~ Days | Subject, data = sleep, method = "REML",
              control = lmeControl(opt = "optim", msMaxIter = 1000))
ar1 <- update(no_ar1, correlation = corAR1(form = ~ Days | Subject))
comparison <- anova(no_ar1, ar1)
phi_interval <- intervals(ar1, which = "var-cov")$corStruct
ar1_table <- summary(ar1)$tTable
serial <- list(
  lme4_lag1_autocorrelation = lag1,
  lag1_pairs = nrow(pairs),
  nlme = list(
    random = "~ Days | Subject", method = "REML",
    correlation = "corAR1(form = ~ Days | Subject)",
    phi = as.numeric(coef(ar1$modelStruct$corStruct, unconstrained = FALSE)),
    phi_interval_95 = unname(phi_interval[1, c("lower", "upper")]),
    logLik_without_ar1 = as.numeric(logLik(no_ar1)),
    logLik_with_ar1 = as.numeric(logLik(ar1)),
    lrt_statistic = comparison$L.Ratio[2], lrt_df = 1,
    lrt_p_value = comparison$`p-value`[2],
    AIC_without_ar1 = AIC(no_ar1), AIC_with_ar1 = AIC(ar1),
    fixed_effects_with_ar1 = as.list(ar1_table[, "Value"]),
    std_error_with_ar1 = as.list(ar1_table[, "Std.Error"]),
    fixed_effects_without_ar1 = as.list(fixef(no_ar1)),
    std_error_without_ar1 = as.list(summary(no_ar1)$tTable[, "Std.Error"]),
    sigma_with_ar1 = ar1$sigma))

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

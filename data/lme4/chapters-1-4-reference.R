# Reference values for statements in chapters 1, 2 and 4 that sleepstudy-reference.json
# does not hold: the per-subject-slope t-test against lmerTest's Satterthwaite test, the
# cluster-robust standard error of the OLS slope (with and without its small-sample
# correction), the adjusted and unadjusted ICC of the random-intercept model, lme4's
# default (not tightened) ML fit of that model, the daily means and the day 0 to 1 change.
#
# Run from the repository root:
#     Rscript data/lme4/chapters-1-4-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/chapters-1-4-reference.json (no date
# or machine path, so a rerun with the same versions gives the same bytes).
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...
suppressPackageStartupMessages(library(lmerTest))

out_path <- file.path("data", "lme4", "chapters-1-4-reference.json")
sleep <- read_sleepstudy()
control <- tight_control()
subjects <- levels(sleep$Subject)

# ---- Chapter 1: the average of the per-subject slopes ----------------------------------
slopes <- sapply(subjects, function(s) {
  coef(lm(Reaction ~ Days, data = subset(sleep, Subject == s)))[["Days"]]
})
slope_test <- t.test(slopes, mu = 0)
maximal <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), data = sleep, REML = TRUE,
                          control = control)
satterthwaite <- summary(maximal, ddf = "Satterthwaite")$coefficients["Days", ]

# ---- Chapter 1: cluster-robust SE of the OLS slope, by hand ----------------------------
# Liang-Zeger sandwich (X'X)^-1 (sum_g X_g' e_g e_g' X_g) (X'X)^-1 (CR0), and CR1, the
# same times G/(G-1) * (N-1)/(N-K), the correction statsmodels applies by default.
ols <- lm(Reaction ~ Days, data = sleep)
X <- model.matrix(ols)
e <- residuals(ols)
bread <- solve(crossprod(X))
meat <- Reduce(`+`, lapply(subjects, function(s) {
  rows <- sleep$Subject == s
  score <- crossprod(X[rows, , drop = FALSE], e[rows])
  score %*% t(score)
}))
n <- nrow(X); k <- ncol(X); g <- length(subjects)
cr0 <- bread %*% meat %*% bread
correction <- g / (g - 1) * (n - 1) / (n - k)
cr1 <- correction * cr0
se_cr1 <- sqrt(cr1[2, 2])
z <- coef(ols)[["Days"]] / se_cr1

# ---- Chapter 2: adjusted and unadjusted ICC (Nakagawa, Johnson & Schielzeth 2017) -------
intercepts <- lme4::lmer(Reaction ~ Days + (1 | Subject), data = sleep, REML = TRUE,
                         control = control)
tau2 <- as.numeric(VarCorr(intercepts)$Subject)
sigma2 <- sigma(intercepts)^2
# Variance of the fixed-effect predictions X beta across the rows (var() divides by n - 1).
var_fixed <- var(as.vector(model.matrix(intercepts) %*% fixef(intercepts)))

# ---- Chapter 2: lme4's default ML fit (no tightened optimiser) --------------------------
ml_default <- lme4::lmer(Reaction ~ Days + (1 | Subject), data = sleep, REML = FALSE)
ml_tight <- lme4::lmer(Reaction ~ Days + (1 | Subject), data = sleep, REML = FALSE,
                       control = control)

# ---- Chapter 4: days 0-2 --------------------------------------------------------------
wide <- reshape(sleep, idvar = "Subject", timevar = "Days", direction = "wide")
day1_minus_day0 <- wide$Reaction.1 - wide$Reaction.0
training_test <- t.test(day1_minus_day0, mu = 0)

output <- list(
  metadata = list(
    description = paste(
      "Reference values for chapters 1, 2 and 4 of the course (see data/lme4/README.md)."
    ),
    regenerate = "Rscript data/lme4/chapters-1-4-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = packageDescription("lme4")$Version,
    lmerTest_version = packageDescription("lmerTest")$Version,
    optimizer_call = tight_control_text()
  ),
  per_subject_slopes = list(
    mean = mean(slopes), sd = sd(slopes), std_error = sd(slopes) / sqrt(length(slopes)),
    t_value = unname(slope_test$statistic), df = unname(slope_test$parameter),
    p_value = slope_test$p.value
  ),
  maximal_REML_satterthwaite_Days = list(
    formula = "Reaction ~ Days + (Days | Subject)",
    estimate = unname(satterthwaite[["Estimate"]]),
    std_error = unname(satterthwaite[["Std. Error"]]),
    df = unname(satterthwaite[["df"]]), t_value = unname(satterthwaite[["t value"]]),
    p_value = unname(satterthwaite[["Pr(>|t|)"]])
  ),
  ols_Days = list(
    estimate = coef(ols)[["Days"]],
    std_error = sqrt(vcov(ols)[2, 2]),
    cluster_robust_CR0_std_error = sqrt(cr0[2, 2]),
    cluster_robust_CR1_std_error = se_cr1,
    CR1_correction_factor = correction,
    n_clusters = g,
    CR1_normal_p_value = 2 * pnorm(-abs(z)),
    CR1_t_p_value_df_clusters_minus_1 = 2 * pt(-abs(z), df = g - 1)
  ),
  intercepts_REML_icc = list(
    subject_variance = tau2, residual_variance = sigma2, fixed_effects_variance = var_fixed,
    var_Reaction = var(sleep$Reaction),
    adjusted_icc = tau2 / (tau2 + sigma2),
    unadjusted_icc = tau2 / (var_fixed + tau2 + sigma2),
    subject_variance_over_var_Reaction = tau2 / var(sleep$Reaction)
  ),
  intercepts_ML_default_control = list(
    subject_variance = as.numeric(VarCorr(ml_default)$Subject),
    residual_variance = sigma(ml_default)^2,
    logLik = as.numeric(logLik(ml_default)),
    tight_subject_variance = as.numeric(VarCorr(ml_tight)$Subject),
    tight_logLik = as.numeric(logLik(ml_tight))
  ),
  days_0_to_2 = list(
    mean_day_0 = mean(wide$Reaction.0), mean_day_1 = mean(wide$Reaction.1),
    mean_day_2 = mean(wide$Reaction.2),
    day1_minus_day0_mean = mean(day1_minus_day0),
    day1_minus_day0_std_error = sd(day1_minus_day0) / sqrt(length(day1_minus_day0)),
    day1_minus_day0_t_value = unname(training_test$statistic),
    day1_minus_day0_p_value = training_test$p.value,
    day1_minus_day0_conf_int_95 = unname(training_test$conf.int),
    subjects_slower_on_day_1 = sum(day1_minus_day0 > 0),
    mean_by_day = unname(as.vector(tapply(sleep$Reaction, sleep$Days, mean)))
  )
)
write_exact_json(output, out_path)

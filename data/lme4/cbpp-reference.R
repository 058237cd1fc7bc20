# Reference values for chapter 10 (binomial mixed model and GEE on the cbpp data).
#
# Rerun from the repository root with
#     Rscript data/lme4/cbpp-reference.R
# It reads data/cbpp.csv (the course's copy of lme4's cbpp) and writes
# data/lme4/cbpp-reference.json. Numbers are rounded to 8 significant digits, so a
# rerun with the same R and package versions reproduces the file byte for byte.
# Made with R 4.2.2, lme4 1.1-31, geepack 1.3.9, jsonlite (Debian packages).

suppressPackageStartupMessages({
  library(lme4)
  library(geepack)
  library(jsonlite)
})

cbpp_csv <- read.csv("data/cbpp.csv", colClasses = c("character", "integer", "integer", "character"))
cbpp_csv$herd <- factor(cbpp_csv$herd, levels = as.character(1:15))
cbpp_csv$period <- factor(cbpp_csv$period, levels = as.character(1:4))
stopifnot(isTRUE(all.equal(cbpp_csv, lme4::cbpp, check.attributes = FALSE)))

sig <- function(x) signif(x, 8)
named <- function(x) as.list(sig(x))

# The grouped (aggregated binomial) form, as in lme4's own examples; default control.
control <- glmerControl()
fit <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
             family = binomial, data = cbpp_csv, control = control)
herd_var <- as.numeric(VarCorr(fit)$herd)

# How precisely the default optimiser finds the optimum: refit with a tight BOBYQA and,
# as a check on that, with a tight NLopt BOBYQA. The "glmer" entry keeps the default fit,
# as users of glmer() see it; "glmer_precise" holds the tight fit.
formula_grouped <- cbind(incidence, size - incidence) ~ period + (1 | herd)
tight_control <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10,
                              optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
tight <- glmer(formula_grouped, family = binomial, data = cbpp_csv, control = tight_control)
check <- glmer(formula_grouped, family = binomial, data = cbpp_csv,
               control = glmerControl(optimizer = "nloptwrap", tolPwrss = 1e-10,
                                      optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                                                     xtol_rel = 0, ftol_rel = 0, maxeval = 1e5)))
sd_of <- function(f) sqrt(as.numeric(VarCorr(f)$herd))
precise <- list(
  control = "glmerControl(optimizer = 'bobyqa', tolPwrss = 1e-10, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))",
  fixef = named(fixef(tight)),
  se = named(sqrt(diag(as.matrix(vcov(tight))))),
  herd_sd = sig(sd_of(tight)),
  logLik = sig(as.numeric(logLik(tight))),
  check_optimizer = "nloptwrap (NLopt BOBYQA), xtol_abs = 1e-12, ftol_abs = 1e-14, relative tolerances 0",
  check_max_abs_diff_fixef = signif(max(abs(fixef(tight) - fixef(check))), 2),
  check_abs_diff_herd_sd = signif(abs(sd_of(tight) - sd_of(check)), 2),
  default_minus_precise_max_abs_fixef = signif(max(abs(fixef(fit) - fixef(tight))), 2),
  default_minus_precise_herd_sd = signif(sd_of(fit) - sd_of(tight), 2),
  default_minus_precise_logLik = signif(as.numeric(logLik(fit)) - as.numeric(logLik(tight)), 2)
)

# The same model fitted more accurately (adaptive Gauss-Hermite quadrature, 25 points).
fit_agq <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
                 family = binomial, data = cbpp_csv, nAGQ = 25)

# One row per animal (1 = new case): the same model, so the same estimates.
binary <- cbpp_csv[rep(seq_len(nrow(cbpp_csv)), cbpp_csv$size), c("herd", "period")]
binary$y <- unlist(mapply(function(cases, animals) c(rep(1L, cases), rep(0L, animals - cases)),
                          cbpp_csv$incidence, cbpp_csv$size))
rownames(binary) <- NULL
fit_binary <- glmer(y ~ period + (1 | herd), family = binomial, data = binary)

# Complete pooling: ordinary logistic regression that ignores the herds.
pooled <- glm(cbind(incidence, size - incidence) ~ period, family = binomial, data = cbpp_csv)

# Population-averaged model: GEE with an exchangeable working correlation within herds.
gee <- geeglm(y ~ period, id = herd, data = binary, family = binomial, corstr = "exchangeable")
gee_fixed_scale <- geeglm(y ~ period, id = herd, data = binary, family = binomial,
                          corstr = "exchangeable", scale.fix = TRUE)

gee_summary <- function(g) list(
  coef = named(coef(g)),
  robust_se = named(setNames(summary(g)$coefficients[, "Std.err"], names(coef(g)))),
  alpha = sig(as.numeric(g$geese$alpha)),
  scale = sig(as.numeric(g$geese$gamma)),
  scale_fixed = isTRUE(g$geese$model$scale.fix)
)

reference <- list(
  generated_by = "data/lme4/cbpp-reference.R",
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  Matrix_version = as.character(packageVersion("Matrix")),
  geepack_version = as.character(packageVersion("geepack")),
  data = "data/cbpp.csv (checked equal to lme4::cbpp)",
  glmer = list(
    call = "glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), family = binomial, data = cbpp)",
    estimation = "maximum likelihood, Laplace approximation (nAGQ = 1)",
    optimizer = control$optimizer,
    optimizer_final_stage = fit@optinfo$optimizer,
    tolPwrss = control$tolPwrss,
    boundary_tol = control$boundary.tol,
    check_conv_grad_tol = control$checkConv$check.conv.grad$tol,
    convergence_code = fit@optinfo$conv$opt,
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages),
    fixef = named(fixef(fit)),
    se = named(sqrt(diag(as.matrix(vcov(fit))))),
    herd_variance = sig(herd_var),
    herd_sd = sig(sqrt(herd_var)),
    logLik = sig(as.numeric(logLik(fit))),
    AIC = sig(AIC(fit)),
    nobs = nobs(fit),
    n_herds = as.integer(ngrps(fit)[["herd"]])
  ),
  glmer_precise = precise,
  glmer_agq25 = list(
    fixef = named(fixef(fit_agq)),
    se = named(sqrt(diag(as.matrix(vcov(fit_agq))))),
    herd_sd = sig(sqrt(as.numeric(VarCorr(fit_agq)$herd)))
  ),
  glmer_binary_rows = list(
    nobs = nobs(fit_binary),
    fixef = named(fixef(fit_binary)),
    se = named(sqrt(diag(as.matrix(vcov(fit_binary))))),
    herd_sd = sig(sqrt(as.numeric(VarCorr(fit_binary)$herd)))
  ),
  glm_complete_pooling = list(
    coef = named(coef(pooled)),
    se = named(sqrt(diag(vcov(pooled))))
  ),
  geeglm_exchangeable = gee_summary(gee),
  geeglm_exchangeable_scale_fixed = gee_summary(gee_fixed_scale)
)

write_json(reference, "data/lme4/cbpp-reference.json", auto_unbox = TRUE, pretty = TRUE,
           digits = NA)

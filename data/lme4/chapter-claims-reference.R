# lme4 (and glmer) reference values behind statements of chapters 5, 6, 8 and 10 that no
# other reference file holds: how the boundary shows in the two random-slope tests, how
# the choice of the uncorrelated model depends on the origin of Days, the random-effects
# PCA in other units, held-out predictions, known-subject prediction intervals, a
# sensitivity refit, and the cbpp log-likelihood constant, herd-SD profile interval and
# Poisson fits.
#
# Run from the repository root:
#     Rscript data/lme4/chapter-claims-reference.R
# It reads data/sleepstudy.csv and data/cbpp.csv and writes
# data/lme4/chapter-claims-reference.json (no dates or paths inside; the simulation is
# seeded, so a rerun with the same versions gives the same bytes). About a minute, most
# of it the simulation. Made with R 4.2.2 and lme4 1.1-31, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "chapter-claims-reference.json")
sleep <- read_sleepstudy()
control <- tight_control("check.conv.singular = 'ignore'")

variance_table <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  lapply(seq_len(nrow(vc)), function(i) list(
    group = vc$grp[i],
    var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
    var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
    vcov = vc$vcov[i], sdcor = vc$sdcor[i]))
}

# ---- Chapter 5: the origin of Days and the uncorrelated model -------------------------
# REML fits of the correlated and uncorrelated models with Days counted from three
# origins; the likelihood-ratio test (REML, same fixed effects) of the correlation.
origins <- lapply(c(day_0 = 0, baseline_day_2 = 2, centred_4_5 = 4.5), function(origin) {
  d <- transform(sleep, x = Days - origin)
  correlated <- lmer(Reaction ~ x + (x | Subject), d, REML = TRUE, control = control)
  uncorrelated <- lmer(Reaction ~ x + (x || Subject), d, REML = TRUE, control = control)
  lr <- 2 * (as.numeric(logLik(correlated)) - as.numeric(logLik(uncorrelated)))
  list(origin = origin,
       correlated_logLik = as.numeric(logLik(correlated)),
       uncorrelated_logLik = as.numeric(logLik(uncorrelated)),
       correlation = attr(VarCorr(correlated)$Subject, "correlation")[1, 2],
       lr = lr, p_value = pchisq(lr, df = 1, lower.tail = FALSE))
})

# ---- Chapter 5: rePCA depends on the units of the slope variable ----------------------
pca <- function(data) {
  m <- lmer(Reaction ~ x + (x | Subject), data, REML = TRUE, control = control)
  s <- summary(rePCA(m))$Subject$importance
  list(sd = unname(s["Standard deviation", ]),
       proportion = unname(s["Proportion of Variance", ]))
}
re_pca <- list(days = pca(transform(sleep, x = Days)),
               weeks = pca(transform(sleep, x = Days / 7)))

# ---- Chapter 5: the boundary in the 1-df and 2-df tests, by simulation ----------------
# Data simulated from the ML fit of the random-intercept model (no slope variance); each
# data set is fitted by ML with random intercepts, uncorrelated and correlated slopes.
intercepts_ml <- lmer(Reaction ~ Days + (1 | Subject), sleep, REML = FALSE, control = control)
n_sim <- as.integer(Sys.getenv("N_SIM", "1000"))
simulated <- simulate(intercepts_ml, nsim = n_sim, seed = 20261201)
sim_control <- lmerControl(check.conv.singular = "ignore")
one <- function(y) {
  d <- transform(sleep, Reaction = y)
  f0 <- lmer(Reaction ~ Days + (1 | Subject), d, REML = FALSE, control = sim_control)
  f1 <- lmer(Reaction ~ Days + (Days || Subject), d, REML = FALSE, control = sim_control)
  f2 <- lmer(Reaction ~ Days + (Days | Subject), d, REML = FALSE, control = sim_control)
  vc2 <- VarCorr(f2)$Subject
  c(lr1 = 2 * (as.numeric(logLik(f1)) - as.numeric(logLik(f0))),
    lr2 = 2 * (as.numeric(logLik(f2)) - as.numeric(logLik(f0))),
    slope_var_1 = VarCorr(f1)$Subject.1[1, 1],
    slope_var_2 = vc2[2, 2],
    cor_2 = attr(vc2, "correlation")[1, 2])
}
sims <- as.data.frame(t(sapply(simulated, one)))
# An estimated variance "is zero" when lme4's relative SD is below its singularity tolerance.
zero_tol <- 1e-4 * sigma(intercepts_ml)^2
boundary <- list(
  n_sim = n_sim, seed = 20261201,
  simulated_from = "ML fit of Reaction ~ Days + (1 | Subject)",
  share_slope_variance_zero_1df = mean(sims$slope_var_1 < zero_tol),
  share_lr_zero_1df = mean(sims$lr1 < 1e-6),
  share_lr_zero_2df = mean(sims$lr2 < 1e-6),
  share_correlation_pm1_2df = mean(abs(sims$cor_2) > 1 - 1e-6 | is.na(sims$cor_2)),
  share_slope_variance_zero_2df = mean(sims$slope_var_2 < zero_tol),
  reject_1df_naive = mean(sims$lr1 > qchisq(0.95, 1)),
  reject_1df_mixture = mean(0.5 * pchisq(sims$lr1, 1, lower.tail = FALSE) < 0.05),
  reject_2df_naive = mean(sims$lr2 > qchisq(0.95, 2)),
  reject_2df_mixture = mean(0.5 * pchisq(sims$lr2, 1, lower.tail = FALSE) +
                              0.5 * pchisq(sims$lr2, 2, lower.tail = FALSE) < 0.05))

# ---- Chapter 6: predicting held-out days ----------------------------------------------
# Fit on days 0-7, predict days 8 and 9 for every subject: each subject's own OLS line,
# the mixed model's subject line (partial pooling) and the population line.
train <- sleep[sleep$Days <= 7, ]
test <- sleep[sleep$Days >= 8, ]
held_fit <- lmer(Reaction ~ Days + (Days | Subject), train, REML = TRUE, control = control)
own <- sapply(split(train, train$Subject), function(r) coef(lm(Reaction ~ Days, r)))
pred_own <- own[1, as.character(test$Subject)] + own[2, as.character(test$Subject)] * test$Days
pred_mixed <- predict(held_fit, newdata = test)
pred_pop <- predict(held_fit, newdata = test, re.form = NA)
mse <- function(p) tapply((test$Reaction - p)^2, as.character(test$Subject), mean)
held_out <- list(
  train = "Days 0-7", predict = "Days 8 and 9",
  subjects = levels(sleep$Subject),
  mse_own = unname(mse(pred_own)[levels(sleep$Subject)]),
  mse_mixed = unname(mse(pred_mixed)[levels(sleep$Subject)]),
  mse_population = unname(mse(pred_pop)[levels(sleep$Subject)]),
  rmse_own = sqrt(mean((test$Reaction - pred_own)^2)),
  rmse_mixed = sqrt(mean((test$Reaction - pred_mixed)^2)),
  rmse_population = sqrt(mean((test$Reaction - pred_pop)^2)))

# ---- Chapter 8: prediction intervals for known subjects --------------------------------
full <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE, control = control)
re <- ranef(full, condVar = TRUE)$Subject
post_var <- attr(re, "postVar")  # 2 x 2 x 18: conditional covariance of each subject's effects
sigma2 <- sigma(full)^2
# Henderson's mixed-model equations: sigma^2 times the inverse of their coefficient matrix
# is the joint prediction-error covariance of (beta-hat, b-hat - b).
X <- getME(full, "X"); Z <- as.matrix(getME(full, "Z"))
G_one <- as.matrix(VarCorr(full)$Subject); attributes(G_one)[c("stddev", "correlation")] <- NULL
G <- kronecker(diag(nlevels(sleep$Subject)), G_one)  # Z's columns: subject by subject, (Intercept, Days)
C <- rbind(cbind(crossprod(X), crossprod(X, Z)),
           cbind(crossprod(Z, X), crossprod(Z) + sigma2 * solve(G)))
pev <- sigma2 * solve(C)
known <- lapply(c("308", "335"), function(s) {
  j <- match(s, levels(sleep$Subject))
  x <- c(1, 5)
  l <- c(x, rep(0, ncol(Z))); l[2 + (2 * j - 1):(2 * j)] <- x
  cond <- post_var[, , j]
  list(subject = s, day = 5,
       prediction = sum(x * (fixef(full) + unlist(re[s, ]))),
       conditional_covariance = as.vector(cond),
       conditional_variance_at_day = as.numeric(t(x) %*% cond %*% x),
       full_prediction_error_variance_at_day = as.numeric(t(l) %*% pev %*% l),
       residual_variance = sigma2)
})
names(known) <- c("308", "335")

# ---- Chapter 8: sensitivity refits -----------------------------------------------------
refit <- function(d) {
  m <- lmer(Reaction ~ Days + (Days | Subject), d, REML = TRUE, control = control)
  list(nobs = nobs(m), fixed_effects = as.list(fixef(m)),
       std_error = as.list(setNames(sqrt(diag(as.matrix(vcov(m)))), names(fixef(m)))),
       sigma = sigma(m), variance_components = variance_table(m))
}
without_subjects <- refit(droplevels(sleep[!sleep$Subject %in% c("308", "332"), ]))
r <- residuals(full)
without_three <- refit(sleep[-order(abs(r), decreasing = TRUE)[1:3], ])

# ---- Chapter 10: cbpp -----------------------------------------------------------------
cbpp <- read.csv("data/cbpp.csv", colClasses = c("character", "integer", "integer", "character"))
cbpp$herd <- factor(cbpp$herd, levels = as.character(1:15))
cbpp$period <- factor(cbpp$period, levels = as.character(1:4))
stopifnot(isTRUE(all.equal(cbpp, lme4::cbpp, check.attributes = FALSE)))
grouped <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial)
rows <- cbpp[rep(seq_len(nrow(cbpp)), cbpp$size), ]
rows$case <- unlist(lapply(seq_len(nrow(cbpp)), function(i)
  rep(c(1, 0), c(cbpp$incidence[i], cbpp$size[i] - cbpp$incidence[i]))))
binary <- glmer(case ~ period + (1 | herd), data = rows, family = binomial)
profile_ci <- confint(grouped, parm = "theta_", method = "profile", oldNames = FALSE)
cbpp$row <- factor(seq_len(nrow(cbpp)))
cbpp$log_size <- log(cbpp$size)
poisson_fit <- function(formula) {
  m <- glmer(formula, data = cbpp, family = poisson, control = glmerControl(optimizer = "bobyqa"))
  vc <- as.data.frame(VarCorr(m))
  list(formula = paste(deparse(formula), collapse = " "), fixef = as.list(fixef(m)),
       se = as.list(setNames(sqrt(diag(as.matrix(vcov(m)))), names(fixef(m)))),
       sd = as.list(setNames(vc$sdcor, vc$grp)), logLik = as.numeric(logLik(m)),
       singular = isSingular(m))
}
# The herd SD beside the row SD, with the offset: its profile interval, and the fit
# without the herd term (for the likelihood-ratio statistic of the herd term).
poisson_offset_model <- glmer(incidence ~ period + offset(log_size) + (1 | herd) + (1 | row),
                              data = cbpp, family = poisson,
                              control = glmerControl(optimizer = "bobyqa"))
offset_profile <- confint(poisson_offset_model, parm = "theta_", method = "profile",
                          oldNames = FALSE)
cbpp_out <- list(
  grouped_logLik = as.numeric(logLik(grouped)), grouped_AIC = AIC(grouped),
  binary_logLik = as.numeric(logLik(binary)), binary_AIC = AIC(binary),
  log_binomial_coefficients = sum(lchoose(cbpp$size, cbpp$incidence)),
  herd_sd = as.numeric(attr(VarCorr(grouped)$herd, "stddev")),
  herd_sd_profile_95 = unname(profile_ci[1, ]),
  poisson_log_size_covariate = poisson_fit(incidence ~ period + log_size + (1 | herd) + (1 | row)),
  poisson_offset = poisson_fit(incidence ~ period + offset(log_size) + (1 | herd) + (1 | row)),
  poisson_offset_row_only = poisson_fit(incidence ~ period + offset(log_size) + (1 | row)),
  poisson_offset_herd_sd_profile_95 = unname(pmax(offset_profile["sd_(Intercept)|herd", ], 0)))

write_exact_json(list(
  metadata = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  control = tight_control_text("check.conv.singular = 'ignore'"),
                  regenerate = "Rscript data/lme4/chapter-claims-reference.R"),
  chapter_05 = list(origins = origins, random_effects_pca = re_pca, boundary_simulation = boundary),
  chapter_06 = list(held_out_days = held_out),
  chapter_08 = list(known_subject_day_5 = known, without_subjects_308_332 = without_subjects,
                    without_three_largest_residuals = without_three),
  chapter_10 = cbpp_out), out_path)

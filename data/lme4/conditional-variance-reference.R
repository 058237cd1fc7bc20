# lme4 reference values for the uncertainty of the predicted random effects (chapter 6,
# "How uncertain are the conditional modes?") and for prediction intervals of a known
# subject beside a new one (chapter 8).
#
# Run from the repository root:
#     Rscript data/lme4/conditional-variance-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/conditional-variance-reference.json
# (no date or machine path, so a rerun with the same versions gives the same bytes).
# About a minute (the coverage simulation). Made with R 4.2.2, lme4 1.1-31, jsonlite (Debian packages).
#
# Two REML fits of Reaction ~ Days + (Days | Subject):
#   full      all 180 rows;
#   thinned   subject 335 keeps only days 0, 1 and 6 (the days chapter 6 draws with
#             numpy's default_rng(2024)); 173 rows.
# For each subject: the conditional mode (ranef), lme4's conditional covariance
# (attr(ranef(fit, condVar = TRUE)$Subject, "postVar"), which lme4 computes as
# sigma^2 Lambda (L L')^-1 Lambda' with L the Cholesky factor of Lambda'Z'Z Lambda + I:
# the covariance of b given y at the estimated beta, theta and sigma), and, for
# comparison, the prediction-error covariance of b-hat - b from Henderson's mixed-model
# equations, which also counts the uncertainty of the fixed effects. Neither counts the
# uncertainty of the variance parameters.
# For the full fit, per subject and day 0-9, the ingredients of the prediction intervals.
# Last, a seeded simulation of the intervals' coverage (the entry `coverage`, about a
# minute; it runs after everything else, so the other entries do not depend on it).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "conditional-variance-reference.json")
sleep <- read_sleepstudy()
kept_days_335 <- c(0L, 1L, 6L)
thinned <- sleep[sleep$Subject != "335" | sleep$Days %in% kept_days_335, ]

covariance_matrix <- function(m) {
  g <- as.matrix(VarCorr(m)$Subject)
  attributes(g)[c("stddev", "correlation")] <- NULL
  g
}

# Henderson's mixed-model equations: sigma^2 times the inverse of their coefficient matrix
# is the joint prediction-error covariance of (beta-hat - beta, b-hat - b). Z's columns
# come subject by subject, (Intercept, Days) within each, in the order of the levels.
henderson <- function(m) {
  X <- getME(m, "X")
  Z <- as.matrix(getME(m, "Z"))
  n_groups <- nlevels(getME(m, "flist")$Subject)
  sigma2 <- sigma(m)^2
  G <- kronecker(diag(n_groups), covariance_matrix(m))
  C <- rbind(cbind(crossprod(X), crossprod(X, Z)),
             cbind(crossprod(Z, X), crossprod(Z) + sigma2 * solve(G)))
  sigma2 * solve(C)
}

describe <- function(m) {
  re <- ranef(m, condVar = TRUE)$Subject
  post_var <- attr(re, "postVar")  # 2 x 2 x subjects
  pev <- henderson(m)
  subjects <- rownames(re)
  per_subject <- lapply(seq_along(subjects), function(j) {
    cond <- post_var[, , j]
    block <- 2 + (2 * j - 1):(2 * j)
    h <- pev[block, block]
    list(
      subject = subjects[j],
      n = sum(m@frame$Subject == subjects[j]),
      mode = unname(unlist(re[j, ])),
      conditional_covariance = as.vector(cond),
      conditional_sd = unname(sqrt(diag(cond))),
      henderson_covariance = as.vector(h),
      henderson_sd = unname(sqrt(diag(h)))
    )
  })
  names(per_subject) <- subjects
  list(
    nobs = nobs(m),
    singular = isSingular(m),
    theta = unname(getME(m, "theta")),
    sigma = sigma(m),
    residual_variance = sigma(m)^2,
    fixed_effects = as.list(fixef(m)),
    vcov_fixed = as.vector(as.matrix(vcov(m))),
    random_effects_covariance = as.vector(covariance_matrix(m)),
    subjects = per_subject
  )
}

full <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE, control = tight_control())
thin <- lmer(Reaction ~ Days + (Days | Subject), thinned, REML = TRUE, control = tight_control())

# ---- Prediction intervals on days 0-9 (full fit) ---------------------------------------
days <- 0:9
X_days <- cbind(1, days)
G_one <- covariance_matrix(full)
V_beta <- as.matrix(vcov(full))
sigma2 <- sigma(full)^2
z <- qnorm(0.975)
population <- predict(full, newdata = data.frame(Days = days), re.form = NA)
between <- rowSums((X_days %*% G_one) * X_days)
fixed <- rowSums((X_days %*% V_beta) * X_days)
new_subject <- list(
  days = days, population_line = unname(population), between_subjects = between,
  fixed_effects = fixed, residual_variance = rep(sigma2, length(days)),
  half_width = z * sqrt(between + sigma2 + fixed)
)
re_full <- ranef(full, condVar = TRUE)$Subject
post_var_full <- attr(re_full, "postVar")
pev_full <- henderson(full)
subjects <- levels(sleep$Subject)
known_subject <- lapply(seq_along(subjects), function(j) {
  cond <- post_var_full[, , j]
  conditional <- rowSums((X_days %*% cond) * X_days)
  # weights of (beta, b) for x'(beta + b_j) on each day
  full_pev <- sapply(days, function(d) {
    l <- numeric(ncol(pev_full))
    l[1:2] <- c(1, d)
    l[2 + (2 * j - 1):(2 * j)] <- c(1, d)
    as.numeric(t(l) %*% pev_full %*% l)
  })
  list(
    subject = subjects[j],
    prediction = unname(predict(full, newdata = data.frame(Days = days, Subject = subjects[j]))),
    conditional_variance = conditional,
    henderson_variance = full_pev,
    half_width = z * sqrt(conditional + sigma2),
    half_width_henderson = z * sqrt(full_pev + sigma2)
  )
})
names(known_subject) <- subjects

# ---- Coverage of the intervals (a seeded simulation; the entry `coverage`) --------------
# How often do nominal 95% intervals b-hat_j +/- z * SD cover the subject's true deviation
# b_j when G, sigma^2 and beta are estimated? One design (18 subjects, days 0-9) at one set
# of parameter values: the full REML fit's estimates are taken as the truth. Each
# replicate draws b_j ~ N(0, G) and the errors ~ N(0, sigma^2), refits the model by REML
# (lme4's default fit, polished with tight_control()) and records, per term, the share of
# the 18 subjects whose interval covers b_j, once with lme4's condVar SDs and once with the
# Henderson SDs (fixed effects' uncertainty counted, as C_j + W_j V_beta W_j'). The Monte
# Carlo SE is the SD of the replicates' shares over sqrt(replicates). As a check of the
# code, `known_parameters` draws single subjects with the true beta, G and sigma^2 plugged
# in (no refit), where the coverage must be 95% up to Monte Carlo error. Runs after
# everything above, so no earlier value depends on the seed.
coverage_seed <- 20240L
coverage_replicates <- 1000L
coverage_known_draws <- 4000L
set.seed(coverage_seed)
true_beta <- unname(fixef(full))
true_root <- chol(G_one)  # G = R'R
n_subjects <- nlevels(sleep$Subject)
subject_index <- as.integer(sleep$Subject)
simulated <- sleep
share_condvar <- share_henderson <- matrix(NA_real_, coverage_replicates, 2)
singular_fits <- 0L
polished_kept <- 0L
for (i in seq_len(coverage_replicates)) {
  b <- matrix(rnorm(2 * n_subjects), n_subjects) %*% true_root  # one row per subject
  simulated$Reaction <- true_beta[1] + b[subject_index, 1] +
    (true_beta[2] + b[subject_index, 2]) * simulated$Days + rnorm(nrow(simulated), 0, sigma(full))
  # tight_control() from lme4's default start stops at the boundary theta_1 = 0 on a few
  # of these data sets (REML criterion up to 7 units above the optimum). Started from the
  # default optimiser's fit it polishes that fit; the lower REML criterion of the two is kept.
  default_fit <- suppressWarnings(suppressMessages(
    lmer(Reaction ~ Days + (Days | Subject), simulated, REML = TRUE)
  ))
  polished <- suppressMessages(
    lmer(Reaction ~ Days + (Days | Subject), simulated, REML = TRUE, control = tight_control(),
         start = list(theta = getME(default_fit, "theta")))
  )
  refit <- if (REMLcrit(polished) <= REMLcrit(default_fit)) polished else default_fit
  polished_kept <- polished_kept + (REMLcrit(polished) <= REMLcrit(default_fit))
  singular_fits <- singular_fits + isSingular(refit)
  re <- ranef(refit, condVar = TRUE)$Subject
  sd_condvar <- t(sqrt(apply(attr(re, "postVar"), 3, diag)))
  # C_j + W_j V_beta W_j' (equal to the Henderson block, as chapter 6 shows; henderson()
  # needs G^-1, which a singular refit does not have). Every subject has days 0-9.
  post_var <- attr(re, "postVar")
  V_refit <- as.matrix(vcov(refit))
  sd_henderson <- t(sapply(seq_len(n_subjects), function(j) {
    W <- post_var[, , j] %*% crossprod(X_days) / sigma(refit)^2
    sqrt(diag(post_var[, , j] + W %*% V_refit %*% t(W)))
  }))
  error <- abs(as.matrix(re) - b)
  share_condvar[i, ] <- colMeans(error <= z * sd_condvar)
  share_henderson[i, ] <- colMeans(error <= z * sd_henderson)
}
known_cover <- matrix(NA, coverage_known_draws, 2)
C_true <- solve(solve(G_one) + crossprod(X_days) / sigma2)
for (i in seq_len(coverage_known_draws)) {
  b <- drop(rnorm(2) %*% true_root)
  y <- X_days %*% (true_beta + b) + rnorm(length(days), 0, sigma(full))
  b_tilde <- C_true %*% crossprod(X_days, y - X_days %*% true_beta) / sigma2
  known_cover[i, ] <- abs(b_tilde - b) <= z * sqrt(diag(C_true))
}
summarise_shares <- function(shares) {
  list(
    intercept = list(coverage = mean(shares[, 1]),
                     mc_se = sd(shares[, 1]) / sqrt(nrow(shares))),
    slope = list(coverage = mean(shares[, 2]),
                 mc_se = sd(shares[, 2]) / sqrt(nrow(shares)))
  )
}
coverage <- list(
  description = paste(
    "Simulated coverage of nominal 95% intervals for the subjects' random effects,",
    "data drawn from the full REML fit (its estimates taken as the true values,",
    "18 subjects, days 0-9), refitted by REML (lme4's default fit polished with",
    "tight_control(); the lower REML criterion kept)."
  ),
  seed = coverage_seed,
  rng = paste(RNGkind(), collapse = ", "),
  replicates = coverage_replicates,
  singular_fits = singular_fits,
  polished_fits_kept = polished_kept,
  nominal = 0.95,
  condvar = summarise_shares(share_condvar),
  henderson = summarise_shares(share_henderson),
  known_parameters = c(list(draws = coverage_known_draws), summarise_shares(known_cover))
)

output <- list(
  metadata = list(
    description = paste(
      "Conditional covariances (condVar) of the random effects of the REML fit of",
      "Reaction ~ Days + (Days | Subject), Henderson prediction-error covariances, and",
      "prediction-interval ingredients for known and new subjects on days 0-9."
    ),
    regenerate = "Rscript data/lme4/conditional-variance-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    optimizer_call = tight_control_text(),
    matrix_layout = "2 x 2 matrices as vectors in column-major order: (Intercept, Days)",
    thinned_rule = "subject 335 keeps days 0, 1 and 6; every other subject keeps all days",
    z = z
  ),
  models = list(full = describe(full), thinned = describe(thin)),
  prediction = list(new_subject = new_subject, known_subject = known_subject),
  coverage = coverage
)
write_exact_json(output, out_path)

# lme4 reference values for the uncertainty of the predicted random effects (chapter 6,
# "How uncertain are the conditional modes?") and for prediction intervals of a known
# subject beside a new one (chapter 8).
#
# Run from the repository root:
#     Rscript data/lme4/conditional-variance-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/conditional-variance-reference.json
# (no date or machine path, so a rerun with the same versions gives the same bytes).
# A few seconds. Made with R 4.2.2, lme4 1.1-31, jsonlite (Debian packages).
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
  prediction = list(new_subject = new_subject, known_subject = known_subject)
)
write_exact_json(output, out_path)

# An independent R version of chapter 13's dropout simulation (scripts/simulate_missing_data.py):
# the same truth (lme4's REML fit of Reaction ~ Days + (Days | Subject) to sleepstudy), the
# same MCAR, MAR and MNAR dropout rules, R's own random numbers, and lme4's lmer() for the
# mixed model on the incomplete data. tests/test_missing_data_reference.py checks that the
# biases of the stored Python simulation agree with these within Monte Carlo error.
#
# Run from the repository root (about a minute):
#     Rscript data/lme4/missing-data-simulation-reference.R
# Writes data/lme4/missing-data-simulation-reference.json.
#
# Made with R 4.2.2, lme4 1.1-31, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "missing-data-simulation-reference.json")
sleep <- read_sleepstudy()
truth_fit <- lmer(Reaction ~ Days + (Days | Subject), data = sleep, REML = TRUE,
                  control = tight_control())
beta <- unname(fixef(truth_fit))
sigma_u <- as.matrix(VarCorr(truth_fit)$Subject)
attr(sigma_u, "stddev") <- NULL
attr(sigma_u, "correlation") <- NULL
residual_sd <- sigma(truth_fit)

n_subjects <- 18
days <- 0:9
threshold <- 320
dropout_probability <- 0.5
mcar_probability <- 0.15
first_missing_day <- 5
n_replications <- 300

observed_mask <- function(reaction, uniforms, mechanism) {
  observed <- matrix(TRUE, nrow(reaction), ncol(reaction))
  for (day in first_missing_day:9) {
    col <- day + 1
    leaves <- switch(mechanism,
      MAR = reaction[, col - 1] > threshold & uniforms[, col] < dropout_probability,
      MNAR = reaction[, col] > threshold & uniforms[, col] < dropout_probability,
      MCAR = uniforms[, col] < mcar_probability
    )
    observed[, col] <- observed[, col - 1] & !leaves
  }
  observed
}

mean_slope <- function(reaction) {
  if (length(reaction) == 0) return(NA_real_)
  reaction <- matrix(reaction, ncol = length(days))
  centred <- days - mean(days)
  mean(reaction %*% centred / sum(centred^2))
}

cholesky <- t(chol(sigma_u))
replicate_once <- function(mechanism) {
  deviations <- matrix(rnorm(2 * n_subjects), n_subjects) %*% t(cholesky)
  reaction <- outer(beta[1] + deviations[, 1], rep(1, 10)) +
    outer(beta[2] + deviations[, 2], days) +
    matrix(rnorm(n_subjects * 10, sd = residual_sd), n_subjects)
  observed <- observed_mask(reaction, matrix(runif(n_subjects * 10), n_subjects), mechanism)
  long <- data.frame(Reaction = as.vector(t(reaction)), Days = rep(days, n_subjects),
                     Subject = factor(rep(seq_len(n_subjects), each = 10)),
                     observed = as.vector(t(observed)))
  fit <- suppressMessages(suppressWarnings(
    lmer(Reaction ~ Days + (Days | Subject), data = long[long$observed, ], REML = TRUE)
  ))
  complete <- rowSums(!observed) == 0
  day_means <- tapply(long$Reaction[long$observed], long$Days[long$observed], mean)
  c(full_data = mean_slope(reaction), mixed_model = unname(fixef(fit)[2]),
    complete_case = mean_slope(reaction[complete, , drop = FALSE]),
    day_means = mean_slope(day_means[as.character(days)]),
    missing_share = mean(!observed))
}

set.seed(20261201)
summaries <- list()
for (mechanism in c("MCAR", "MAR", "MNAR")) {
  rows <- t(replicate(n_replications, replicate_once(mechanism)))
  summaries[[mechanism]] <- lapply(colnames(rows), function(column) {
    values <- rows[!is.na(rows[, column]), column]
    list(column = column, n = length(values), mean = mean(values), sd = sd(values))
  })
}

output <- list(
  metadata = list(
    description = paste(
      "Means and SDs of the Days slope estimates over", n_replications, "simulated studies",
      "per dropout mechanism (chapter 13's rules), simulated in R and fitted with lme4's",
      "default lmer() on the incomplete data."
    ),
    regenerate = "Rscript data/lme4/missing-data-simulation-reference.R  (from the repository root)",
    seed = 20261201,
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    true_slope = beta[2],
    n_replications = n_replications
  ),
  mechanisms = summaries
)
write_exact_json(output, out_path)

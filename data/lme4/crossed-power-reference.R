# lme4's power for chapter 11's crossed design grid: an independent check of
# scripts/simulate_crossed_power.py (statsmodels), with R's own random numbers.
#
# Run from the repository's top folder, on Linux with address-space randomisation off
# (see crossed-reference.R for why):
#     setarch -R nice Rscript data/lme4/crossed-power-reference.R
# It writes data/lme4/crossed-power-reference.json (about 2 minutes of CPU; see
# data/lme4/README.md). tests/test_crossed_power.py checks that the powers and the shares
# of boundary fits agree with the Python simulation's within Monte Carlo error.
#
# Each replication draws new participants and new faces from the model that made
# data/crossed-ratings.csv (scripts/simulate_crossed_ratings.py; the true values are
# repeated below and the test checks them), fits the crossed model with an uncorrelated
# by-participant slope by REML, and tests the smiling effect `cond` with a Wald z test
# (lme4's standard error, normal reference, as statsmodels prints) and with lmerTest's
# Satterthwaite t test. The rules are the Python script's:
#   failed   = lmer raised an error or a warning (lme4's convergence checks warn);
#              counted as not significant;
#   boundary = a variance component's relative SD (lme4's theta: SD / residual SD)
#              below 0.01.
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite 1.8.4 (Debian packages).

source("data/lme4/crossed-common.R")  # control, formulas (and the crossed ratings, unused)
require_fixed_addresses_for("data/lme4/crossed-power-reference.R")

suppressPackageStartupMessages({
  library(lmerTest)
  library(jsonlite)
})

seed <- 20261202
truth <- list(mu = 50, beta = 6, sd_participant = 8, sd_stimulus = 5,
              sd_participant_slope = 4, rho = 0.3, sd_residual = 10)
# participants, faces, smiling effect, replications: the Python script's DESIGNS.
designs <- data.frame(participants = c(20, 40, 20, 40, 20),
                      faces = c(10, 10, 20, 20, 10),
                      effect = c(6, 6, 6, 6, 0),
                      replications = c(250, 250, 250, 250, 500))
boundary_relative_sd <- 0.01
formula <- formulas$crossed_uncorrelated_slope

simulate_study <- function(n_participants, n_faces, effect) {
  z1 <- rnorm(n_participants)
  z2 <- rnorm(n_participants)
  u0 <- truth$sd_participant * z1
  u1 <- truth$sd_participant_slope * (truth$rho * z1 + sqrt(1 - truth$rho^2) * z2)
  w0 <- truth$sd_stimulus * rnorm(n_faces)
  cond_face <- ifelse(seq_len(n_faces) > n_faces / 2, 0.5, -0.5)
  grid <- expand.grid(face = seq_len(n_faces), participant = seq_len(n_participants))
  cond <- cond_face[grid$face]
  rating <- truth$mu + u0[grid$participant] + w0[grid$face] +
    (effect + u1[grid$participant]) * cond +
    truth$sd_residual * rnorm(nrow(grid))
  data.frame(participant = factor(grid$participant), stimulus = factor(grid$face),
             cond = cond, rating = rating)
}

analyse <- function(data) {
  warned <- FALSE
  fit <- tryCatch(
    withCallingHandlers(
      suppressMessages(lmer(formula, data = data, REML = TRUE, control = control)),
      warning = function(w) {
        warned <<- TRUE
        invokeRestart("muffleWarning")
      }
    ),
    error = function(e) NULL
  )
  if (is.null(fit) || warned) {
    return(c(failed = 1, boundary = 0, p_z = NA, p_satterthwaite = NA))
  }
  table <- coef(summary(fit, ddf = "Satterthwaite"))
  t_value <- table["cond", "t value"]
  c(failed = 0,
    boundary = as.numeric(any(getME(fit, "theta") < boundary_relative_sd)),
    p_z = 2 * pnorm(-abs(t_value)),
    p_satterthwaite = table["cond", "Pr(>|t|)"])
}

set.seed(seed, kind = "Mersenne-Twister", normal.kind = "Inversion")
start <- proc.time()[["elapsed"]]
results <- lapply(seq_len(nrow(designs)), function(d) {
  design <- designs[d, ]
  rows <- t(replicate(design$replications, analyse(
    simulate_study(design$participants, design$faces, design$effect))))
  significant <- function(p) sum(!is.na(p) & p < 0.05)
  list(participants = design$participants, faces = design$faces, effect = design$effect,
       replications = design$replications,
       failed = sum(rows[, "failed"]), boundary = sum(rows[, "boundary"]),
       significant_z = significant(rows[, "p_z"]),
       significant_satterthwaite = significant(rows[, "p_satterthwaite"]))
})
message(sprintf("%.0f s", proc.time()[["elapsed"]] - start))

result <- list(
  R_version = paste(R.version$major, R.version$minor, sep = "."),
  lme4_version = packageDescription("lme4")$Version,
  lmerTest_version = packageDescription("lmerTest")$Version,
  seed = seed,
  truth = truth,
  formula = paste(deparse(formula, width.cutoff = 500), collapse = ""),
  optimizer = "bobyqa, rhoend = 1e-12, maxfun = 1e6; REML",
  boundary_relative_sd = boundary_relative_sd,
  designs = results
)
writeLines(toJSON(result, auto_unbox = TRUE, pretty = TRUE, digits = I(10)),
           "data/lme4/crossed-power-reference.json")

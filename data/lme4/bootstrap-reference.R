# pbkrtest's parametric bootstrap likelihood-ratio tests (PBmodcomp), stored as reference
# values for course.bootstrap_lrt() (tests/test_bootstrap.py).
#
# Run from the repository's top folder, on Linux with address-space randomisation off:
#     setarch -R Rscript data/lme4/bootstrap-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/bootstrap-reference.json (about two
# minutes: 2 x 1000 simulated data sets, each refitted with two models). setarch -R for
# the reason given in crossed-reference.R.

if (!file.exists("data/lme4/common.R")) stop("Run from the repository's top folder.")
source("data/lme4/common.R")
require_fixed_addresses("data/lme4/bootstrap-reference.R")
suppressPackageStartupMessages(library(pbkrtest))

sleep <- read_sleepstudy()
unbalanced <- unbalanced_sleepstudy(sleep)  # common.R

nsim <- 1000L
# lme4's default optimiser: the bootstrap's Monte Carlo error (about 0.007 in a p-value
# near 0.05 with 1000 draws) is far larger than its stopping tolerance. Boundary fits
# are expected when the data are simulated without a slope variance.
control <- lmerControl(check.conv.singular = "ignore")

# The models are fitted here, at the top level, with the data named in the call:
# PBmodcomp refits them to simulated responses by re-evaluating that call.
fits <- list(
  slope_variance = list(
    data = "sleep",
    small = lmer(Reaction ~ Days + (1 | Subject), data = sleep, REML = FALSE, control = control),
    large = lmer(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject), data = sleep,
                 REML = FALSE, control = control),
    seed = 20240601L
  ),
  phase_effect = list(
    data = "unbalanced",
    small = lmer(Reaction ~ Days + (Days || Subject), data = unbalanced, REML = FALSE,
                 control = control),
    large = lmer(Reaction ~ Days + phase + (Days || Subject), data = unbalanced, REML = FALSE,
                 control = control),
    seed = 20240602L
  )
)

warnings_seen <- character()
run <- function(spec) {
  small <- spec$small
  large <- spec$large
  # PBmodcomp's own `seed` argument did not make two runs draw the same data (pbkrtest
  # 0.5.2), so the generator is seeded here as well.
  set.seed(spec$seed)
  pb <- withCallingHandlers(
    PBmodcomp(large, small, nsim = nsim, seed = spec$seed),
    warning = function(w) {
      warnings_seen <<- c(warnings_seen, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  tab <- pb$test
  list(
    data = spec$data,
    small = paste(deparse(formula(small), width.cutoff = 500), collapse = ""),
    large = paste(deparse(formula(large), width.cutoff = 500), collapse = ""),
    logLik_small = as.numeric(logLik(small)),
    logLik_large = as.numeric(logLik(large)),
    lrt_statistic = tab["LRT", "stat"],
    lrt_df = tab["LRT", "df"],
    chisq_p_value = tab["LRT", "p.value"],
    pb_p_value = tab["PBtest", "p.value"],
    nsim = nsim,
    seed = spec$seed,
    n_used = length(pb$ref),
    n_positive = unname(pb$samples["npos"]),
    n_extreme = pb$n.extreme,
    null_statistics = as.numeric(pb$ref)
  )
}

result <- list(
  metadata = list(
    R = R.version.string,
    packages = lapply(c(lme4 = "lme4", pbkrtest = "pbkrtest", jsonlite = "jsonlite"),
                      function(p) as.character(packageVersion(p))),
    control = "lmerControl(check.conv.singular = 'ignore'); both models by ML (REML = FALSE)",
    command = "setarch -R Rscript data/lme4/bootstrap-reference.R",
    data_md5 = as.list(tools::md5sum("data/sleepstudy.csv")),
    p_value_estimator = paste(
      "pbkrtest 0.5.2 (.finalizePB): (1 + #{positive null statistics > observed}) /",
      "(1 + #{positive null statistics}); statistics <= 0 are left out of both counts"
    )
  ),
  comparisons = lapply(fits, run)
)
result$warnings <- as.list(unique(warnings_seen))
write_exact_json(result, "data/lme4/bootstrap-reference.json")

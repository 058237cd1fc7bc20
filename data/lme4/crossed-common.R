# What the two crossed-study scripts share (crossed-reference.R and
# crossed-small-sample-reference.R), so that both fit exactly the same models: the
# check that address-space randomisation is off (see crossed-reference.R for why), the
# data, the tight optimiser settings and the model formulas. Sourced from the repository's
# top folder; `script` names the calling script for the error message.

require_fixed_addresses_for <- function(script) {
  personality <- "/proc/self/personality"
  if (file.exists(personality)) {
    flags <- strtoi(readLines(personality, warn = FALSE), base = 16L)
    if (bitwAnd(flags, 0x0040000L) == 0L) {
      stop(sprintf("Run as `setarch -R Rscript %s` for reproducible output.", script))
    }
  }
}

ratings <- read.csv("data/crossed-ratings.csv", stringsAsFactors = TRUE)

# A tight stopping rule, so that the stored optimum is the optimum and not wherever a
# default tolerance stopped: the comparisons in the tests are then about the models.
control <- lme4::lmerControl(optimizer = "bobyqa",
                             optCtrl = list(rhoend = 1e-12, maxfun = 1e6),
                             calc.derivs = TRUE)

formulas <- list(
  crossed_intercepts = rating ~ cond + (1 | participant) + (1 | stimulus),
  crossed_uncorrelated_slope = rating ~ cond + (1 | stimulus) + (1 + cond || participant),
  crossed_correlated_slope = rating ~ cond + (1 + cond | participant) + (1 | stimulus),
  participants_only = rating ~ cond + (1 + cond | participant)
)

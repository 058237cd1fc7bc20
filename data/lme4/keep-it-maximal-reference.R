# The "keep it maximal" simulation of chapter 4, run independently with lme4 and lmerTest:
# its own random numbers and data sets, the same design and truth. Also the three tests on
# the first data sets of the Python simulation. Stored for tests/test_keep_it_maximal.py.
#
# Run from the repository's top folder, on Linux with address-space randomisation off:
#     setarch -R Rscript data/lme4/keep-it-maximal-reference.R
# It reads data/sleepstudy.csv and data/simulations/keep-it-maximal-datasets.csv (written
# by scripts/simulate_keep_it_maximal.py) and writes data/lme4/keep-it-maximal-reference.json
# (about five minutes of CPU time). setarch -R for the reason given in crossed-reference.R.
#
# Truth: lme4's REML fit of Reaction ~ Days + (Days | Subject) to the full sleepstudy data
# (intercept, the two SDs, their correlation and the residual SD), with the fixed effect of
# Days set to 0; 18 subjects x days 0-9. Each data set is analysed three ways:
#   intercept_z:           (1 | Subject), Wald z = t value of lme4's summary, normal p-value
#                          (the test statsmodels prints);
#   maximal_z:             (Days | Subject), the same Wald z;
#   maximal_satterthwaite: (Days | Subject), lmerTest's t-test with Satterthwaite's df.

if (!file.exists("data/lme4/common.R")) stop("Run from the repository's top folder.")
source("data/lme4/common.R")
require_fixed_addresses("data/lme4/keep-it-maximal-reference.R")
suppressPackageStartupMessages(library(lmerTest))

SEED <- 20131
N_REPLICATIONS <- 1000
ALPHA <- 0.05
DATASETS <- "data/simulations/keep-it-maximal-datasets.csv"

sleep <- read_sleepstudy()
control_text <- tight_control_text("check.conv.singular = 'ignore'")
control <- tight_control("check.conv.singular = 'ignore'")

truth_fit <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = TRUE, control = control)
vc <- as.data.frame(VarCorr(truth_fit))
truth <- list(
  intercept = unname(fixef(truth_fit)[1]),
  slope = 0,
  sd_intercept = vc$sdcor[1],
  sd_slope = vc$sdcor[2],
  correlation = vc$sdcor[3],
  sd_residual = sigma(truth_fit)
)

simulate_dataset <- function(truth) {
  subjects <- 18
  days <- 0:9
  z <- matrix(rnorm(subjects * 2), ncol = 2)
  u0 <- truth$sd_intercept * z[, 1]
  u1 <- truth$sd_slope * (truth$correlation * z[, 1] +
                            sqrt(1 - truth$correlation^2) * z[, 2])
  subject <- rep(seq_len(subjects), each = length(days))
  day <- rep(days, subjects)
  reaction <- truth$intercept + u0[subject] + (truth$slope + u1[subject]) * day +
    rnorm(subjects * length(days), sd = truth$sd_residual)
  data.frame(Subject = factor(sprintf("S%02d", subject)), Days = day, Reaction = reaction)
}

# A fit (best_reml_fit() of common.R: the best of lme4's default and two tight fits) and
# the number of warnings lme4 raised while fitting (convergence messages).
fit_counting_warnings <- function(formula, data) {
  warnings <- 0L
  count <- function(expr) {
    withCallingHandlers(expr, warning = function(w) {
      warnings <<- warnings + 1L
      invokeRestart("muffleWarning")
    })
  }
  list(fit = best_reml_fit(formula, data, control, wrap = count), warnings = warnings)
}

analyse <- function(data) {
  small <- fit_counting_warnings(Reaction ~ Days + (1 | Subject), data)
  maximal <- fit_counting_warnings(Reaction ~ Days + (Days | Subject), data)
  small_z <- coef(summary(small$fit, ddf = "lme4"))["Days", "t value"]
  maximal_coef <- coef(summary(maximal$fit, ddf = "lme4"))["Days", ]
  satterthwaite <- coef(summary(maximal$fit, ddf = "Satterthwaite"))["Days", ]
  data.frame(
    intercept_estimate = unname(fixef(small$fit)["Days"]),
    intercept_p = 2 * pnorm(-abs(small_z)),
    intercept_singular = isSingular(small$fit),
    intercept_warnings = small$warnings,
    maximal_estimate = unname(maximal_coef["Estimate"]),
    maximal_se = unname(maximal_coef["Std. Error"]),
    maximal_z_p = 2 * pnorm(-abs(unname(maximal_coef["t value"]))),
    satterthwaite_df = unname(satterthwaite["df"]),
    satterthwaite_p = unname(satterthwaite["Pr(>|t|)"]),
    maximal_singular = isSingular(maximal$fit),
    maximal_warnings = maximal$warnings
  )
}

rate <- function(p) {
  r <- mean(p < ALPHA)
  list(rate = r, mc_se = sqrt(r * (1 - r) / length(p)), rejections = sum(p < ALPHA),
       fits = length(p))
}

set.seed(SEED, kind = "Mersenne-Twister", normal.kind = "Inversion")
started <- proc.time()[["elapsed"]]
simulated <- do.call(rbind, lapply(seq_len(N_REPLICATIONS), function(i) {
  analyse(simulate_dataset(truth))
}))
elapsed <- proc.time()[["elapsed"]] - started

python_data <- read.csv(DATASETS, colClasses = c("integer", "character", "numeric", "numeric"))
python_data$Subject <- factor(python_data$Subject)
same_data <- do.call(rbind, lapply(sort(unique(python_data$replication)), function(i) {
  cbind(replication = i, analyse(python_data[python_data$replication == i, ]))
}))

result <- list(
  metadata = list(
    R = R.version.string,
    packages = lapply(c(lme4 = "lme4", lmerTest = "lmerTest", jsonlite = "jsonlite"),
                      function(p) as.character(packageVersion(p))),
    control = control_text,
    command = "setarch -R Rscript data/lme4/keep-it-maximal-reference.R",
    seed = SEED,
    rng = "set.seed(SEED, kind = 'Mersenne-Twister', normal.kind = 'Inversion')",
    alpha = ALPHA,
    data_md5 = as.list(tools::md5sum(c("data/sleepstudy.csv", DATASETS)))
  ),
  truth = truth,
  replications = N_REPLICATIONS,
  rates = list(
    intercept_z = rate(simulated$intercept_p),
    maximal_z = rate(simulated$maximal_z_p),
    maximal_satterthwaite = rate(simulated$satterthwaite_p)
  ),
  singular_fits = list(intercept = sum(simulated$intercept_singular),
                       maximal = sum(simulated$maximal_singular)),
  fits_with_warnings = list(intercept = sum(simulated$intercept_warnings > 0),
                            maximal = sum(simulated$maximal_warnings > 0)),
  satterthwaite_df_range = range(simulated$satterthwaite_df),
  same_data = same_data
)
write_exact_json(result, "data/lme4/keep-it-maximal-reference.json")
cat(sprintf("%d replications in %.0f s\n", N_REPLICATIONS, elapsed))

# Values behind chapter 7's filled-in reporting template that no other reference file
# holds: lme4's parametric-bootstrap percentile intervals for the random-effect SDs, the
# correlation and the residual SD of the correlated sleepstudy model (REML), the number of
# groups, isSingular() and rePCA(). tests/test_reporting_template.py compares the printed
# report with these values and with sleepstudy-reference.json and
# satterthwaite-reference.json.
#
# Run from the repository's top folder, on Linux with address-space randomisation off:
#     setarch -R Rscript data/lme4/reporting-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/reporting-reference.json (about a
# minute, most of it the bootstrap's refits).

if (!file.exists("data/lme4/common.R")) stop("Run from the repository's top folder.")
source("data/lme4/common.R")
require_fixed_addresses("data/lme4/reporting-reference.R")

sleep <- read_sleepstudy()
control_text <- tight_control_text()
fit <- lmer(Reaction ~ Days + (Days | Subject), data = sleep, REML = TRUE,
            control = tight_control())

# The four random-effect parameters on lme4's reporting scale (SDs in ms and ms per day,
# the correlation unit-free), as in confint(fit, method = "boot", oldNames = FALSE).
parameters <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  c(sd_intercept = vc$sdcor[1], sd_days = vc$sdcor[2], correlation = vc$sdcor[3],
    sigma = sigma(m))
}

# A parametric bootstrap from the REML fit, refitted by REML with lme4's default
# optimiser: the Monte Carlo error of a percentile (about 0.5 ms here) dwarfs its
# stopping tolerance.
nsim <- 2000L
seed <- 20030101L
default_fit <- update(fit, control = lmerControl(check.conv.singular = "ignore"))
set.seed(seed)
warnings_seen <- character()
boot <- withCallingHandlers(
  bootMer(default_fit, parameters, nsim = nsim, type = "parametric", use.u = FALSE),
  warning = function(w) {
    warnings_seen <<- c(warnings_seen, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
)
replicates <- boot$t

# Monte Carlo SE of a percentile from the order statistics that cover it with 95%
# probability (binomial counts), the rule of course.bootstrap_interval().
percentile_se <- function(values, prob) {
  n <- length(values)
  ordered <- sort(values)
  spread <- qnorm(0.975) * sqrt(n * prob * (1 - prob))
  lo <- min(max(floor(n * prob - spread), 0), n - 1) + 1
  hi <- min(max(ceiling(n * prob + spread), 0), n - 1) + 1
  (ordered[hi] - ordered[lo]) / (2 * qnorm(0.975))
}

# A refit with a zero intercept SD has no correlation (NaN): it is left out of that
# parameter's interval only, and counted.
intervals <- lapply(colnames(replicates), function(name) {
  values <- replicates[, name]
  n_missing <- sum(is.na(values))
  values <- values[!is.na(values)]
  ends <- unname(quantile(values, c(0.025, 0.975), type = 7))
  list(
    parameter = name,
    estimate = unname(parameters(fit)[name]),
    lower = ends[1],
    upper = ends[2],
    mc_se_lower = percentile_se(values, 0.025),
    mc_se_upper = percentile_se(values, 0.975),
    bootstrap_sd = sd(values),
    n_missing = n_missing
  )
})

pca <- rePCA(fit)$Subject

result <- list(
  metadata = list(
    description = paste(
      "Values behind chapter 7's reporting template: lme4's parametric bootstrap",
      "intervals and checks of the correlated sleepstudy model. See data/lme4/README.md."),
    command = "setarch -R Rscript data/lme4/reporting-reference.R",
    R = R.version.string,
    packages = lapply(c(lme4 = "lme4", Matrix = "Matrix", jsonlite = "jsonlite"),
                      function(p) as.character(packageVersion(p))),
    control = control_text,
    data_md5 = unname(tools::md5sum(sleepstudy_path))
  ),
  correlated_REML = list(
    formula = "Reaction ~ Days + (Days | Subject)",
    nobs = nobs(fit),
    n_groups = unname(ngrps(fit)),
    singular = isSingular(fit),
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages),
    repca_sdev = pca$sdev,
    bootstrap = list(
      method = paste(
        "bootMer(type = 'parametric', use.u = FALSE) of the REML fit, refitted by REML",
        "with lmerControl(); percentile intervals by quantile(type = 7)"),
      nsim = nsim,
      seed = seed,
      n_warnings = length(warnings_seen),
      warnings = as.list(unique(warnings_seen)),
      intervals = intervals
    )
  )
)

write_exact_json(result, "data/lme4/reporting-reference.json")

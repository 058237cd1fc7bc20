# lme4 and lmerTest on the data sets of chapter 4's "keep it maximal" simulation whose
# statsmodels fit of (Days | Subject) is at or near the boundary (written by
# scripts/simulate_keep_it_maximal.py to data/simulations/keep-it-maximal-near-boundary.csv:
# the data sets whose Satterthwaite df differ from 17, the interior value, by over 0.01).
# Stored for tests/test_keep_it_maximal.py and the chapter.
#
# Run from the repository's top folder, on Linux with address-space randomisation off:
#     setarch -R Rscript data/lme4/keep-it-maximal-boundary-reference.R
# (a few seconds). The fitting rule is keep-it-maximal-reference.R's, best_reml_fit() of
# common.R: lme4's default control, the tight control, and the tight control from the
# default's theta; the lowest REML criterion is kept.

if (!file.exists("data/lme4/common.R")) stop("Run from the repository's top folder.")
source("data/lme4/common.R")
require_fixed_addresses("data/lme4/keep-it-maximal-boundary-reference.R")
suppressPackageStartupMessages(library(lmerTest))

DATASETS <- "data/simulations/keep-it-maximal-near-boundary.csv"
control_text <- tight_control_text("check.conv.singular = 'ignore'")
control <- tight_control("check.conv.singular = 'ignore'")

data <- read.csv(DATASETS, colClasses = c("integer", "character", "numeric", "numeric"))
data$Subject <- factor(data$Subject)
rows <- do.call(rbind, lapply(sort(unique(data$replication)), function(i) {
  fit <- best_reml_fit(Reaction ~ Days + (Days | Subject), data[data$replication == i, ], control,
                       wrap = function(expr) suppressWarnings(suppressMessages(expr)))
  coefs <- coef(summary(fit, ddf = "lme4"))["Days", ]
  satterthwaite <- coef(summary(fit, ddf = "Satterthwaite"))["Days", ]
  vc <- as.data.frame(VarCorr(fit))
  data.frame(
    replication = i,
    reml_criterion = unname(REMLcrit(fit)),
    correlation = vc$sdcor[3],
    maximal_se = unname(coefs["Std. Error"]),
    maximal_z_p = 2 * pnorm(-abs(unname(coefs["t value"]))),
    satterthwaite_df = unname(satterthwaite["df"]),
    satterthwaite_p = unname(satterthwaite["Pr(>|t|)"]),
    maximal_singular = isSingular(fit)
  )
}))

result <- list(
  metadata = list(
    R = R.version.string,
    packages = lapply(c(lme4 = "lme4", lmerTest = "lmerTest", jsonlite = "jsonlite"),
                      function(p) as.character(packageVersion(p))),
    control = control_text,
    command = "setarch -R Rscript data/lme4/keep-it-maximal-boundary-reference.R",
    data_md5 = as.list(tools::md5sum(DATASETS))
  ),
  near_boundary = rows
)
write_exact_json(result, "data/lme4/keep-it-maximal-boundary-reference.json")

# lmerTest's Satterthwaite t-tests for the fixed effects of REML fits, stored as reference
# values for course.satterthwaite() (tests/test_satterthwaite.py).
#
# Run from the repository's top folder, on Linux with address-space randomisation off:
#     setarch -R Rscript data/lme4/satterthwaite-reference.R
# It reads data/sleepstudy.csv and data/crossed-ratings.csv and writes
# data/lme4/satterthwaite-reference.json (a few seconds). setarch -R for the reason given
# in crossed-reference.R: byte-identical reruns (see README.md).

if (!file.exists("data/lme4/common.R")) stop("Run from the repository's top folder.")
source("data/lme4/common.R")
require_fixed_addresses("data/lme4/satterthwaite-reference.R")
suppressPackageStartupMessages(library(lmerTest))

sleep <- read_sleepstudy()

unbalanced <- unbalanced_sleepstudy(sleep)  # common.R

ratings <- read.csv("data/crossed-ratings.csv", stringsAsFactors = TRUE)

control_text <- tight_control_text("check.conv.singular = 'ignore'")
control <- tight_control("check.conv.singular = 'ignore'")

models <- list(
  sleepstudy_intercepts = list(data = "sleep", formula = Reaction ~ Days + (1 | Subject)),
  sleepstudy_correlated = list(data = "sleep", formula = Reaction ~ Days + (Days | Subject)),
  sleepstudy_uncorrelated = list(data = "sleep", formula = Reaction ~ Days + (Days || Subject)),
  unbalanced_correlated = list(data = "unbalanced",
                               formula = Reaction ~ Days + phase + (Days | Subject)),
  unbalanced_uncorrelated = list(data = "unbalanced",
                                 formula = Reaction ~ Days + phase + (Days || Subject)),
  crossed_intercepts = list(data = "ratings",
                            formula = rating ~ cond + (1 | participant) + (1 | stimulus)),
  crossed_uncorrelated_slope = list(
    data = "ratings", formula = rating ~ cond + (1 | stimulus) + (1 + cond || participant))
)

# One linear combination per unbalanced model, to check contrasts: the expected reaction
# time on day 5 of restriction, (Intercept) + 5 Days.
contrasts <- list(
  unbalanced_correlated = c(1, 5, 0),
  unbalanced_uncorrelated = c(1, 5, 0)
)

describe <- function(name) {
  spec <- models[[name]]
  data <- get(spec$data)
  fit <- lmerTest::lmer(spec$formula, data = data, REML = TRUE, control = control)
  coefs <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(fit))
  out <- list(
    formula = paste(deparse(spec$formula, width.cutoff = 500), collapse = ""),
    data = spec$data,
    nobs = nobs(fit),
    reml_criterion = unname(REMLcrit(fit)),
    singular = isSingular(fit),
    theta = unname(getME(fit, "theta")),
    sigma = sigma(fit),
    variance_components = vc,
    satterthwaite = data.frame(
      term = rownames(coefs), estimate = coefs[, "Estimate"], std_error = coefs[, "Std. Error"],
      df = coefs[, "df"], t_value = coefs[, "t value"], p_value = coefs[, "Pr(>|t|)"],
      row.names = NULL
    )
  )
  if (!is.null(contrasts[[name]])) {
    L <- contrasts[[name]]
    test <- contest1D(fit, L, ddf = "Satterthwaite")
    out$contrast <- list(L = as.list(as.numeric(L)), estimate = test$Estimate,
                         std_error = test$`Std. Error`, df = test$df,
                         t_value = test$`t value`, p_value = test$`Pr(>|t|)`)
  }
  out
}

result <- list(
  metadata = list(
    R = R.version.string,
    packages = lapply(c(lme4 = "lme4", lmerTest = "lmerTest", jsonlite = "jsonlite"),
                      function(p) as.character(packageVersion(p))),
    control = control_text,
    command = "setarch -R Rscript data/lme4/satterthwaite-reference.R",
    data_md5 = as.list(tools::md5sum(c("data/sleepstudy.csv", "data/crossed-ratings.csv"))),
    unbalanced_rows = nrow(unbalanced),
    unbalanced_rule = "sleepstudy rows with (position of Subject in its sorted levels, from 0, + Days) %% 4 != 0; phase = 'training' if Days < 2 else 'restriction' (reference level)"
  ),
  models = setNames(lapply(names(models), describe), names(models))
)
write_exact_json(result, "data/lme4/satterthwaite-reference.json")

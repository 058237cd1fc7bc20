# lme4 reference values for chapter 13 (missing days and dropout): the correlated model
# fitted to the sleepstudy data without the rows listed in data/sleepstudy-dropouts.csv
# (the rows a seeded missing-at-random dropout rule removed; scripts/simulate_missing_data.py
# wrote the list), and to the complete cases (the subjects with all ten days).
#
# Run from the repository root:
#     Rscript data/lme4/missing-data-reference.R
# It reads data/sleepstudy.csv and data/sleepstudy-dropouts.csv and writes
# data/lme4/missing-data-reference.json (no date or machine path, so a rerun with the
# same versions gives the same bytes).
#
# lmer() drops rows with NA in the model's variables (na.action = na.omit, R's default),
# as statsmodels' mixedlm(..., missing="drop") does, so removing the rows and setting their
# Reaction to NA give the same fit; the script checks this.
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "missing-data-reference.json")
dropouts_path <- file.path("data", "sleepstudy-dropouts.csv")
sleep <- read_sleepstudy()
dropouts <- read.csv(dropouts_path, colClasses = c("character", "integer"))

dropped <- paste(sleep$Subject, sleep$Days) %in% paste(dropouts$Subject, dropouts$Days)
stopifnot(sum(dropped) == nrow(dropouts))
incomplete <- sleep[!dropped, ]
complete_subjects <- setdiff(levels(sleep$Subject), unique(dropouts$Subject))
complete_cases <- droplevels(sleep[sleep$Subject %in% complete_subjects, ])

describe <- function(m) {
  coefs <- summary(m)$coefficients
  satterthwaite <- coef(summary(lmerTest::as_lmerModLmerTest(m)))
  list(
    reml = isREML(m),
    nobs = nobs(m),
    n_subjects = unname(ngrps(m)),
    logLik = as.numeric(logLik(m)),
    residual_variance = sigma(m)^2,
    theta = unname(getME(m, "theta")),
    singular = isSingular(m),
    fixed_effects = data.frame(
      term = rownames(coefs), estimate = unname(coefs[, "Estimate"]),
      std_error = unname(coefs[, "Std. Error"]),
      satterthwaite_df = unname(satterthwaite[, "df"]),
      satterthwaite_p = unname(satterthwaite[, "Pr(>|t|)"]),
      stringsAsFactors = FALSE
    ),
    variance_components = as.data.frame(VarCorr(m)),
    vcov_fixed = unname(as.matrix(vcov(m)))
  )
}

model_formula <- Reaction ~ Days + (Days | Subject)
# Two calls rather than a loop: lmerTest re-evaluates the call, so it must name no local variable.
incomplete_fits <- list(
  REML = lmer(model_formula, data = incomplete, REML = TRUE, control = tight_control()),
  ML = lmer(model_formula, data = incomplete, REML = FALSE, control = tight_control())
)

# The same fit with the dropped values set to NA instead of removed.
with_na <- sleep
with_na$Reaction[dropped] <- NA
na_fit <- lmer(model_formula, data = with_na, REML = TRUE, control = tight_control())
stopifnot(isTRUE(all.equal(fixef(na_fit), fixef(incomplete_fits$REML), tolerance = 1e-12)))

complete_fit <- lmer(model_formula, data = complete_cases, REML = TRUE, control = tight_control())

output <- list(
  metadata = list(
    description = paste(
      "lme4 fits of Reaction ~ Days + (Days | Subject) to the sleepstudy data without the",
      "rows in data/sleepstudy-dropouts.csv (incomplete) and to the subjects with all ten",
      "days (complete_cases)."
    ),
    regenerate = "Rscript data/lme4/missing-data-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    dropouts_md5 = unname(tools::md5sum(dropouts_path)),
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    optimizer_call = tight_control_text(),
    n_dropped_rows = nrow(dropouts),
    complete_subjects = as.list(complete_subjects)
  ),
  models = list(
    incomplete = lapply(incomplete_fits, describe),
    complete_cases = list(REML = describe(complete_fit))
  )
)
write_exact_json(output, out_path)

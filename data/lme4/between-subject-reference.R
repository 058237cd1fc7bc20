# lme4 reference values for appendix B: the standard errors of the fixed effects in the
# balanced sleep study with a made-up between-subject indicator.
#
# Run from the repository root:
#     Rscript data/lme4/between-subject-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/between-subject-reference.json
# (no date or machine path, so a rerun with the same versions gives the same bytes).
#
# The design stays balanced (all 18 subjects on days 0-9); `group` is 1 for the first
# nine subjects in sorted order and 0 for the others, a predictor that varies between
# subjects only. With `Reaction ~ Days + group` the fixed-by-variance cross terms of the
# Hessian do not vanish at the estimate, so statsmodels' bse_fe differs from lme4's
# vcov() although the data are balanced; with `Reaction ~ Days * group` every subject's
# fixed-effects design is again a multiple of a common one and the two agree.
#
# Made with R 4.2.2, lme4 1.1-31, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "between-subject-reference.json")
sleep <- read_sleepstudy()
subjects <- sort(unique(as.character(sleep$Subject)))
first_half <- subjects[1:9]
sleep$group <- as.numeric(as.character(sleep$Subject) %in% first_half)

describe <- function(m) {
  coefs <- summary(m)$coefficients
  list(
    formula = paste(deparse(formula(m), width.cutoff = 500), collapse = ""),
    nobs = nobs(m),
    logLik = as.numeric(logLik(m)),
    fixed_effects = data.frame(
      term = rownames(coefs), estimate = unname(coefs[, "Estimate"]),
      std_error = unname(coefs[, "Std. Error"]), stringsAsFactors = FALSE
    )
  )
}

fits <- list(
  additive = lmer(Reaction ~ Days + group + (Days | Subject), data = sleep, REML = TRUE,
                  control = tight_control()),
  interaction = lmer(Reaction ~ Days * group + (Days | Subject), data = sleep, REML = TRUE,
                     control = tight_control())
)

output <- list(
  metadata = list(
    description = paste(
      "lme4 REML fits of the balanced sleepstudy with a between-subject indicator",
      "`group` (1 for the first nine subjects in sorted order)."
    ),
    regenerate = "Rscript data/lme4/between-subject-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    optimizer_call = tight_control_text(),
    group_one_subjects = first_half
  ),
  models = lapply(fits, describe)
)
write_exact_json(output, out_path)

# lme4 reference values for the numbers that chapters 5 (model comparison) and 7
# (inference) print and that data/lme4/sleepstudy-reference.json does not already hold.
#
# Run from the repository root:
#     Rscript data/lme4/comparison-inference-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/comparison-inference-reference.json
# (no dates or paths inside, so a rerun with the same versions gives the same bytes).
# Code it shares with the other sleepstudy scripts (reading and checking the data, the
# optimiser settings, writing exact JSON) is in data/lme4/common.R.
#
# Made with R 4.2.2 and lme4 1.1-31, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...

out_path <- file.path("data", "lme4", "comparison-inference-reference.json")
sleep <- read_sleepstudy()

# Singular fits are expected in one model, so they must not stop us.
control_extra <- "check.conv.singular = 'ignore'"
control <- tight_control(control_extra)

describe <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  ll <- logLik(m)
  list(
    formula = paste(deparse(formula(m)), collapse = " "),
    reml = isREML(m),
    nobs = nobs(m),
    n_parameters = attr(ll, "df"),
    logLik = as.numeric(ll),
    singular = isSingular(m),
    fixed_effects = as.list(fixef(m)),
    fixed_effects_std_error = as.list(setNames(sqrt(diag(as.matrix(vcov(m)))), names(fixef(m)))),
    # One entry per row of as.data.frame(VarCorr(.)): a variance (var2 missing) with its
    # SD, or a covariance with its correlation; "Residual" is the residual variance.
    variance_components = lapply(seq_len(nrow(vc)), function(i) list(
      group = vc$grp[i],
      var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
      var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
      vcov = vc$vcov[i],
      sdcor = vc$sdcor[i]
    ))
  )
}

fit <- function(formula, data, reml) lmer(formula, data = data, REML = reml, control = control)

# ---- Chapter 5: a fixed effect tested by likelihood ratio (needs ML fits) -------------
no_days_ml <- fit(Reaction ~ 1 + (Days | Subject), sleep, FALSE)
days_ml <- fit(Reaction ~ Days + (Days | Subject), sleep, FALSE)
no_days_reml <- fit(Reaction ~ 1 + (Days | Subject), sleep, TRUE)
no_days_reml_devfun <- lmer(Reaction ~ 1 + (Days | Subject), data = sleep, REML = TRUE,
                            control = control, devFunOnly = TRUE)
chisq <- 2 * (as.numeric(logLik(days_ml)) - as.numeric(logLik(no_days_ml)))
av <- suppressMessages(anova(no_days_ml, days_ml))
stopifnot(abs(av$Chisq[2] - chisq) < 1e-4)
fixed_effect_lrt <- list(
  note = paste(
    "Reaction ~ 1 + (Days | Subject) against Reaction ~ Days + (Days | Subject), both",
    "fitted by ML. no_days_REML is the REML fit of the smaller model: its log-likelihood",
    "is not comparable with a REML fit that has other fixed effects."
  ),
  no_days_ML = describe(no_days_ml),
  days_ML = describe(days_ml),
  no_days_REML = describe(no_days_reml),
  # The REML log-likelihood of the smaller model at the ML fit's theta (sigma profiled
  # out): what a statsmodels ML result reports as llf once its model object has been
  # refitted by REML (chapter 5's warning).
  no_days_REML_logLik_at_ML_theta = -no_days_reml_devfun(getME(no_days_ml, "theta")) / 2,
  chisq = chisq,
  df = attr(logLik(days_ml), "df") - attr(logLik(no_days_ml), "df"),
  p_value = pchisq(chisq, 1, lower.tail = FALSE)
)

# ---- Chapters 5 and 7: reaction time in seconds ---------------------------------------
seconds <- transform(sleep, Reaction = Reaction / 1000)
seconds_fit <- describe(fit(Reaction ~ Days + (Days | Subject), seconds, TRUE))

# ---- Chapter 5: a pilot study of three subjects, too small for a correlation ----------
pilot <- droplevels(subset(sleep, Subject %in% levels(sleep$Subject)[1:3]))
pilot_fits <- list(
  subjects = levels(pilot$Subject),
  correlated_REML = describe(fit(Reaction ~ Days + (Days | Subject), pilot, TRUE)),
  uncorrelated_REML = describe(fit(Reaction ~ Days + (Days || Subject), pilot, TRUE))
)

# ---- Chapter 5: principal components of the random effects (Bates et al. 2015) -------
correlated_reml <- fit(Reaction ~ Days + (Days | Subject), sleep, TRUE)
pca_sdev <- as.numeric(rePCA(correlated_reml)$Subject$sdev)
re_pca <- list(
  note = paste(
    "rePCA(fit)$Subject for Reaction ~ Days + (Days | Subject), REML:",
    "SDs of the principal components of the random effects, relative to the residual SD,",
    "and the proportion of the random-effects variance each carries."
  ),
  sdev = pca_sdev,
  # summary() rounds these to 5 digits; computed here unrounded.
  proportion_of_variance = pca_sdev^2 / sum(pca_sdev^2)
)

# ---- Chapter 5 exercise: Days centred on the middle of the study ----------------------
centred <- transform(sleep, days_centred = Days - 4.5)
centred_fits <- list(
  correlated_REML = describe(fit(Reaction ~ days_centred + (days_centred | Subject), centred, TRUE)),
  uncorrelated_REML = describe(fit(Reaction ~ days_centred + (days_centred || Subject), centred, TRUE))
)

output <- list(
  metadata = list(
    description = paste(
      "lme4 values behind numbers printed in chapters 5 and 7 that",
      "sleepstudy-reference.json does not hold."
    ),
    regenerate = "Rscript data/lme4/comparison-inference-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = packageDescription("lme4")$Version,
    jsonlite_version = packageDescription("jsonlite")$Version,
    optimizer_call = tight_control_text(control_extra)
  ),
  fixed_effect_lrt = fixed_effect_lrt,
  seconds_correlated_REML = seconds_fit,
  pilot_three_subjects = pilot_fits,
  random_effects_pca = re_pca,
  days_centred = centred_fits
)

# String vectors (the pilot's subjects) stay on one line, as in the committed file.
write_exact_json(output, out_path, lists_for_vectors = FALSE)

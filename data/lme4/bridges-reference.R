# Reference values for the bridges from the analyses psychology students know to mixed
# models (chapter 2: paired t-test, repeated-measures ANOVA, sphericity; chapter 4: the
# marginal covariance each model implies).
#
# Run from the repository root:
#     Rscript data/lme4/bridges-reference.R
# It reads data/sleepstudy.csv and writes data/lme4/bridges-reference.json (a few
# seconds; no date or machine path, so a rerun with the same versions gives the same
# bytes). Optimiser settings, the data check and the JSON format come from common.R.
#
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite (Debian packages).

if (!file.exists("data/lme4/common.R")) stop("Run this script from the repository root.")
source("data/lme4/common.R")  # lme4, jsonlite, read_sleepstudy(), tight_control(), ...
suppressPackageStartupMessages(library(lmerTest))

out_path <- file.path("data", "lme4", "bridges-reference.json")
sleep <- read_sleepstudy()
control <- tight_control()
wide <- reshape(sleep, idvar = "Subject", timevar = "Days", direction = "wide")
wide <- as.matrix(wide[, paste0("Reaction.", 0:9)])  # 18 x 10, days 0-9 in order

# ---- Paired t-test of day 9 against day 2 = random-intercept model of those two days ----
two_days <- subset(sleep, Days %in% c(2, 9))
two_days$day9 <- as.numeric(two_days$Days == 9)
paired <- t.test(wide[, "Reaction.9"], wide[, "Reaction.2"], paired = TRUE)
two_day_fit <- lmerTest::lmer(Reaction ~ day9 + (1 | Subject), data = two_days, REML = TRUE,
                              control = control)
two_day_row <- summary(two_day_fit, ddf = "Satterthwaite")$coefficients["day9", ]

# ---- One-way repeated-measures ANOVA = random-intercept model with factor(Days) -------
sleep$Day <- factor(sleep$Days)
factor_fit <- lmerTest::lmer(Reaction ~ Day + (1 | Subject), data = sleep, REML = TRUE,
                             control = control)
factor_anova <- anova(factor_fit, ddf = "Satterthwaite")
rm_anova <- summary(aov(Reaction ~ Day + Error(Subject / Day), data = sleep))
rm_table <- rm_anova[["Error: Subject:Day"]][[1]]

# ---- Sphericity: Mauchly's test and the Greenhouse-Geisser and Huynh-Feldt epsilons --
mlm <- lm(wide ~ 1)
spherical <- anova(mlm, X = ~1, test = "Spherical")
mauchly <- mauchly.test(mlm, X = ~1)
# anova.mlm prints the epsilons only in its heading, to four digits; the full values come
# from the function it calls, and must round to the printed ones.
epsilons <- stats:::sphericity(SSD(mlm), X = ~1)
heading <- paste(attr(spherical, "heading"), collapse = " ")
stopifnot(
  grepl(sprintf("Greenhouse-Geisser epsilon: %.4f", epsilons$GG.eps), heading, fixed = TRUE),
  grepl(sprintf("Huynh-Feldt epsilon:        %.4f", epsilons$HF.eps), heading, fixed = TRUE)
)

# ---- Marginal covariance V = Z G Z' + sigma^2 I for one subject's ten days ------------
implied_covariance <- function(fit) {
  z <- getME(fit, "Z")[sleep$Subject == levels(sleep$Subject)[1], , drop = FALSE]
  z <- as.matrix(z[, colSums(abs(z)) > 0, drop = FALSE])  # the first subject's columns
  g <- as.matrix(Matrix::bdiag(VarCorr(fit)))
  z %*% g %*% t(z) + sigma(fit)^2 * diag(nrow(z))
}
implied <- lapply(
  list(intercepts = Reaction ~ Days + (1 | Subject),
       correlated = Reaction ~ Days + (Days | Subject)),
  function(formula) {
    fit <- lme4::lmer(formula, data = sleep, REML = TRUE, control = control)
    v <- implied_covariance(fit)
    vc <- as.data.frame(VarCorr(fit))
    list(
      formula = paste(deparse(formula), collapse = " "),
      logLik = as.numeric(logLik(fit)),
      variance_components = data.frame(
        group = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov, sdcor = vc$sdcor,
        stringsAsFactors = FALSE
      ),
      # Rows and columns are days 0-9 (one subject's rows, in day order).
      covariance = lapply(seq_len(nrow(v)), function(i) unname(v[i, ])),
      variance_by_day = unname(diag(v)),
      correlation = lapply(seq_len(nrow(v)), function(i) unname(cov2cor(v)[i, ]))
    )
  }
)

observed <- cov(wide)
output <- list(
  metadata = list(
    description = paste(
      "Paired t-test and repeated-measures ANOVA against random-intercept models",
      "(lmerTest, Satterthwaite), sphericity of the ten days, and the marginal covariance",
      "implied by lme4's REML fits, for the sleepstudy data."
    ),
    regenerate = "Rscript data/lme4/bridges-reference.R  (from the repository root)",
    data_md5 = unname(tools::md5sum(sleepstudy_path)),
    R_version = R.version.string,
    lme4_version = packageDescription("lme4")$Version,
    lmerTest_version = packageDescription("lmerTest")$Version,
    optimizer_call = tight_control_text()
  ),
  paired_t = list(
    call = "t.test(day 9, day 2, paired = TRUE)",
    estimate = unname(paired$estimate),
    std_error = unname(paired$stderr),
    t = unname(paired$statistic),
    df = unname(paired$parameter),
    p_value = paired$p.value
  ),
  two_day_intercepts = list(
    formula = "Reaction ~ day9 + (1 | Subject), days 2 and 9 only, day9 = (Days == 9)",
    estimate = unname(two_day_row["Estimate"]),
    std_error = unname(two_day_row["Std. Error"]),
    df = unname(two_day_row["df"]),
    t = unname(two_day_row["t value"]),
    p_value = unname(two_day_row["Pr(>|t|)"])
  ),
  factor_intercepts_anova = list(
    formula = "Reaction ~ factor(Days) + (1 | Subject)",
    call = "anova(fit, ddf = 'Satterthwaite')",
    F = factor_anova[["F value"]],
    num_df = factor_anova[["NumDF"]],
    den_df = factor_anova[["DenDF"]],
    p_value = factor_anova[["Pr(>F)"]]
  ),
  repeated_measures_anova = list(
    call = "aov(Reaction ~ factor(Days) + Error(Subject / factor(Days)))",
    F = rm_table[["F value"]][1],
    num_df = rm_table[["Df"]][1],
    den_df = rm_table[["Df"]][2],
    p_value = rm_table[["Pr(>F)"]][1]
  ),
  sphericity = list(
    call = "anova(lm(wide ~ 1), X = ~1, test = 'Spherical'); mauchly.test(lm(wide ~ 1), X = ~1)",
    F = spherical[["F"]][1],
    p_value = spherical[["Pr(>F)"]][1],
    greenhouse_geisser_epsilon = epsilons$GG.eps,
    greenhouse_geisser_p_value = spherical[["G-G Pr"]][1],
    huynh_feldt_epsilon = epsilons$HF.eps,
    huynh_feldt_p_value = spherical[["H-F Pr"]][1],
    mauchly_W = unname(mauchly$statistic),
    mauchly_p_value = mauchly$p.value
  ),
  observed = list(
    what = "cov(wide): sample covariance (n - 1) of the ten days over the 18 subjects",
    covariance = lapply(seq_len(nrow(observed)), function(i) unname(observed[i, ])),
    variance_by_day = unname(diag(observed))
  ),
  implied = implied
)
write_exact_json(output, out_path)

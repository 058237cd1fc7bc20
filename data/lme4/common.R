# Code shared by the scripts that compute lme4 reference values for the sleepstudy data
# (sleepstudy-reference.R, restricted-days-reference.R, comparison-inference-reference.R).
# They source it with a path relative to the repository root, so, like them, it must be
# run from there. It loads lme4 and jsonlite and defines:
#   sleepstudy_path, read_sleepstudy()        the course's CSV, checked against lme4's data
#   tight_control_text(), tight_control()     the tight BOBYQA settings, as text and control
#   exact(), write_exact_json()               doubles written exactly, and the JSON file
#   require_fixed_addresses(script)           stop unless run under `setarch -R`
#   unbalanced_sleepstudy(sleep)              the unbalanced design with a phase factor

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

# ---- Reproducible runs ------------------------------------------------------------------
# Scripts whose optimum depends on memory layout (see crossed-reference.R) must run with
# address-space randomisation off, or reruns differ from the 8th digit on.
require_fixed_addresses <- function(script) {
  personality <- "/proc/self/personality"
  if (file.exists(personality)) {
    flags <- strtoi(readLines(personality, warn = FALSE), base = 16L)
    if (bitwAnd(flags, 0x0040000L) == 0L) {
      stop(sprintf("Run as `setarch -R Rscript %s` for reproducible output.", script))
    }
  }
}

# ---- Data ------------------------------------------------------------------------------
sleepstudy_path <- file.path("data", "sleepstudy.csv")

read_sleepstudy <- function(path = sleepstudy_path) {
  sleep <- read.csv(path, colClasses = c("numeric", "integer", "character"))
  sleep$Subject <- factor(sleep$Subject)
  # The course's CSV must be lme4's own data, value for value, or the comparison is moot.
  stopifnot(
    identical(sleep$Reaction, lme4::sleepstudy$Reaction),
    identical(sleep$Days, as.integer(lme4::sleepstudy$Days)) ||
      identical(as.numeric(sleep$Days), as.numeric(lme4::sleepstudy$Days)),
    identical(as.character(sleep$Subject), as.character(lme4::sleepstudy$Subject)),
    identical(levels(sleep$Subject), levels(lme4::sleepstudy$Subject))
  )
  sleep
}

# ---- Optimiser -------------------------------------------------------------------------
# lme4's default optimiser stops a few digits short of the optimum; reference values need
# the optimum itself (README.md, "How precisely the optimum is found"). The JSON files
# store the call as text, and the control is made by evaluating that same text, so the
# stored call is always the one that ran. `extra` adds arguments, e.g.
# "check.conv.singular = 'ignore'".
tight_control_text <- function(extra = character()) {
  paste0(
    "lmerControl(optimizer = 'bobyqa', ",
    "optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5)",
    if (length(extra) > 0) paste0(", ", extra, collapse = ""),
    ")"
  )
}

tight_control <- function(extra = character()) {
  eval(parse(text = tight_control_text(extra)))
}

# ---- JSON ------------------------------------------------------------------------------
# jsonlite prints at most 15 significant digits. Each double is written instead as the
# shortest decimal string that reads back as the identical double (15, 16 or 17 digits).
exact_number <- function(x) {
  if (is.na(x)) return(NULL)
  if (!is.finite(x)) stop("Non-finite number in the reference values.")
  for (digits in 15:17) {
    text <- sprintf("%.*g", digits, x)
    if (as.numeric(text) == x) break
  }
  structure(text, class = "json")
}

# Prepares a value for toJSON(): doubles become exact numbers (missing ones null), a data
# frame becomes a list of rows, and a factor its labels. Any other vector longer than one
# (e.g. of strings) becomes a list when lists_for_vectors is TRUE, which the pretty JSON
# writes one element a line; when FALSE it stays a vector, written on a single line.
# Each JSON file keeps the layout it was made with: comparison-inference-reference.R
# uses FALSE.
exact <- function(x, lists_for_vectors = TRUE) {
  if (is.data.frame(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) {
      exact(as.list(x[i, , drop = FALSE]), lists_for_vectors)
    })
    return(rows)
  }
  if (is.list(x)) return(lapply(x, exact, lists_for_vectors = lists_for_vectors))
  if (is.factor(x)) x <- as.character(x)
  if (is.double(x)) {
    if (length(x) == 1) return(exact_number(x))
    return(lapply(x, exact_number))
  }
  if (length(x) > 1 && lists_for_vectors) return(as.list(x))
  x
}

write_exact_json <- function(value, path, lists_for_vectors = TRUE) {
  json <- toJSON(exact(value, lists_for_vectors), json_verbatim = TRUE, auto_unbox = TRUE,
                 pretty = TRUE, null = "null", na = "null")
  writeLines(json, path, useBytes = TRUE)
  cat("Wrote", path, "\n")
}

# An unbalanced design with a factor among the fixed effects: sleepstudy without the rows
# where (subject's position + Days) is a multiple of 4 (45 of 180 rows, a different set
# of days for each subject), with `phase` = "training" on days 0-1 (8 hours in bed) and
# "restriction" from day 2 on (README.md of data/ describes the design).
unbalanced_sleepstudy <- function(sleep) {
  position <- as.integer(sleep$Subject) - 1L
  unbalanced <- sleep[(position + sleep$Days) %% 4L != 0L, ]
  unbalanced$phase <- factor(ifelse(unbalanced$Days < 2, "training", "restriction"),
                             levels = c("restriction", "training"))
  unbalanced
}

# The best of three REML fits with lmerTest::lmer (lowest REML criterion): lme4's default
# control, `control` (the tight settings) from lme4's default start, and `control` from the
# default fit's theta. BOBYQA with the tight settings, started from lme4's default start,
# can stop at a worse point on the boundary where lme4's default optimiser finds the
# optimum (the REML criterion differs by up to 10 on a few simulated data sets). `wrap`
# runs each fit: e.g. a function that silences or counts warnings.
best_reml_fit <- function(formula, data, control, wrap = identity) {
  default <- wrap(lmerTest::lmer(formula, data = data, REML = TRUE,
                                 control = lmerControl(check.conv.singular = "ignore")))
  fits <- list(
    default,
    wrap(lmerTest::lmer(formula, data = data, REML = TRUE, control = control)),
    wrap(lmerTest::lmer(formula, data = data, REML = TRUE, control = control,
                        start = getME(default, "theta")))
  )
  fits[[which.min(vapply(fits, REMLcrit, numeric(1)))]]
}

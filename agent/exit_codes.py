"""The process's exit codes, one table for every command (README: Exit codes)."""

EXIT_OK = 0
EXIT_FAILED = 1  # the task did not finish (budget, model error, failing tests, stuck, tests that cannot run);
#                 review: findings at --fail-on
EXIT_USAGE = 2  # bad arguments, configuration or input
EXIT_BATCH_ERRORS = 3  # a batch task met an infrastructure fault (not merely a model miss)
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT

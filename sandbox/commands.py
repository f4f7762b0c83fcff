"""What a shell command line is, as far as approval cares: refused in every
mode (the deny-list), or read-only (allowed in read-only mode).

This is a guard-rail against well-known disasters and a courtesy to the
model (a reason instead of a mysterious failure), not the security boundary:
that is the sandbox. The reading is conservative: a line that can't be
tokenised is never read-only (bash would reject it anyway), and heredoc
bodies are read as commands, so quoting a dangerous command is refused too.
"""

from __future__ import annotations

import os
import re
import shlex

_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
_INTERPRETERS = r"(?:(?:ba|z|da|k|fi)?sh|python[\d.]*|perl|ruby|node)"
_FETCH_AND_RUN = [
    # curl ... | sh, wget -O- | python3
    re.compile(rf"\b(?:curl|wget)\b[^;&\n]*\|\s*(?:sudo\s+)?(?:env\s+)?{_INTERPRETERS}\b"),
    # bash <(curl ...), sh -c "$(wget -O- ...)"
    re.compile(rf"\b{_INTERPRETERS}\b[^;|\n]*[<$]\(\s*(?:curl|wget)\b"),
]
_FORK_BOMB = re.compile(r"(?P<f>[^\s(){}|&;]+)\s*\(\s*\)\s*\{[^}]*(?P=f)\s*\|\s*(?P=f)\s*&")
_DISK_REDIRECT = re.compile(r">\s*/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|disk)")
_HARMLESS_DEVICES = {"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr"}
_WIPE_TARGETS = {"/", "/*", "/.", "~", "~/", "~/*", "$HOME", "${HOME}", "$HOME/", "$HOME/*", "*", ".*"}
# Programs and keywords that run the rest of the line as a command, with
# their options that take a separate value (`timeout` also takes a duration).
_WRAPPERS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset", "-C", "--chdir"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset({"-a"}),
    "nohup": frozenset(),
    "setsid": frozenset(),
    "time": frozenset(),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "--class", "--classdata"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "xargs": frozenset({"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter",
                        "--max-args", "--max-procs", "--max-lines", "--max-chars"}),
}
_KEYWORDS = {"{", "}", "!", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"}

REASONS = {
    "wipe": "`rm -r` of /, ~ or * would wipe the system, the home folder or the whole working copy",
    "fetch": "piping a download into a shell or interpreter runs unreviewed code from the network",
    "push": "the agent never pushes; the user decides what leaves this machine",
    "root": "commands never get root privileges (sudo, su, doas)",
    "mkfs": "formatting a file system is never part of a coding task",
    "device": "writing raw data to a device can destroy a disk",
    "bomb": "this is a fork bomb",
}


def denial(command: str) -> str | None:
    """Why `command` is refused in every approval mode, or None."""
    if any(p.search(command) for p in _FETCH_AND_RUN):
        return REASONS["fetch"]
    if _FORK_BOMB.search(command):
        return REASONS["bomb"]
    if _DISK_REDIRECT.search(command):
        return REASONS["device"]
    for words in simple_commands(command) or []:
        reason = _word_denial(words)
        if reason:
            return reason
    return None


def _word_denial(words: list[str]) -> str | None:
    words = _unwrap(words)
    if not words:
        return None
    program, args = os.path.basename(words[0]), words[1:]
    if program in {"sudo", "su", "doas"}:
        return REASONS["root"]
    if program.startswith("mkfs") or program == "mke2fs":
        return REASONS["mkfs"]
    if program == "rm" and _is_wipe(args):
        return REASONS["wipe"]
    if program == "git" and _git_subcommand(args)[0] == "push":
        return REASONS["push"]
    if program == "dd" and any(
        a.startswith("of=/dev/") and a[3:] not in _HARMLESS_DEVICES for a in args
    ):
        return REASONS["device"]
    if program in _SHELLS and "-c" in args[:-1]:
        return denial(args[args.index("-c") + 1])
    if program == "eval":
        return denial(" ".join(args))
    return None


def _is_wipe(args: list[str]) -> bool:
    options = [a for a in args if a.startswith("-") and a != "-"]
    recursive = any(a == "--recursive" or (not a.startswith("--") and "r" in a.lower()) for a in options)
    targets = [a for a in args if a not in options]
    return "--no-preserve-root" in options or (recursive and any(t in _WIPE_TARGETS for t in targets))


def _unwrap(words: list[str]) -> list[str]:
    """Drop leading VAR=value assignments, shell keywords (`then`, `do`, `{`)
    and wrappers such as `env -i`, `timeout 60` or `xargs -n 1`."""
    while words:
        first, words = words[0], words[1:]
        wrapper = os.path.basename(first)
        if wrapper in _WRAPPERS:
            while words and words[0].startswith("-") and words[0] != "-":
                option, words = words[0], words[1:]
                if option == "--":
                    break
                if option in _WRAPPERS[wrapper]:
                    words = words[1:]
            if wrapper == "timeout":
                words = words[1:]
        elif not (first in _KEYWORDS or re.fullmatch(r"[A-Za-z_]\w*=.*", first)):
            return [first, *words]
    return words


def _git_subcommand(args: list[str]) -> tuple[str | None, list[str]]:
    """Skip git's global options (`-C dir`, `--git-dir=…`) to the subcommand."""
    i = 0
    while i < len(args):
        if args[i] in ("-C", "-c"):
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            return args[i], args[i + 1 :]
    return None, []


def simple_commands(command: str) -> list[list[str]] | None:
    """The words of each simple command in a shell line (split at ; && || | & and
    newlines; redirections dropped), or None when it can't be tokenised."""
    tokens = _tokens(command)
    if tokens is None:
        return None
    commands, words, skip_next = [], [], False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif _is_redirection(token):
            skip_next = True  # the redirection's target is not a word of the command
        elif set(token) <= set("();|&\n"):
            commands.append(words)
            words = []
        else:
            words.append(token)
    commands.append(words)
    return [c for c in commands if c]


def _tokens(command: str) -> list[str] | None:
    """Shell words and operators; newlines kept as separators."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes
        return None


def _is_redirection(token: str) -> bool:
    return bool(token) and set(token) <= set("<>&|") and ("<" in token or ">" in token)


# -- read-only commands -------------------------------------------------------

READ_ONLY_PROGRAMS = {
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "rg", "find", "pwd", "echo",
    "tree", "file", "stat", "du", "diff", "which", "sort", "uniq", "cut", "nl", "basename",
    "dirname", "realpath", "true", "git",
}
READ_ONLY_GIT = {"status", "diff", "log", "show", "blame", "ls-files", "grep", "rev-parse", "branch"}
_GIT_BRANCH_LISTING = {"-a", "-r", "-v", "-vv", "-l", "--list", "--all", "--remotes", "--verbose", "--show-current"}
# Options that write files or run other programs.
_UNSAFE_OPTIONS = {
    "find": ("-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fls"),
    "rg": ("--pre",),
    "sort": ("-o", "--output", "--compress-program"),
    "git": ("-c", "--config-env", "--output", "-O", "--open-files-in-pager", "--ext-diff"),
}


def is_read_only(command: str) -> bool:
    """True when every part of `command` only reads: allow-listed programs, no
    output redirection (except to /dev/null), no command substitution."""
    if any(s in command for s in ("$(", "`", "<(", ">(")):
        return False
    if not _redirections_harmless(command):
        return False
    commands = simple_commands(command)
    return bool(commands) and all(_reads_only(_unwrap(words)) for words in commands)


def _reads_only(words: list[str]) -> bool:
    if not words:
        return True
    program, args = os.path.basename(words[0]), words[1:]
    if program not in READ_ONLY_PROGRAMS:
        return False
    if any(a.startswith(bad) for a in args for bad in _UNSAFE_OPTIONS.get(program, ())):
        return False
    if program == "uniq":  # `uniq IN OUT` writes OUT
        return len([a for a in args if not a.startswith("-")]) <= 1
    if program == "git":
        sub, rest = _git_subcommand(args)
        if sub not in READ_ONLY_GIT:
            return False
        return sub != "branch" or all(a in _GIT_BRANCH_LISTING for a in rest)
    return True


def _redirections_harmless(command: str) -> bool:
    tokens = _tokens(command)
    if tokens is None:
        return False
    for token, target in zip(tokens, tokens[1:] + [""]):
        if _is_redirection(token) and ">" in token:
            if not (target == "/dev/null" or (token.endswith("&") and target.isdigit())):
                return False
    return True
